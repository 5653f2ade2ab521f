import { setTimeout as sleep } from "node:timers/promises";
import { Database } from "../../src/db/database";
import { Partitions } from "../../src/db/partitions";
import { IngestService, Rollups } from "../../src/domain/metrics";
import { MINUTE, hourAgo } from "../builders/metrics.builder";
import { seedTenant } from "../builders/tenant.builder";
import { DATABASE_URL } from "../support/env";
import { type TestServer, startServer } from "../support/server";

/**
 * Rollup markers written by ingest (see writeSamplesSql in ingest.service.ts): one per batch and
 * minute, naming the batch's series, committed with its samples; a consumer that takes one must see
 * those samples, and one that takes markers naming other series too must mark those again. The
 * rollup job is off (ROLLUP_INTERVAL_MS); the tests drive ingest and the consumers (Rollups.refresh,
 * as a query calls it, and Rollups.runBatch, as the job does) themselves.
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
  it("leaves one marker per batch and minute, and one recompute counts every batch of the minute", async () => {
    const t = await seedTenant(s);
    const m0 = minute();
    for (let i = 0; i < 5; i++) await ingest.ingestAsSystem(t.id, [point(m0 + i * 1_000, i), point(m0 + MINUTE + i * 1_000, 10 * i)]);
    expect(await markers(s.app.db, t.id)).toBe(10);
    await new Rollups(s.app.db).refresh(t.id, [await seriesIdOf(t.id)], m0, m0 + 2 * MINUTE);
    expect(await markers(s.app.db, t.id)).toBe(0);
    expect(await minuteRollup(t.id, m0)).toEqual({ count: 5, sum: 10 });
    expect(await minuteRollup(t.id, m0 + MINUTE)).toEqual({ count: 5, sum: 100 });
  });

  it("a query's refresh of some series marks again the other series its markers named, and the job rolls them up", async () => {
    const t = await seedTenant(s);
    const m0 = minute();
    const hosts = ["a", "b", "c"];
    for (let i = 0; i < 3; i++) {
      await ingest.ingestAsSystem(
        t.id,
        hosts.map((host, h) => ({ name: NAME, labels: { host }, value: 100 * h + i, timestamp: new Date(m0 + i * 1_000) })),
      );
    }
    const ids = await s.app.db.query<{ id: string; host: string }>(
      `SELECT id::text, labels->>'host' AS host FROM metric_series WHERE tenant_id = $1 ORDER BY host`,
      [t.id],
    );
    const rollupOf = async (host: string) => {
      const [row] = await s.app.db.query<{ count: number; sum: number }>(
        `SELECT sample_count::int AS count, value_sum AS sum FROM metric_rollups_1m WHERE tenant_id = $1 AND series_id = $2 AND bucket = $3`,
        [t.id, ids.find((r) => r.host === host)!.id, m0],
      );
      return row;
    };
    await new Rollups(s.app.db).refresh(t.id, [ids[1]!.id], m0, m0 + MINUTE);
    expect(await rollupOf("b")).toEqual({ count: 3, sum: 303 });
    expect(await rollupOf("a")).toBeUndefined();
    const left = await s.app.db.query<{ bucket: number; series: string[] }>(
      `SELECT bucket::float8 AS bucket, (SELECT array_agg(x::text ORDER BY x) FROM unnest(series_ids) x) AS series
         FROM metric_rollup_pending WHERE tenant_id = $1`,
      [t.id],
    );
    expect(left).toEqual([{ bucket: m0, series: [ids[0]!.id, ids[2]!.id].sort() }]);
    // b's id lies within the range of that marker's ids, but the marker does not name it: it stays
    await new Rollups(s.app.db).refresh(t.id, [ids[1]!.id], m0, m0 + MINUTE);
    expect(await markers(s.app.db, t.id)).toBe(1);
    // (the job takes every tenant's markers: other test files share the database)
    const rollups = new Rollups(s.app.db);
    let recomputed = 0;
    for (let n; (n = await rollups.runBatch()) > 0; ) recomputed += n;
    expect(recomputed).toBeGreaterThanOrEqual(2);
    expect(await markers(s.app.db, t.id)).toBe(0);
    expect(await rollupOf("a")).toEqual({ count: 3, sum: 3 });
    expect(await rollupOf("c")).toEqual({ count: 3, sum: 603 });
  });

  // Two sessions interleaved by hand: PGlite has one session, whose callers take turns.
  (DATABASE_URL ? describe : describe.skip)("against a consumer taking markers at the same time (PostgreSQL)", () => {
    /** a second Database on the same pool: its transactions are not joined by the ingest's */
    let other: Database;
    beforeAll(() => {
      other = new Database(s.app.db.dataSource, s.app.db.kind);
    });

    it("a consumer neither sees nor waits for the marker of an uncommitted batch, which stays for the next one", async () => {
      const t = await seedTenant(s);
      const m0 = minute();
      await ingest.ingestAsSystem(t.id, [point(m0, 1)]);
      const sid = await seriesIdOf(t.id);
      // The batch's transaction is held open around it (ingest joins an outer transaction).
      await s.app.db.transaction(async () => {
        await ingest.ingestAsSystem(t.id, [point(m0 + 1_000, 2)]);
        await within(10_000, "refresh", new Rollups(other).refresh(t.id, [sid], m0, m0 + MINUTE));
        await within(10_000, "job", new Rollups(other).runBatch());
      });
      expect(await minuteRollup(t.id, m0)).toEqual({ count: 1, sum: 1 });
      expect(await markers(s.app.db, t.id)).toBe(1);
      await new Rollups(s.app.db).refresh(t.id, [sid], m0, m0 + MINUTE);
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

    it("a refresh of a series and an hour another consumer is recomputing waits for it, so the hour counts both minutes", async () => {
      const t = await seedTenant(s);
      const m0 = minute();
      await ingest.ingestAsSystem(t.id, [point(m0, 1)]);
      const sid = await seriesIdOf(t.id);
      let refreshing: Promise<void> | undefined;
      let refreshed = false;
      await other.transaction(async () => {
        // the first consumer has taken the first minute's marker and recomputed it and its hour
        await new Rollups(other).refresh(t.id, [sid], m0, m0 + MINUTE);
        // a batch of the next minute of the same hour commits, and a second consumer takes its marker
        await ingest.ingestAsSystem(t.id, [point(m0 + MINUTE, 2)]);
        refreshing = new Rollups(s.app.db).refresh(t.id, [sid], m0 + MINUTE, m0 + 2 * MINUTE).then(() => {
          refreshed = true;
        });
        await sleep(300);
        expect(refreshed).toBe(false);
      });
      await within(10_000, "refresh", refreshing!);
      expect(await minuteRollup(t.id, m0)).toEqual({ count: 1, sum: 1 });
      expect(await minuteRollup(t.id, m0 + MINUTE)).toEqual({ count: 1, sum: 2 });
      const [hour] = await s.app.db.query<{ count: number; sum: number }>(
        `SELECT sample_count::int AS count, value_sum AS sum FROM metric_rollups_1h WHERE tenant_id = $1`,
        [t.id],
      );
      expect(hour).toEqual({ count: 2, sum: 3 });
      expect(await markers(s.app.db, t.id)).toBe(0);
    });

    it("a query's refresh waits for another consumer holding the same markers, and then finds the rollups fresh", async () => {
      const t = await seedTenant(s);
      const m0 = minute();
      await ingest.ingestAsSystem(t.id, [point(m0, 1), point(m0 + 1_000, 2)]);
      const sid = await seriesIdOf(t.id);
      let refreshing: Promise<void> | undefined;
      let refreshed = false;
      await other.transaction(async () => {
        // the consumer has taken the markers and recomputed, and has not committed
        await new Rollups(other).refresh(t.id, [sid], m0, m0 + MINUTE);
        refreshing = new Rollups(s.app.db).refresh(t.id, [sid], m0, m0 + MINUTE).then(() => {
          refreshed = true;
        });
        await sleep(300);
        expect(refreshed).toBe(false);
      });
      await within(10_000, "refresh", refreshing!);
      expect(await minuteRollup(t.id, m0)).toEqual({ count: 2, sum: 3 });
      expect(await markers(s.app.db, t.id)).toBe(0);
    });
  });
});
