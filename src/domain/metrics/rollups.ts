import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** Reset-aware counter step from `prev` to `cur`, as Prometheus counts it: a drop is a restart from 0. */
export const COUNTER_STEP_SQL = (cur: string, prev: string) =>
  `CASE WHEN ${prev} IS NULL THEN 0 WHEN ${cur} >= ${prev} THEN ${cur} - ${prev} ELSE ${cur} END`;

const ROLLUP_COLUMNS = `tenant_id, series_id, bucket, sample_count, value_sum, value_min, value_max, value_sum_sq,
    first_ts, first_value, last_ts, last_value, increase`;

/**
 * Recomputes one rollup row per (tenant, series, bucket) of $1..$3 in `table`: `aggregate` is a
 * lateral subquery over that bucket's source rows (`p` is the bucket) yielding one row of the
 * rollup's columns after `k` (how many source rows it read). Buckets with source rows are upserted,
 * buckets without any (their samples gone, by retention) lose their row. `then` is the statement
 * that ends the WITH; it may read the upserted rows from the CTE `up`.
 *
 * Each bucket is aggregated inside its own lateral subquery, in the order the primary-key index
 * returns its rows (window functions over that order give the first, last and previous values).
 * Why: the former form joined every source row out to one GROUP BY over the whole batch, which
 * sorted them all (an external merge on disk for 5,000 minutes of 60 samples, work_mem 4 MB) and
 * sorted each group again for array_agg(… ORDER BY …): 650 ms against 360 ms now for those 5,000
 * minutes, 190 against 85 ms for 4,000 minutes and hours of the registry's call metrics.
 */
const recompute = (table: string, aggregate: string, then = "SELECT 1") => `
  WITH agg AS (
    SELECT p.tenant_id, p.series_id, p.bucket, x.*
      FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS p (tenant_id, series_id, bucket)
      CROSS JOIN LATERAL (${aggregate}) x),
  gone AS (
    DELETE FROM ${table} r USING agg a
     WHERE a.k = 0 AND r.tenant_id = a.tenant_id AND r.series_id = a.series_id AND r.bucket = a.bucket),
  up AS (
    INSERT INTO ${table} AS r (${ROLLUP_COLUMNS})
    SELECT ${ROLLUP_COLUMNS} FROM agg WHERE k > 0
     ORDER BY tenant_id, series_id, bucket
    ON CONFLICT (tenant_id, series_id, bucket) DO UPDATE SET sample_count = excluded.sample_count,
      value_sum = excluded.value_sum, value_min = excluded.value_min, value_max = excluded.value_max,
      value_sum_sq = excluded.value_sum_sq, first_ts = excluded.first_ts, first_value = excluded.first_value,
      last_ts = excluded.last_ts, last_value = excluded.last_value, increase = excluded.increase
    RETURNING tenant_id, series_id, first_ts, last_ts)
  ${then}`;

/** The window of a bucket's source rows in time order, every row in each row's frame. */
const WHOLE_BUCKET = "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING";

/**
 * Minutes from raw samples: count, sum, min, max, sum of squares, first and last (by time), and the
 * counter increase between the minute's own samples. The series' first and last sample times follow
 * the minutes just rolled up, in the same statement.
 */
const RECOMPUTE_MINUTES = recompute(
  "metric_rollups_1m",
  `SELECT count(*) AS k, count(*)::int AS sample_count, sum(s.value) AS value_sum, min(s.value) AS value_min,
          max(s.value) AS value_max, sum(s.value * s.value) AS value_sum_sq, min(s.ts) AS first_ts, min(s.first) AS first_value,
          max(s.ts) AS last_ts, min(s.last) AS last_value, sum(${COUNTER_STEP_SQL("s.value", "s.prev")}) AS increase
     FROM (SELECT ts, value, lag(value) OVER w AS prev, first_value(value) OVER w AS first, last_value(value) OVER w AS last
             FROM metric_samples
            WHERE tenant_id = p.tenant_id AND series_id = p.series_id AND ts >= p.bucket AND ts < p.bucket + ${MINUTE_MS}
           WINDOW w AS (ORDER BY ts ${WHOLE_BUCKET})) s`,
  `UPDATE metric_series s SET first_sample_at = least(s.first_sample_at, v.first_ts), last_sample_at = greatest(s.last_sample_at, v.last_ts)
     FROM (SELECT tenant_id, series_id, min(first_ts) AS first_ts, max(last_ts) AS last_ts FROM up GROUP BY tenant_id, series_id) v
    WHERE s.tenant_id = v.tenant_id AND s.id = v.series_id
      AND (v.first_ts < s.first_sample_at OR v.last_ts > s.last_sample_at)`,
);

