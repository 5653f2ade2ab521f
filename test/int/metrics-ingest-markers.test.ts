import { setTimeout as sleep } from "node:timers/promises";
import { Database } from "../../src/db/database";
import { Partitions } from "../../src/db/partitions";
import { IngestService, Rollups } from "../../src/domain/metrics";
import { MINUTE, hourAgo } from "../builders/metrics.builder";
import { seedTenant } from "../builders/tenant.builder";
import { DATABASE_URL } from "../support/env";
import { type TestServer, startServer } from "../support/server";

/**
 * Rollup markers written by ingest (see writeSamplesSql in ingest.service.ts): a minute that has a
 * marker gets no second one; the existing marker is locked instead, and a consumer that takes it
 * must still see the samples. The rollup job is off (ROLLUP_INTERVAL_MS); the tests drive ingest
 * and the consumers (Rollups.refresh, as a query calls it) themselves.
 */
let s: TestServer;
let ingest: IngestService;
beforeAll(async () => {
  s = await startServer({ ROLLUP_INTERVAL_MS: "600000" });
  ingest = new IngestService(s.app.db, new Partitions(s.app.db), 1_000);
});
afterAll(async () => {
  await s?.stop();
});

const NAME = "marker_metric";
/** a whole minute, an hour ago */
const minute = () => Math.floor(hourAgo(1) / MINUTE) * MINUTE;
const point = (ts: number, value: number) => ({ name: NAME, value, timestamp: new Date(ts) });

async function markers(db: Database, tenantId: string): Promise<number> {
  const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM metric_rollup_pending WHERE tenant_id = $1`, [tenantId]);
  return row!.n;
}

async function minuteRollup(tenantId: string, bucket: number): Promise<{ count: number; sum: number } | undefined> {
  const [row] = await s.app.db.query<{ count: number; sum: number }>(
    `SELECT sample_count::int AS count, value_sum AS sum FROM metric_rollups_1m WHERE tenant_id = $1 AND bucket = $2`,
    [tenantId, bucket],
  );
  return row;
}

async function seriesIdOf(tenantId: string): Promise<string> {
  const [row] = await s.app.db.query<{ id: string }>(`SELECT id::text FROM metric_series WHERE tenant_id = $1 AND name = $2`, [tenantId, NAME]);
  return row!.id;
}

/** Settles within `ms`, or fails naming what hung. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  const timer = new AbortController();
  const late = sleep(ms, undefined, { signal: timer.signal }).then(() => Promise.reject(new Error(`${what} did not settle within ${ms} ms`)));
  late.catch(() => undefined);
  try {
    return await Promise.race([p, late]);
  } finally {
    timer.abort();
  }
}

describe("rollup markers of ingest", () => {
  it("leaves one marker per series and minute however many batches write to it, and the rollup counts them all", async () => {
    const t = await seedTenant(s);
    const m0 = minute();
    for (let i = 0; i < 5; i++) await ingest.ingestAsSystem(t.id, [point(m0 + i * 1_000, i), point(m0 + MINUTE + i * 1_000, 10 * i)]);
    expect(await markers(s.app.db, t.id)).toBe(2);
    await new Rollups(s.app.db).refresh(t.id, [await seriesIdOf(t.id)], m0, m0 + 2 * MINUTE);
    expect(await markers(s.app.db, t.id)).toBe(0);
    expect(await minuteRollup(t.id, m0)).toEqual({ count: 5, sum: 10 });
    expect(await minuteRollup(t.id, m0 + MINUTE)).toEqual({ count: 5, sum: 100 });
  });

  // Two sessions interleaved by hand: PGlite has one session, whose callers take turns.
  (DATABASE_URL ? describe : describe.skip)("against a consumer taking markers at the same time (PostgreSQL)", () => {
    /** a second Database on the same pool: its transactions are not joined by the ingest's */
    let other: Database;
    beforeAll(() => {
      other = new Database(s.app.db.dataSource, s.app.db.kind);
    });

    it("a consumer that takes the marker while a batch relying on it is uncommitted waits, and rolls that batch up", async () => {
      const t = await seedTenant(s);
      const m0 = minute();
      await ingest.ingestAsSystem(t.id, [point(m0, 1)]);
      const sid = await seriesIdOf(t.id);
      let refreshing: Promise<void> | undefined;
      let refreshed = false;
      // The batch's transaction is held open around it (ingest joins an outer transaction).
      await s.app.db.transaction(async () => {
        await ingest.ingestAsSystem(t.id, [point(m0 + 1_000, 2)]);
        // it relied on the committed marker rather than adding one
        expect(await markers(s.app.db, t.id)).toBe(1);
        refreshing = new Rollups(other).refresh(t.id, [sid], m0, m0 + MINUTE).then(() => {
          refreshed = true;
        });
        await sleep(300);
        expect(refreshed).toBe(false);
      });
      await within(10_000, "refresh", refreshing!);
      expect(await minuteRollup(t.id, m0)).toEqual({ count: 2, sum: 3 });
      expect(await markers(s.app.db, t.id)).toBe(0);
    });

    it("a batch written while a consumer holds the minute's marker does not wait for it, and leaves a marker of its own", async () => {
      const t = await seedTenant(s);
      const m0 = minute();
      await ingest.ingestAsSystem(t.id, [point(m0, 1)]);
      const sid = await seriesIdOf(t.id);
      await other.transaction(async () => {
        // the consumer has taken the marker and recomputed the minute, and has not committed
        await new Rollups(other).refresh(t.id, [sid], m0, m0 + MINUTE);
        await within(10_000, "ingest", ingest.ingestAsSystem(t.id, [point(m0 + 1_000, 2)]));
      });
      expect(await minuteRollup(t.id, m0)).toEqual({ count: 1, sum: 1 });
      expect(await markers(s.app.db, t.id)).toBe(1);
      await new Rollups(s.app.db).refresh(t.id, [sid], m0, m0 + MINUTE);
      expect(await minuteRollup(t.id, m0)).toEqual({ count: 2, sum: 3 });
    });
  });
});
