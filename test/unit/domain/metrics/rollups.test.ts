import type { Database } from "../../../../src/db/database";
import { Rollups } from "../../../../src/domain/metrics/rollups";

/**
 * When the rollup job vacuums the rollup tables (index-only scans need the visibility map, and
 * autovacuum may be off): a fake database that hands out pending minutes per batch and records
 * every statement, and a clock the test moves.
 */
function harness() {
  const statements: string[] = [];
  const batches: number[][] = [];
  let clock = 1_000_000;
  const db = {
    transaction: async <T>(fn: (m: { query: (sql: string) => Promise<unknown[]> }) => Promise<T>) => {
      const minutes = batches.shift() ?? [];
      let n = 0;
      return fn({
        query: async (sql: string) => {
          statements.push(sql.trim().split(/\s+/).slice(0, 2).join(" "));
          n++;
          // the minutes the markers name (one series each), then the markers taken of them
          if (n === 1) return minutes.map((b) => ({ tenant_id: "t", bucket: String(b * 60_000), n: 1 }));
          if (n === 2) return minutes.map((b) => ({ tenant_id: "t", series_id: "1", bucket: String(b * 60_000) }));
          return [];
        },
      });
    },
    query: async (sql: string) => {
      statements.push(sql);
      return [];
    },
  };
  const rollups = new Rollups(db as unknown as Database, () => clock);
  const vacuums = () => statements.filter((s) => s.startsWith("VACUUM")).length;
  return {
    rollups,
    vacuums,
    /** queues one batch of `n` distinct minutes */
    queue: (n: number) => batches.push(Array.from({ length: n }, (_, i) => i)),
    advance: (ms: number) => (clock += ms),
  };
}

describe("Rollups: vacuum of the rollup tables", () => {
  it("vacuums once caught up, not while a backlog is left, and only after rewriting rows", async () => {
    const h = harness();
    expect(await h.rollups.runBatch(5)).toBe(0);
    expect(h.vacuums()).toBe(0); // nothing rewritten yet
    h.queue(5);
    expect(await h.rollups.runBatch(5)).toBe(5); // a full batch: more may be pending
    expect(h.vacuums()).toBe(0);
    expect(await h.rollups.runBatch(5)).toBe(0); // caught up, and the first vacuum is due at once
    expect(h.vacuums()).toBe(1);
    expect(await h.rollups.runBatch(5)).toBe(0);
    expect(h.vacuums()).toBe(1); // nothing rewritten since
  });

  it("waits a minute after a few rewrites, 15 s after 10,000", async () => {
    const h = harness();
    h.queue(1);
    await h.rollups.runBatch(5_000);
    expect(h.vacuums()).toBe(1);
    h.queue(3);
    await h.rollups.runBatch(5_000);
    h.advance(59_000);
    await h.rollups.runBatch(5_000);
    expect(h.vacuums()).toBe(1);
    h.advance(1_000);
    await h.rollups.runBatch(5_000);
    expect(h.vacuums()).toBe(2);
    // a cleared backlog: 3 × 4,000 minutes (and their hours) rewritten
    for (let i = 0; i < 3; i++) h.queue(4_000);
    for (let i = 0; i < 3; i++) await h.rollups.runBatch(5_000);
    expect(h.vacuums()).toBe(2); // 0 s since the last one
    h.advance(14_000);
    await h.rollups.runBatch(5_000);
    expect(h.vacuums()).toBe(2);
    h.advance(1_000);
    await h.rollups.runBatch(5_000);
    expect(h.vacuums()).toBe(3);
  });
});