/** Hours from their minutes; the step between consecutive minutes joins the hour's increase. */
const RECOMPUTE_HOURS = recompute(
  "metric_rollups_1h",
  `SELECT count(*) AS k, sum(m.sample_count)::int AS sample_count, sum(m.value_sum) AS value_sum, min(m.value_min) AS value_min,
          max(m.value_max) AS value_max, sum(m.value_sum_sq) AS value_sum_sq, min(m.first_ts) AS first_ts, min(m.first) AS first_value,
          max(m.last_ts) AS last_ts, min(m.last) AS last_value,
          sum(m.increase + ${COUNTER_STEP_SQL("m.first_value", "m.prev_last")}) AS increase
     FROM (SELECT *, lag(last_value) OVER w AS prev_last, first_value(first_value) OVER w AS first, last_value(last_value) OVER w AS last
             FROM metric_rollups_1m
            WHERE tenant_id = p.tenant_id AND series_id = p.series_id AND bucket >= p.bucket AND bucket < p.bucket + ${HOUR_MS}
           WINDOW w AS (ORDER BY bucket ${WHOLE_BUCKET})) m`,
);

/**
 * The rollup job vacuums the rollup tables once it has caught up with the markers and has rewritten
 * rows since it last did: after VACUUM_EVERY_MS, or after VACUUM_SOONEST_MS when it has rewritten at
 * least VACUUM_AFTER_ROWS (a backlog just cleared, as after bench:query's seed). The shortest interval
 * bounds the cost under heavy ingest, where every tick rewrites many rows.
 */
const VACUUM_AFTER_ROWS = 10_000;
const VACUUM_SOONEST_MS = 15_000;
const VACUUM_EVERY_MS = 60_000;

/**
 * A marker names one of the series in $2. `&&` compares every id of the marker with every id of $2,
 * so cheaper tests of the marker's id range come first: against the range of $2 (computed once),
 * then against each id of $2. CASE fixes that order (the planner orders the terms of a plain AND by
 * its own cost estimates, and put `&&` first). With 2,500 markers of 200 ids pending (5 s at 100,000
 * points/s in batches of one timestamp) and series none of them named, `&&` alone took 124 ms for
 * 100 series and 1.2 s for 1,000; the test against each id of $2 alone, 16 and 121 ms; all three
 * tests in this order, about 1 ms for both (EXPLAIN ANALYZE, PostgreSQL 15, 2026-11-23).
 */
const NAMES_ANY_OF_2 = `CASE WHEN max_id >= (SELECT min(x) FROM unnest($2::bigint[]) AS x)
                              AND min_id <= (SELECT max(x) FROM unnest($2::bigint[]) AS x)
                              AND EXISTS (SELECT 1 FROM unnest($2::bigint[]) AS q (id) WHERE q.id BETWEEN min_id AND max_id)
                         THEN series_ids && $2::bigint[] ELSE false END`;

