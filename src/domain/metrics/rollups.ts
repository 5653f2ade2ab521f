import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** Reset-aware counter step from `prev` to `cur`, as Prometheus counts it: a drop is a restart from 0. */
export const COUNTER_STEP_SQL = (cur: string, prev: string) =>
  `CASE WHEN ${prev} IS NULL THEN 0 WHEN ${cur} >= ${prev} THEN ${cur} - ${prev} ELSE ${cur} END`;

/**
 * Upserts one rollup row per pending (tenant, series, bucket) of $1..$3 into `table`, from the rows
 * `source` yields for that bucket (aliased `x`, joined laterally), aggregated by `aggregates`.
 */
const recompute = (table: string, aggregates: string, source: string) => `
  INSERT INTO ${table} AS r (tenant_id, series_id, bucket, sample_count, value_sum, value_min, value_max,
    value_sum_sq, first_ts, first_value, last_ts, last_value, increase)
  SELECT p.tenant_id, p.series_id, p.bucket, ${aggregates}
  FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS p (tenant_id, series_id, bucket)
  CROSS JOIN LATERAL (${source}) x
  GROUP BY p.tenant_id, p.series_id, p.bucket
  ORDER BY p.tenant_id, p.series_id, p.bucket
  ON CONFLICT (tenant_id, series_id, bucket) DO UPDATE SET sample_count = excluded.sample_count,
    value_sum = excluded.value_sum, value_min = excluded.value_min, value_max = excluded.value_max,
    value_sum_sq = excluded.value_sum_sq, first_ts = excluded.first_ts, first_value = excluded.first_value,
    last_ts = excluded.last_ts, last_value = excluded.last_value, increase = excluded.increase`;

/**
 * Minutes from raw samples: count, sum, min, max, sum of squares, first and last (by time), and the
 * counter increase between the minute's own samples.
 */
const RECOMPUTE_MINUTES = recompute(
  "metric_rollups_1m",
  `count(*), sum(x.value), min(x.value), max(x.value), sum(x.value * x.value),
   min(x.ts), (array_agg(x.value ORDER BY x.ts))[1], max(x.ts), (array_agg(x.value ORDER BY x.ts DESC))[1],
   sum(${COUNTER_STEP_SQL("x.value", "x.prev")})`,
  `SELECT ts, value, lag(value) OVER (ORDER BY ts) AS prev FROM metric_samples
    WHERE tenant_id = p.tenant_id AND series_id = p.series_id AND ts >= p.bucket AND ts < p.bucket + ${MINUTE_MS}`,
);

/** Hours from their minutes; the step between consecutive minutes joins the hour's increase. */
const RECOMPUTE_HOURS = recompute(
  "metric_rollups_1h",
  `sum(x.sample_count), sum(x.value_sum), min(x.value_min), max(x.value_max), sum(x.value_sum_sq),
   min(x.first_ts), (array_agg(x.first_value ORDER BY x.bucket))[1], max(x.last_ts),
   (array_agg(x.last_value ORDER BY x.bucket DESC))[1], sum(x.increase + ${COUNTER_STEP_SQL("x.first_value", "x.prev_last")})`,
  `SELECT *, lag(last_value) OVER (ORDER BY bucket) AS prev_last FROM metric_rollups_1m
    WHERE tenant_id = p.tenant_id AND series_id = p.series_id AND bucket >= p.bucket AND bucket < p.bucket + ${HOUR_MS}`,
);

/** Series' first and last sample times follow the minutes just rolled up. */
const UPDATE_SERIES_BOUNDS = `
  UPDATE metric_series s SET first_sample_at = least(s.first_sample_at, v.first_ts), last_sample_at = greatest(s.last_sample_at, v.last_ts)
    FROM (SELECT r.tenant_id, r.series_id, min(r.first_ts) AS first_ts, max(r.last_ts) AS last_ts
            FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS p (tenant_id, series_id, bucket)
            JOIN metric_rollups_1m r ON r.tenant_id = p.tenant_id AND r.series_id = p.series_id AND r.bucket = p.bucket
           GROUP BY r.tenant_id, r.series_id) v
   WHERE s.tenant_id = v.tenant_id AND s.id = v.series_id
     AND (v.first_ts < s.first_sample_at OR v.last_ts > s.last_sample_at)`;

const deleteRows = (table: string) => `
  DELETE FROM ${table} r USING unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS p (tenant_id, series_id, bucket)
   WHERE r.tenant_id = p.tenant_id AND r.series_id = p.series_id AND r.bucket = p.bucket`;

/**
 * The rollup job vacuums the rollup tables once it has caught up with the markers and has rewritten
 * rows since it last did: after VACUUM_EVERY_MS, or after VACUUM_SOONEST_MS when it has rewritten at
 * least VACUUM_AFTER_ROWS (a backlog just cleared, as after bench:query's seed). The shortest interval
 * bounds the cost under heavy ingest, where every tick rewrites many rows.
 */
const VACUUM_AFTER_ROWS = 10_000;
const VACUUM_SOONEST_MS = 15_000;
const VACUUM_EVERY_MS = 60_000;

interface PendingRow {
  tenant_id: string;
  series_id: string;
  bucket: string;
}

