import type { Database } from "../../db/database";
import { DAY_MS } from "../../db/partitions";
import { BadUserInputError } from "../../errors";
import { decodeCursor, encodeCursor, pageSize } from "../../lib/cursor";
import { linearRegression, pearson, predictionInterval, trendDirection } from "../../lib/statistics";
import { type Session, tenantOf } from "../auth";
import {
  type BucketState,
  type Segment,
  type SegmentSource,
  bucketCount,
  bucketStarts,
  finalize,
  foldSeries,
  groupLabels,
  mergeInto,
  planParts,
} from "./buckets";
import { labelNameProblem } from "./points";
import type { Rollups } from "./rollups";
import { COUNTER_STEP_SQL } from "./rollups";
import { NAME_LABEL, compileSelector } from "./selector";
import {
  AggregateFn,
  type AggregatedSeries,
  type Bucket,
  PERCENTILES,
  type Sample,
  type SeriesRecord,
  type SeriesSelector,
  TrendDirection,
} from "./types";

export const MAX_BUCKETS = 11_000;
export const MAX_SERIES_PER_QUERY = 1_000;
export const MAX_SAMPLES_PER_CALL = 10_000;
/** how far before `from` RATE and INCREASE look for the sample their first step starts from */
export const COUNTER_LOOKBACK_MS = DAY_MS;

export interface AggregateQuery {
  selector: SeriesSelector;
  from: Date;
  to: Date;
  stepSeconds: number;
  fn: AggregateFn;
  groupBy: readonly string[] | null;
}

export interface Summary {
  count: number;
  sum: number | null;
  avg: number | null;
  min: number | null;
  max: number | null;
  stddev: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  first: number | null;
  last: number | null;
}

export interface Trend {
  direction: TrendDirection;
  slopePerSecond: number;
  strength: number;
  forecast: Array<{ ts: number; value: number; lower: number; upper: number }>;
}

export const SERIES_COLUMNS = `id::text AS id, name, type, labels, first_sample_at::float8 AS "firstSampleAt", last_sample_at::float8 AS "lastSampleAt"`;

/** What parts of the bucket state a function reads; the SQL computes only those (the others are 0). */
type StatePart = "sum" | "min" | "max" | "sumSq" | "ordered";
const NEEDS: Record<AggregateFn, readonly StatePart[]> = {
  COUNT: [],
  SUM: ["sum"],
  AVG: ["sum"],
  MIN: ["min"],
  MAX: ["max"],
  STDDEV: ["sum", "sumSq"],
  LAST: ["ordered"],
  RATE: ["ordered"],
  INCREASE: ["ordered"],
  P50: [],
  P90: [],
  P95: [],
  P99: [],
};

type StateExpressions = Record<"n" | "sum" | "min" | "max" | "sumSq" | "firstTs" | "first" | "lastTs" | "last" | "increase", string>;

const STATE_COLUMNS = (needs: readonly StatePart[], e: StateExpressions) => {
  const col = (need: StatePart, expr: string, alias: string) => `${needs.includes(need) ? expr : "0"}::float8 AS "${alias}"`;
  return [
    // float8: a group's count over many series may pass int4 (1,000 series × 1 sample/ms × a day)
    `${e.n}::float8 AS n`,
    col("sum", e.sum, "sum"),
    col("min", e.min, "min"),
    col("max", e.max, "max"),
    col("sumSq", e.sumSq, "sumSq"),
    col("ordered", e.firstTs, "firstTs"),
    col("ordered", e.first, "first"),
    col("ordered", e.lastTs, "lastTs"),
    col("ordered", e.last, "last"),
    col("ordered", e.increase, "increase"),
  ].join(", ");
};

/**
 * Functions whose group state merges without order: counts, sums, extremes and sums of squares add up
 * or compare, whatever series or segment they come from. For these the database merges the series of
 * a group itself (GROUP BY group, bucket) and sends one row per group and bucket instead of one per
 * series and bucket; the sums are added in another order than before, so answers may differ in the
 * last bits (1e-16 relative), as answers from rollups and from raw samples always did. LAST, RATE
 * and INCREASE need each series' order (the step into a bucket, the most recent sample) and take the
 * per-series path (seriesStatesSql, then foldSeries); percentiles read raw samples.
 */