/** markers the rollup job looks at per batch, to choose its minutes from (see runBatch) */
const MARKS_LOOKED_AT = 1_000;

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
 * out-of-order samples exact. Concurrency: a marker commits with its batch's samples, so whoever
 * takes it recomputes (in a later statement) from a snapshot that has them. The job locks the
 * markers it looks at with SKIP LOCKED; a query's DELETE of the same markers waits for the job to
 * commit and then finds them gone, by which time the rollups are fresh.
 *
 * Vacuum: pooled aggregates read the rollups by index-only scans (their primary keys include the
 * pooled columns), which skip the table only for pages the visibility map marks all-visible, and
 * only VACUUM marks them. Every recompute rewrites rows (upserts, and deletes of emptied buckets), and autovacuum may be off (it
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

  /**
   * Recomputes the minutes of pending markers (any tenant), about `limit` series-minutes' worth;
   * returns how many series-minutes it recomputed.
   *
   * Markers are rows of one batch and minute with (up to 200 of) the batch's series (see
   * writeSamplesSql in ingest.service.ts), so one minute has at least one per batch that wrote to it. The job takes whole
   * minutes: it looks at up to MARKS_LOOKED_AT markers it can lock, chooses minutes (tenant,
   * bucket) until the series they name add up to `limit`, and takes every marker of those minutes;
   * one recompute of each series' minute then covers all of them.
   */
  async runBatch(limit = 5_000): Promise<number> {
    const taken = await this.db.transaction(async (m) => {
      // the minutes of the markers looked at, with how many distinct series those markers name
      const seen = (await m.query(
        `WITH seen AS (SELECT tenant_id, bucket, series_ids FROM metric_rollup_pending LIMIT $1 FOR UPDATE SKIP LOCKED)
         SELECT tenant_id, bucket::text, count(DISTINCT s.id)::int AS n FROM seen, unnest(seen.series_ids) AS s (id)
          GROUP BY tenant_id, bucket ORDER BY tenant_id, bucket`,
        [MARKS_LOOKED_AT],
      )) as Array<{ tenant_id: string; bucket: string; n: number }>;
      if (seen.length === 0) return 0;
      const chosen: Array<{ tenant_id: string; bucket: string }> = [];
      let planned = 0;
      for (const minute of seen) {
        if (chosen.length > 0 && planned + minute.n > limit) break;
        chosen.push(minute);
        planned += minute.n;
      }
      const minutes = (await m.query(
        // (a DELETE … RETURNING wrapped in a SELECT: TypeORM returns a bare DELETE as [rows, count])
        `WITH taken AS (
           DELETE FROM metric_rollup_pending p USING unnest($1::uuid[], $2::bigint[]) AS k (tenant_id, bucket)
            WHERE p.tenant_id = k.tenant_id AND p.bucket = k.bucket
           RETURNING p.tenant_id, p.bucket, p.series_ids)
         SELECT DISTINCT t.tenant_id, s.id::text AS series_id, t.bucket::text FROM taken t, unnest(t.series_ids) AS s (id)`,
        [chosen.map((c) => c.tenant_id), chosen.map((c) => c.bucket)],
      )) as PendingRow[];
      await this.recompute(m, minutes);
      return minutes.length;
    });
    if (taken < limit) await this.vacuumIfDue();
    return taken;
  }

  /**
   * VACUUM of both rollup tables when enough rows changed (see the class comment), and of the
   * markers, a queue whose every row is deleted soon after it is written: without vacuum (autovacuum
   * off) the job's scans of it read every dead row, 53 ms per look at 1,000 markers after 6 s of
   * ingest at 100,000 points/s. Outside any transaction.
   */
  private async vacuumIfDue(): Promise<void> {
    const since = this.now() - this.lastVacuumAt;
    const due = this.rewritten > 0 && (since >= VACUUM_EVERY_MS || (this.rewritten >= VACUUM_AFTER_ROWS && since >= VACUUM_SOONEST_MS));
    if (!due) return;
    this.rewritten = 0;
    this.lastVacuumAt = this.now();
    // SKIP_LOCKED: a partition being created, attached or dropped is left for next time
    await this.db.query(`VACUUM (SKIP_LOCKED) metric_rollups_1m, metric_rollups_1h, metric_rollup_pending`);
  }

  /**
   * Brings the rollups of these series up to date over [from, to) (epoch ms, hour-aligned or not).
   * It takes the tenant's markers of that time that name any of the series, recomputes those
   * series' minutes, and marks again, in the same transaction, the other series those markers named.
   * It takes whole hours of markers on purpose: a consumer still recomputing a minute of one of these
   * series in one of these hours holds that minute's markers, so this DELETE waits for it to commit,
   * and the hour statement here then reads every minute the other one wrote.
   */
  async refresh(tenantId: string, seriesIds: readonly string[], from: number, to: number): Promise<void> {
    if (seriesIds.length === 0) return;
    const lo = Math.floor(from / HOUR_MS) * HOUR_MS;
    const hi = Math.ceil(to / HOUR_MS) * HOUR_MS;
    const pending = (await this.db.query(
      `SELECT 1 FROM metric_rollup_pending WHERE tenant_id = $1 AND bucket >= $3 AND bucket < $4 AND ${NAMES_ANY_OF_2} LIMIT 1`,
      [tenantId, seriesIds, lo, hi],
    )) as unknown[];
    if (pending.length === 0) return;
    await this.db.transaction(async (m) => {
      const minutes = (await m.query(
        `WITH taken AS (
           DELETE FROM metric_rollup_pending WHERE tenant_id = $1 AND bucket >= $3 AND bucket < $4 AND ${NAMES_ANY_OF_2}
           RETURNING bucket, series_ids),
         named AS (SELECT DISTINCT t.bucket, s.id, q.id IS NOT NULL AS asked
                     FROM taken t CROSS JOIN unnest(t.series_ids) AS s (id)
                     LEFT JOIN unnest($2::bigint[]) AS q (id) ON q.id = s.id),
         others AS (INSERT INTO metric_rollup_pending (tenant_id, bucket, series_ids)
                    SELECT $1, bucket, array_agg(id) FROM named WHERE NOT asked GROUP BY bucket)
         SELECT $1::uuid AS tenant_id, id::text AS series_id, bucket::text FROM named WHERE asked`,
        [tenantId, seriesIds, lo, hi],
      )) as PendingRow[];
      await this.recompute(m, minutes);
    });
  }

  private async recompute(m: EntityManager, minutes: PendingRow[]): Promise<void> {
    if (minutes.length === 0) return;
    const cols = (rows: PendingRow[]) => [rows.map((r) => r.tenant_id), rows.map((r) => r.series_id), rows.map((r) => r.bucket)];
    // A minute (or hour) whose samples are all gone, by retention, loses its row (see recompute).
    await m.query(RECOMPUTE_MINUTES, cols(minutes));
    const hours = new Map<string, PendingRow>();
    for (const r of minutes) {
      const bucket = String(Math.floor(Number(r.bucket) / HOUR_MS) * HOUR_MS);
      hours.set(`${r.tenant_id}/${r.series_id}/${bucket}`, { tenant_id: r.tenant_id, series_id: r.series_id, bucket });
    }
    await m.query(RECOMPUTE_HOURS, cols([...hours.values()]));
    this.rewritten += minutes.length + hours.size;
  }
}