/**
 * Keeps metric_rollups_1m and metric_rollups_1h equal to what the raw samples say, like
 * TimescaleDB's continuous aggregates: ingest marks the minutes it touched in
 * metric_rollup_pending; `runBatch` (the rollup job) recomputes them, and `refresh` does the same
 * for the minutes a query is about to read, so a query never sees a stale rollup.
 *
 * Recomputing from raw rather than adding increments keeps rewrites (last write wins) and
 * out-of-order samples exact. Concurrency: the job takes markers with SKIP LOCKED; a query's
 * DELETE of the same markers waits for the job to commit and then finds them gone, by which time
 * the rollups are fresh.
 *
 * Vacuum: pooled aggregates read the rollups by index-only scans (their primary keys include the
 * pooled columns), which skip the table only for pages the visibility map marks all-visible, and
 * only VACUUM marks them. Every recompute deletes and inserts rows, and autovacuum may be off (it
 * is on the benchmark machine; per-table autovacuum settings do nothing while the server-wide
 * setting is off), so the job vacuums the two tables itself when it has caught up (see
 * VACUUM_AFTER_ROWS). VACUUM reads only pages changed since the last one (the visibility map again),
 * so old days cost little. Rewrites by queries' `refresh` in other processes are not counted; the
 * next vacuum covers them. Not ANALYZE: the query plans are built not to need statistics.
 */
export class Rollups {
  /** rollup rows rewritten by this process since it last vacuumed */
  private rewritten = 0;
  private lastVacuumAt = 0;

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  /** Recomputes the minutes of up to `limit` pending markers (any tenant); returns how many markers it took. */
  async runBatch(limit = 5_000): Promise<number> {
    const taken = await this.db.transaction(async (m) => {
      const taken = (await m.query(
        // (a DELETE … RETURNING wrapped in a SELECT: TypeORM returns a bare DELETE as [rows, count])
        // Every marker of the minutes taken goes, not only the ones in the batch: batches of the
        // same minute leave several markers, and one recompute covers them all.
        `WITH picked AS (SELECT DISTINCT tenant_id, series_id, bucket
                          FROM (SELECT tenant_id, series_id, bucket FROM metric_rollup_pending LIMIT $1 FOR UPDATE SKIP LOCKED) x),
              taken AS (DELETE FROM metric_rollup_pending p USING picked k
                         WHERE p.tenant_id = k.tenant_id AND p.series_id = k.series_id AND p.bucket = k.bucket
                         RETURNING p.tenant_id, p.series_id, p.bucket)
         SELECT DISTINCT tenant_id, series_id::text, bucket::text FROM taken`,
        [limit],
      )) as PendingRow[];
      await this.recompute(m, taken);
      return taken.length;
    });
    if (taken < limit) await this.vacuumIfDue();
    return taken;
  }

  /** VACUUM of both rollup tables when enough rows changed (see the class comment); outside any transaction. */
  private async vacuumIfDue(): Promise<void> {
    const since = this.now() - this.lastVacuumAt;
    const due = this.rewritten > 0 && (since >= VACUUM_EVERY_MS || (this.rewritten >= VACUUM_AFTER_ROWS && since >= VACUUM_SOONEST_MS));
    if (!due) return;
    this.rewritten = 0;
    this.lastVacuumAt = this.now();
    // SKIP_LOCKED: a partition being created, attached or dropped is left for next time
    await this.db.query(`VACUUM (SKIP_LOCKED) metric_rollups_1m, metric_rollups_1h`);
  }

  /** Brings the rollups of these series up to date over [from, to) (epoch ms, hour-aligned or not). */
  async refresh(tenantId: string, seriesIds: readonly string[], from: number, to: number): Promise<void> {
    if (seriesIds.length === 0) return;
    const lo = Math.floor(from / HOUR_MS) * HOUR_MS;
    const hi = Math.ceil(to / HOUR_MS) * HOUR_MS;
    // one index search per series (lateral), as the aggregates do: `series_id = ANY($2)` without
    // statistics may filter every marker of the tenant instead
    const pending = (await this.db.query(
      `SELECT 1 FROM unnest($2::bigint[]) AS g (id)
        WHERE EXISTS (SELECT 1 FROM metric_rollup_pending WHERE tenant_id = $1 AND series_id = g.id AND bucket >= $3 AND bucket < $4) LIMIT 1`,
      [tenantId, seriesIds, lo, hi],
    )) as unknown[];
    if (pending.length === 0) return;
    await this.db.transaction(async (m) => {
      const taken = (await m.query(
        `WITH taken AS (
           DELETE FROM metric_rollup_pending WHERE tenant_id = $1 AND series_id = ANY($2::bigint[]) AND bucket >= $3 AND bucket < $4
           RETURNING tenant_id, series_id, bucket)
         SELECT DISTINCT tenant_id, series_id::text, bucket::text FROM taken`,
        [tenantId, seriesIds, lo, hi],
      )) as PendingRow[];
      await this.recompute(m, taken);
    });
  }

  private async recompute(m: EntityManager, minutes: PendingRow[]): Promise<void> {
    if (minutes.length === 0) return;
    const cols = (rows: PendingRow[]) => [rows.map((r) => r.tenant_id), rows.map((r) => r.series_id), rows.map((r) => r.bucket)];
    // Delete first: a minute (or hour) whose samples are all gone, by retention, must not keep its row.
    await m.query(deleteRows("metric_rollups_1m"), cols(minutes));
    await m.query(RECOMPUTE_MINUTES, cols(minutes));
    const hours = new Map<string, PendingRow>();
    for (const r of minutes) {
      const bucket = String(Math.floor(Number(r.bucket) / HOUR_MS) * HOUR_MS);
      hours.set(`${r.tenant_id}/${r.series_id}/${bucket}`, { tenant_id: r.tenant_id, series_id: r.series_id, bucket });
    }
    await m.query(deleteRows("metric_rollups_1h"), cols([...hours.values()]));
    await m.query(RECOMPUTE_HOURS, cols([...hours.values()]));
    await m.query(UPDATE_SERIES_BOUNDS, cols(minutes));
    this.rewritten += minutes.length + hours.size;
  }
}