const POOLED: ReadonlySet<AggregateFn> = new Set([AggregateFn.COUNT, AggregateFn.SUM, AggregateFn.AVG, AggregateFn.MIN, AggregateFn.MAX, AggregateFn.STDDEV]);

/**
 * Where one source's parts sit in the parameters of groupStatesSql: a single [lo, hi) as two
 * scalars, or several as two arrays of bounds.
 */
interface SourceParts {
  source: SegmentSource;
  lo: string;
  hi: string;
  many: boolean;
}

/**
 * Per-group, per-output-bucket states of a pooled function over the parts planParts chose, in one
 * statement: $1 tenant, $2 series ids, $3 step ms, $4 each series' group index, then each source's
 * bounds. Two levels: per series and bucket first (one subquery per source: raw samples, or a rollup
 * table whose rows each lie inside one output bucket), then per group over those (bench:query's
 * grouped case: 166,600 minute rows, 9,900 series buckets, 990 rows sent instead of 9,900). The
 * per-series level is a lateral subquery on purpose: with `series_id = g.id` the primary key
 * (tenant, series, time) is searched on all three columns whatever the statistics say. Without
 * statistics (autovacuum off, or a fresh partition), `series_id = ANY($2)` ended up a filter over
 * every index entry of the tenant (a raw edge of 300 samples took 10–16 ms instead of 1), and joining
 * the groups to every rollup row sorted all 166,600 of them on disk (work_mem 4 MB): 243 ms against
 * 79 ms for this shape (EXPLAIN ANALYZE on the bench:query data, PostgreSQL 15, 2026-11-22).
 *
 * A source with several parts (a step that is not a multiple of the grain: the minutes at each
 * bucket edge are raw) reads them through a second lateral level, one aggregate per part: joined
 * plainly, the planner read the series' whole range and filtered it against every part (1 M samples
 * × 69 raw parts: 5 s instead of 8 ms). The rollup tables' primary keys include the pooled columns,
 * so the rollup reads are index-only scans where the visibility map allows (Rollups vacuums them).
 */
const groupStatesSql = (sources: readonly SourceParts[], needs: readonly StatePart[]) => {
  const perSeries = sources.map(({ source, lo, hi, many }) => {
    const raw = source === "raw";
    const time = raw ? "ts" : "bucket";
    const columns = [
      `${raw ? "count(*)" : "sum(sample_count)"} AS n`,
      needs.includes("sum") ? `${raw ? "sum(value)" : "sum(value_sum)"} AS sum` : "",
      needs.includes("min") ? `${raw ? "min(value)" : "min(value_min)"} AS min` : "",
      needs.includes("max") ? `${raw ? "max(value)" : "max(value_max)"} AS max` : "",
      needs.includes("sumSq") ? `${raw ? "sum(value * value)" : "sum(value_sum_sq)"} AS sum_sq` : "",
    ].filter(Boolean);
    const read = (a: string, b: string) =>
      `SELECT ${time} - ${time} % $3 AS bucket, ${columns.join(", ")} FROM ${raw ? "metric_samples" : source}
             WHERE tenant_id = $1 AND series_id = g.id AND ${time} >= ${a} AND ${time} < ${b} GROUP BY 1`;
    return many ? `SELECT y.* FROM unnest(${lo}::bigint[], ${hi}::bigint[]) AS w (lo, hi) CROSS JOIN LATERAL (${read("w.lo", "w.hi")}) y` : read(lo, hi);
  });
  return `
  SELECT g.grp, x.bucket::float8 AS bucket, ${STATE_COLUMNS(needs, {
    n: "sum(x.n)",
    sum: "sum(x.sum)",
    min: "min(x.min)",
    max: "max(x.max)",
    sumSq: "sum(x.sum_sq)",
    firstTs: "0",
    first: "0",
    lastTs: "0",
    last: "0",
    increase: "0",
  })}
  FROM unnest($2::bigint[], $4::int[]) AS g (id, grp)
  CROSS JOIN LATERAL (${perSeries.join("\n  UNION ALL ")}) x
  GROUP BY 1, 2`;
};

