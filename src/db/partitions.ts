import type { Database } from "./database";

export const DAY_MS = 86_400_000;

/** Tables range-partitioned by day on an epoch-millisecond column (see the metrics migration). */
export const DAILY_PARTITIONED = ["metric_samples", "metric_rollups_1m"] as const;

function suffix(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll("-", "");
}

/**
 * Creates day partitions on demand (and today's and tomorrow's ahead, from the rollup job) and drops
 * old ones. Creation runs in short transactions of its own under an advisory lock, before the
 * ingest transaction that needs it: two processes creating the same day serialise instead of
 * failing on "already exists", and a rolled-back ingest never leaves this process believing in a
 * partition that is not there.
 */
export class Partitions {
  private readonly known = new Set<number>();

  constructor(private readonly db: Database) {}

  /** Makes sure a partition exists for the UTC day of each timestamp (epoch ms). */
  async ensureFor(timestamps: Iterable<number>): Promise<void> {
    const missing = new Set<number>();
    for (const ts of timestamps) {
      const day = Math.floor(ts / DAY_MS);
      if (!this.known.has(day)) missing.add(day);
    }
    for (const day of [...missing].sort((a, b) => a - b)) {
      for (const table of DAILY_PARTITIONED) await this.create(table, day);
      this.known.add(day);
    }
  }

  /**
   * One partition, in its own transaction. CREATE TABLE … PARTITION OF would take an ACCESS
   * EXCLUSIVE lock on the parent, and deadlocked with the rollup job (seen in bench:query: it
   * holds metric_rollups_1m and reads metric_samples). A separate CREATE then ATTACH PARTITION
   * takes only SHARE UPDATE EXCLUSIVE on the parent, which inserts and reads do not conflict with.
   */
  private async create(table: (typeof DAILY_PARTITIONED)[number], day: number): Promise<void> {
    const name = `${table}_p${suffix(day)}`;
    await this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('vigil:partitions'))`);
      const [exists] = (await m.query(`SELECT 1 FROM pg_class WHERE relname = $1`, [name])) as unknown[];
      if (exists) return;
      await m.query(`CREATE TABLE ${name} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await m.query(`ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM (${day * DAY_MS}) TO (${(day + 1) * DAY_MS})`);
    });
  }

  /**
   * Drops every day partition that ends at or before `cutoff` (epoch ms): no tenant's retention
   * reaches back that far. Returns the dropped tables' names.
   */
  async dropEndingBefore(cutoff: number): Promise<string[]> {
    const dropped: string[] = [];
    await this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('vigil:partitions'))`);
      const rows = (await m.query(
        `SELECT c.relname AS name, p.relname AS parent FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
          WHERE p.relname = ANY($1)`,
        [[...DAILY_PARTITIONED]],
      )) as Array<{ name: string; parent: string }>;
      for (const { name, parent } of rows) {
        const m8 = new RegExp(`^${parent}_p(\\d{4})(\\d{2})(\\d{2})$`).exec(name);
        if (!m8) continue;
        const day = Date.UTC(Number(m8[1]), Number(m8[2]) - 1, Number(m8[3])) / DAY_MS;
        if ((day + 1) * DAY_MS <= cutoff) {
          await m.query(`DROP TABLE ${name}`);
          dropped.push(name);
          this.known.delete(day);
        }
      }
    });
    return dropped;
  }
}