/**
 * Per-series, per-output-bucket states of LAST, RATE and INCREASE over the parts planParts chose, in
 * one statement: $1 tenant, $2 series ids, $3 step ms, then each source's bounds. Every sample of a
 * raw part and every rollup row of a rollup part is a unit of the series, in time order (the parts do
 * not overlap); lag() gives the step into each unit from the one before, in this bucket or an earlier
 * one, so a bucket's increase is its units' own increases plus the steps into them. The step into
 * the series' first unit is left to foldSeries, from the seed. Lateral per series, as in
 * groupStatesSql, and OFFSET 0 keeps each part's read a subquery searched once per part.
 */
const seriesStatesSql = (sources: readonly SourceParts[], needs: readonly StatePart[]) => {
  const units = sources.map(({ source, lo, hi, many }) => {
    const raw = source === "raw";
    const time = raw ? "ts" : "bucket";
    const columns = raw
      ? "ts AS t, 1 AS u_n, value AS u_sum, value AS u_min, value AS u_max, value * value AS u_sum_sq, ts AS u_first_ts, value AS u_first, ts AS u_last_ts, value AS u_last, 0::float8 AS u_increase"
      : "bucket AS t, sample_count AS u_n, value_sum AS u_sum, value_min AS u_min, value_max AS u_max, value_sum_sq AS u_sum_sq, first_ts AS u_first_ts, first_value AS u_first, last_ts AS u_last_ts, last_value AS u_last, increase AS u_increase";
    const read = (a: string, b: string) =>
      `SELECT ${columns} FROM ${raw ? "metric_samples" : source} WHERE tenant_id = $1 AND series_id = g.id AND ${time} >= ${a} AND ${time} < ${b}`;
    return many ? `SELECT y.* FROM unnest(${lo}::bigint[], ${hi}::bigint[]) AS w (lo, hi) CROSS JOIN LATERAL (${read("w.lo", "w.hi")} OFFSET 0) y` : read(lo, hi);
  });
  return `
  SELECT g.id::text AS "seriesId", x.* FROM unnest($2::bigint[]) AS g (id)
  CROSS JOIN LATERAL (
    SELECT (t - t % $3)::float8 AS bucket, ${STATE_COLUMNS(needs, {
      n: "sum(u_n)",
      sum: "sum(u_sum)",
      min: "min(u_min)",
      max: "max(u_max)",
      sumSq: "sum(u_sum_sq)",
      firstTs: "min(u_first_ts)",
      first: "(array_agg(u_first ORDER BY t))[1]",
      lastTs: "max(u_last_ts)",
      last: "(array_agg(u_last ORDER BY t DESC))[1]",
      increase: `sum(u_increase + ${COUNTER_STEP_SQL("u_first", "prev")})`,
    })}
    FROM (SELECT u.*, lag(u.u_last) OVER (ORDER BY u.t) AS prev FROM (${units.join("\n      UNION ALL ")}) u) v
    GROUP BY t - t % $3) x`;
};

const SEED_SQL = `
  SELECT g.id::text AS "seriesId", s.value::float8 AS value FROM unnest($2::bigint[]) AS g (id)
  CROSS JOIN LATERAL (SELECT value FROM metric_samples WHERE tenant_id = $1 AND series_id = g.id AND ts < $3 AND ts >= $4
                       ORDER BY ts DESC LIMIT 1) s`;

const PERCENTILE_SQL = `
  SELECT g.grp, (s.ts - s.ts % $5)::float8 AS bucket, percentile_cont($6::float8) WITHIN GROUP (ORDER BY s.value) AS value
    FROM metric_samples s JOIN unnest($2::bigint[], $7::int[]) AS g (id, grp) ON s.series_id = g.id
   WHERE s.tenant_id = $1 AND s.series_id = ANY($2::bigint[]) AND s.ts >= $3 AND s.ts < $4
   GROUP BY 1, 2`;

interface StateRow extends BucketState {
  seriesId: string;
  bucket: number;
}

interface GroupStateRow extends BucketState {
  grp: number;
  bucket: number;
}

/**
 * Reads series and samples back: selection, aggregates, summaries, trends and correlations.
 * Aggregates read rollups (after bringing the minutes they cover up to date) for the whole minutes
 * and hours of each output bucket, and raw samples for the rest (planParts) and for percentiles, in
 * one statement. Parameterised SQL through the data source: these are the hot read paths.
 */
export class MetricsQueryService {
  constructor(
    private readonly db: Database,
    private readonly rollups: Rollups,
  ) {}

  async listSeries(session: Session, selector: SeriesSelector, first: number | null, after: string | null) {
    const tenantId = tenantOf(session, "metrics:read");
    const size = pageSize(first);
    const afterId = after ? decodeCursor(after) : "0";
    const c = compileSelector(selector);
    const where = ["tenant_id = $1", ...c.where].join(" AND ");
    let page: SeriesRecord[];
    let totalCount: number;
    if (!c.test) {
      const [{ n }] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM metric_series WHERE ${where}`, [tenantId, ...c.params]);
      totalCount = n;
      page = (
        await this.db.query<SeriesRecord>(
          `SELECT ${SERIES_COLUMNS} FROM metric_series WHERE ${where} AND id > $${c.params.length + 2} ORDER BY id LIMIT ${size + 1}`,
          [tenantId, ...c.params, afterId],
        )
      ).map((r) => ({ ...r, tenantId }));
    } else {
      const all = await this.selectSeries(tenantId, selector, "selector", Number.POSITIVE_INFINITY);
      totalCount = all.length;
      page = all.filter((s) => BigInt(s.id) > BigInt(afterId)).slice(0, size + 1);
    }
    const hasNextPage = page.length > size;
    const nodes = page.slice(0, size);
    return { nodes, totalCount, hasNextPage, endCursor: nodes.length ? encodeCursor(nodes[nodes.length - 1]!.id) : null };
  }

  /** Samples of one series: the first `limit` from `from`, or the latest `limit` up to `to` without `from`. */
  async samples(session: Session, series: SeriesRecord, from: Date | null, to: Date | null, limit: number | null): Promise<Sample[]> {
    const tenantId = tenantOf(session, "metrics:read");
    if (tenantId !== series.tenantId) return [];
    const n = limit ?? 1_000;
    if (!Number.isInteger(n) || n < 1 || n > MAX_SAMPLES_PER_CALL) throw new BadUserInputError("limit", `must be from 1 to ${MAX_SAMPLES_PER_CALL}`);
    const lo = from ? from.getTime() : 0;
    const hi = to ? to.getTime() : Number.MAX_SAFE_INTEGER;
    if (lo > hi) throw new BadUserInputError("to", "must not be before from");
    const rows = await this.db.query<{ ts: number; value: number }>(
      `SELECT ts::float8 AS ts, value FROM metric_samples WHERE tenant_id = $1 AND series_id = $2 AND ts >= $3 AND ts <= $4
        ORDER BY ts ${from ? "ASC" : "DESC"} LIMIT ${n}`,
      [tenantId, series.id, lo, hi],
    );
    return from ? rows : rows.reverse();
  }

  async labelValues(session: Session, label: string, selector: SeriesSelector | null): Promise<string[]> {
    const tenantId = tenantOf(session, "metrics:read");
    if (label !== NAME_LABEL) {
      const problem = labelNameProblem(label);
      if (problem) throw new BadUserInputError("label", problem);
    }
    if (selector) {
      const series = await this.selectSeries(tenantId, selector, "selector", Number.POSITIVE_INFINITY);
      const values = new Set<string>();
      for (const s of series) {
        const v = label === NAME_LABEL ? s.name : s.labels[label];
        if (v !== undefined) values.add(v);
      }
      return [...values].sort();
    }
    const rows =
      label === NAME_LABEL
        ? await this.db.query<{ v: string }>(`SELECT DISTINCT name AS v FROM metric_series WHERE tenant_id = $1`, [tenantId])
        : await this.db.query<{ v: string }>(`SELECT DISTINCT labels ->> $2 AS v FROM metric_series WHERE tenant_id = $1 AND labels ? $2`, [tenantId, label]);
    return rows.map((r) => r.v).sort();
  }

  async aggregate(session: Session, q: AggregateQuery): Promise<AggregatedSeries[]> {
    const tenantId = tenantOf(session, "metrics:read");
    return this.aggregateFor(tenantId, q, "");
  }

  async summary(session: Session, selector: SeriesSelector, from: Date, to: Date): Promise<Summary> {
    const tenantId = tenantOf(session, "metrics:read");
    const [lo, hi] = range(from, to, "");
    const series = await this.selectSeries(tenantId, selector, "selector", MAX_SERIES_PER_QUERY);
    const empty: Summary = { count: 0, sum: null, avg: null, min: null, max: null, stddev: null, p50: null, p95: null, p99: null, first: null, last: null };
    if (series.length === 0) return empty;
    const where = `tenant_id = $1 AND series_id = ANY($2::bigint[]) AND ts >= $3 AND ts < $4`;
    const [row] = await this.db.query<Omit<Summary, "p50" | "p95" | "p99"> & { pct: number[] | null }>(
      `SELECT count(*)::int AS count, sum(value) AS sum, avg(value) AS avg, min(value) AS min, max(value) AS max,
              stddev_pop(value) AS stddev,
              percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY value) AS pct,
              (SELECT value FROM metric_samples WHERE ${where} ORDER BY ts, series_id LIMIT 1) AS first,
              (SELECT value FROM metric_samples WHERE ${where} ORDER BY ts DESC, series_id DESC LIMIT 1) AS last
         FROM metric_samples WHERE ${where}`,
      [tenantId, series.map((s) => s.id), lo, hi],
    );
    if (!row || row.count === 0) return empty;
    const { pct, ...rest } = row;
    return { ...rest, p50: pct?.[0] ?? null, p95: pct?.[1] ?? null, p99: pct?.[2] ?? null };
  }

  async trend(
    session: Session,
    q: { selector: SeriesSelector; from: Date; to: Date; stepSeconds: number; horizonSeconds: number | null; confidence: number | null },
  ): Promise<Trend> {
    const tenantId = tenantOf(session, "metrics:read");
    const confidence = q.confidence ?? 0.95;
    if (!(confidence > 0 && confidence < 1)) throw new BadUserInputError("confidence", "must be between 0 and 1, exclusive");
    const horizonSeconds = q.horizonSeconds ?? 10 * q.stepSeconds;
    if (!Number.isInteger(horizonSeconds) || horizonSeconds < 0) throw new BadUserInputError("horizonSeconds", "must be a non-negative integer");
    if (q.stepSeconds > 0 && horizonSeconds / q.stepSeconds > MAX_BUCKETS) {
      throw new BadUserInputError("horizonSeconds", `asks for more than ${MAX_BUCKETS} forecast points; raise stepSeconds or shorten the horizon`);
    }
    const [series] = await this.aggregateFor(tenantId, { ...q, fn: AggregateFn.AVG, groupBy: [] }, "");
    const points = (series?.buckets ?? []).filter((b) => b.value !== null).map((b) => ({ x: b.ts / 1000, y: b.value! }));
    const fit = linearRegression(points);
    if (!fit) return { direction: TrendDirection.FLAT, slopePerSecond: 0, strength: 0, forecast: [] };
    const stepMs = q.stepSeconds * 1000;
    const last = q.to.getTime() - (q.to.getTime() % stepMs);
    const forecast: Trend["forecast"] = [];
    for (let t = last + stepMs; t <= last + horizonSeconds * 1000; t += stepMs) {
      const p = predictionInterval(fit, t / 1000, confidence);
      forecast.push({ ts: t, value: p.value, lower: p.lower, upper: p.upper });
    }
    return {
      direction: trendDirection(fit, 1 - confidence) as TrendDirection,
      slopePerSecond: fit.slope,
      strength: fit.r2,
      forecast,
    };
  }

  async correlation(session: Session, q: { a: SeriesSelector; b: SeriesSelector; from: Date; to: Date; stepSeconds: number }) {
    const tenantId = tenantOf(session, "metrics:read");
    const base = { from: q.from, to: q.to, stepSeconds: q.stepSeconds, fn: AggregateFn.AVG, groupBy: [] };
    const [a] = await this.aggregateFor(tenantId, { ...base, selector: q.a }, "a");
    const [b] = await this.aggregateFor(tenantId, { ...base, selector: q.b }, "b");
    const bByTs = new Map((b?.buckets ?? []).map((x) => [x.ts, x.value]));
    const xs: number[] = [];
    const ys: number[] = [];
    for (const x of a?.buckets ?? []) {
      const y = bByTs.get(x.ts);
      if (x.value !== null && y !== null && y !== undefined) {
        xs.push(x.value);
        ys.push(y);
      }
    }
    const c = pearson(xs, ys);
    return { coefficient: c.r, pValue: c.pValue, points: c.n };
  }

  /** `selectorField`: "" for `selector`, or the argument name (a, b) when there are two. */
  private async aggregateFor(tenantId: string, q: AggregateQuery, selectorField: string): Promise<AggregatedSeries[]> {
    const [lo, hi] = range(q.from, q.to, "");
    if (!Number.isInteger(q.stepSeconds) || q.stepSeconds < 1) throw new BadUserInputError("stepSeconds", "must be a positive integer");
    const stepMs = q.stepSeconds * 1000;
    const buckets = bucketCount(lo, hi - 1, stepMs);
    if (buckets > MAX_BUCKETS) {
      throw new BadUserInputError("stepSeconds", `the range holds ${buckets} buckets of ${q.stepSeconds} s; at most ${MAX_BUCKETS} per series: raise stepSeconds or shorten the range`);
    }
    const groupBy = q.groupBy ?? null;
    groupBy?.forEach((l, i) => {
      const problem = l === NAME_LABEL ? undefined : labelNameProblem(l);
      if (problem) throw new BadUserInputError(`groupBy[${i}]`, problem);
    });
    const series = await this.selectSeries(tenantId, q.selector, selectorField || "selector", MAX_SERIES_PER_QUERY);
    if (series.length === 0) return [];

    // Group index per series, in a stable order of group labels.
    const groups = new Map<string, { labels: Record<string, string>; index: number }>();
    const groupOf = new Map<string, number>();
    for (const s of series) {
      const labels = groupLabels(s.name, s.labels, groupBy);
      const key = JSON.stringify(labels);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { labels, index: groups.size }));
      groupOf.set(s.id, g.index);
    }
    const ids = series.map((s) => s.id);
    const groupStates: Array<Map<number, number | BucketState>> = [...groups.values()].map(() => new Map());

    const quantile = PERCENTILES[q.fn];
    if (quantile !== undefined) {
      const rows = await this.db.query<{ grp: number; bucket: number; value: number }>(PERCENTILE_SQL, [
        tenantId, ids, lo, hi, stepMs, quantile, ids.map((id) => groupOf.get(id)!),
      ]);
      for (const r of rows) groupStates[r.grp]!.set(r.bucket, r.value);
    } else if (POOLED.has(q.fn)) {
      const grps = ids.map((id) => groupOf.get(id)!);
      // one row per group and bucket: the statement has already merged segments and series
      for (const { grp, bucket, ...state } of await this.groupStates(tenantId, ids, grps, planParts(lo, hi, stepMs), stepMs, NEEDS[q.fn])) {
        groupStates[grp]!.set(bucket, state);
      }
    } else {
      const perSeries = new Map<string, StateRow[]>(ids.map((id) => [id, []]));
      for (const row of await this.seriesStates(tenantId, ids, planParts(lo, hi, stepMs), stepMs, NEEDS[q.fn])) perSeries.get(row.seriesId)!.push(row);
      const seeds = q.fn === AggregateFn.RATE || q.fn === AggregateFn.INCREASE ? await this.seeds(tenantId, ids, lo) : new Map<string, number>();
      for (const id of ids) {
        const target = groupStates[groupOf.get(id)!]!;
        // one segment per series, in time order (the statement does not promise an order)
        const rows = perSeries.get(id)!.sort((x, y) => x.bucket - y.bucket);
        for (const [bucket, state] of foldSeries([rows], seeds.get(id))) {
          const at = target.get(bucket) as BucketState | undefined;
          if (at) mergeInto(at, state);
          else target.set(bucket, state);
        }
      }
    }

    const starts = bucketStarts(lo, hi - 1, stepMs);
    const out: AggregatedSeries[] = [];
    for (const g of groups.values()) {
      const states = groupStates[g.index]!;
      if (states.size === 0) continue;
      const bucketsOut: Bucket[] = starts.map((ts) => {
        const s = states.get(ts);
        if (s === undefined) return { ts, value: q.fn === AggregateFn.COUNT ? 0 : null };
        return { ts, value: typeof s === "number" ? s : finalize(q.fn, s, stepMs) };
      });
      out.push({ labels: g.labels, buckets: bucketsOut });
    }
    return out.sort((x, y) => (JSON.stringify(x.labels) < JSON.stringify(y.labels) ? -1 : 1));
  }

  /** Pooled states of every part in one statement (one row per group and bucket). */
  private async groupStates(tenantId: string, ids: string[], grps: number[], parts: Segment[], stepMs: number, needs: readonly StatePart[]): Promise<GroupStateRow[]> {
    const { sources, params } = await this.prepareParts(tenantId, ids, parts, [tenantId, ids, stepMs, grps]);
    return this.db.query<GroupStateRow>(groupStatesSql(sources, needs), params);
  }

  /** Per-series states of every part in one statement (one row per series and bucket). */
  private async seriesStates(tenantId: string, ids: string[], parts: Segment[], stepMs: number, needs: readonly StatePart[]): Promise<StateRow[]> {
    const { sources, params } = await this.prepareParts(tenantId, ids, parts, [tenantId, ids, stepMs]);
    return this.db.query<StateRow>(seriesStatesSql(sources, needs), params);
  }

  /**
   * Brings the rollups the parts read up to date, and appends each source's bounds to `params`:
   * two scalars for a single part, two arrays for several.
   */
  private async prepareParts(tenantId: string, ids: string[], parts: Segment[], params: unknown[]): Promise<{ sources: SourceParts[]; params: unknown[] }> {
    const rolled = parts.filter((p) => p.source !== "raw");
    if (rolled.length) await this.rollups.refresh(tenantId, ids, rolled[0]!.lo, rolled[rolled.length - 1]!.hi);
    const sources: SourceParts[] = [];
    for (const source of ["raw", "metric_rollups_1m", "metric_rollups_1h"] as const) {
      const mine = parts.filter((p) => p.source === source);
      if (mine.length === 0) continue;
      const many = mine.length > 1;
      params.push(many ? mine.map((p) => p.lo) : mine[0]!.lo, many ? mine.map((p) => p.hi) : mine[0]!.hi);
      sources.push({ source, lo: `$${params.length - 1}`, hi: `$${params.length}`, many });
    }
    return { sources, params };
  }

  private async seeds(tenantId: string, ids: string[], lo: number): Promise<Map<string, number>> {
    const rows = await this.db.query<{ seriesId: string; value: number }>(SEED_SQL, [tenantId, ids, lo, lo - COUNTER_LOOKBACK_MS]);
    return new Map(rows.map((r) => [r.seriesId, r.value]));
  }

  /**
   * The tenant's series matching `selector`, ordered by id; more than `max` is BAD_USER_INPUT.
   * For other domains (rules, anomalies) that have already authorised the tenant.
   */
  async selectSeries(tenantId: string, selector: SeriesSelector, field: string, max: number): Promise<SeriesRecord[]> {
    const c = compileSelector(selector, field);
    const limit = !c.test && Number.isFinite(max) ? ` LIMIT ${max + 1}` : "";
    const rows = await this.db.query<Omit<SeriesRecord, "tenantId">>(
      `SELECT ${SERIES_COLUMNS} FROM metric_series WHERE ${["tenant_id = $1", ...c.where].join(" AND ")} ORDER BY id${limit}`,
      [tenantId, ...c.params],
    );
    const matched = (c.test ? rows.filter(c.test) : rows).map((r) => ({ ...r, tenantId }));
    if (matched.length > max) {
      throw new BadUserInputError(field, `matches more than ${max} series; a query reads at most ${max}: add matchers to narrow it`);
    }
    return matched;
  }
}

/** [from, to] as epoch ms, half-open above: [from, to + 1). */
function range(from: Date, to: Date, prefix: string): [number, number] {
  const lo = from.getTime();
  const hi = to.getTime();
  if (hi < lo) throw new BadUserInputError(`${prefix}to`, "must not be before from");
  return [lo, hi + 1];
}
