import { AggregateFn } from "./types";

/**
 * Mergeable per-bucket state: what a rollup row stores and what a raw scan yields per bucket.
 * Everything an aggregate function needs can be merged from these without seeing the samples
 * again, except percentiles (which scan raw samples).
 */
export interface BucketState {
  n: number;
  sum: number;
  min: number;
  max: number;
  sumSq: number;
  firstTs: number;
  first: number;
  lastTs: number;
  last: number;
  /** counter increase inside the state, including steps between its own parts */
  increase: number;
}

/** A state of one series in one output bucket, as the SQL of one time segment returns it. */
export interface SeriesBucketRow extends BucketState {
  seriesId: string;
  bucket: number;
}

/** The reset-aware step of a counter from `prev` to `cur`: a drop means the counter restarted at 0. */
export function counterStep(cur: number, prev: number): number {
  return cur >= prev ? cur - prev : cur;
}

/**
 * Folds one series' rows into per-bucket states. `segments` are consecutive time segments, each
 * ordered by bucket (the query service sends one per series: its statement reads every part of the
 * range at once); within a segment the SQL already counted the counter steps between its rows, so
 * only the step into each segment's first row is added here, from the last value before it (`seed`:
 * the last sample before the range, if any).
 */
export function foldSeries(segments: ReadonlyArray<ReadonlyArray<BucketState & { bucket: number }>>, seed: number | undefined): Map<number, BucketState> {
  const out = new Map<number, BucketState>();
  let carry = seed;
  for (const rows of segments) {
    rows.forEach((row, i) => {
      const increase = row.increase + (i === 0 && carry !== undefined ? counterStep(row.first, carry) : 0);
      const at = out.get(row.bucket);
      if (!at) out.set(row.bucket, { ...row, increase });
      else mergeInto(at, { ...row, increase }, true);
      carry = row.last;
    });
  }
  return out;
}

/**
 * Merges `b` into `a`. `adjacent`: b follows a in the same series (increases add up as they are,
 * since the step into b was already counted); otherwise they are different series of one group.
 */
export function mergeInto(a: BucketState, b: BucketState, adjacent = false): void {
  a.n += b.n;
  a.sum += b.sum;
  if (b.min < a.min) a.min = b.min;
  if (b.max > a.max) a.max = b.max;
  a.sumSq += b.sumSq;
  if (!adjacent && b.firstTs < a.firstTs) {
    a.firstTs = b.firstTs;
    a.first = b.first;
  }
  if (adjacent || b.lastTs > a.lastTs) {
    a.lastTs = b.lastTs;
    a.last = b.last;
  }
  a.increase += b.increase;
}

/**
 * The value of `fn` for one bucket. LAST of a group is its most recent sample; RATE is the
 * increase per second of the bucket's nominal length (step).
 */
export function finalize(fn: AggregateFn, s: BucketState, stepMs: number): number | null {
  switch (fn) {
    case AggregateFn.COUNT:
      return s.n;
    case AggregateFn.SUM:
      return s.sum;
    case AggregateFn.AVG:
      return s.sum / s.n;
    case AggregateFn.MIN:
      return s.min;
    case AggregateFn.MAX:
      return s.max;
    case AggregateFn.STDDEV: {
      // population standard deviation, as Prometheus's stddev_over_time
      const variance = (s.sumSq - (s.sum * s.sum) / s.n) / s.n;
      return Math.sqrt(Math.max(0, variance));
    }
    case AggregateFn.LAST:
      return s.last;
    case AggregateFn.INCREASE:
      return s.increase;
    case AggregateFn.RATE:
      return s.increase / (stepMs / 1000);
    default:
      // percentiles never come through here: they are computed from raw samples in SQL
      return null;
  }
}

/** Start of every step-aligned bucket that intersects [from, to] (epoch ms). */
export function bucketStarts(from: number, to: number, stepMs: number): number[] {
  const first = from - (from % stepMs);
  const out: number[] = [];
  for (let t = first; t <= to; t += stepMs) out.push(t);
  return out;
}

export function bucketCount(from: number, to: number, stepMs: number): number {
  return Math.floor(to / stepMs) - Math.floor(from / stepMs) + 1;
}

/** The group a series belongs to: null = itself, [] = one group, [l…] = those labels' values. */
export function groupLabels(name: string, labels: Record<string, string>, groupBy: readonly string[] | null): Record<string, string> {
  if (groupBy === null) return { __name__: name, ...labels };
  const out: Record<string, string> = {};
  for (const l of groupBy) {
    const v = l === "__name__" ? name : Object.hasOwn(labels, l) ? labels[l] : undefined;
    if (v !== undefined) out[l] = v;
  }
  return out;
}

export type SegmentSource = "raw" | "metric_rollups_1m" | "metric_rollups_1h";

export interface Segment {
  source: SegmentSource;
  /** [lo, hi) in epoch ms */
  lo: number;
  hi: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/**
 * Past this share of the range read from raw samples, planParts reads raw samples only: the rollups
 * would save little, and every raw part costs an index search per series.
 */
export const MAX_RAW_SHARE = 0.5;

/**
 * Which storage answers which part of [lo, hi) for functions whose states merge in any order (COUNT
 * SUM AVG MIN MAX STDDEV), whatever the step. Within each output bucket (clipped to the range): its
 * whole hours from hour rollups, its other whole minutes from minute rollups, and the partial minutes
 * at its edges from raw samples, so every rollup row read lies inside one output bucket. Parts are in
 * time order, tile [lo, hi) exactly, and adjacent parts of one source are merged: a step that is a
 * multiple of 60 s gives at most raw, minutes, hours, minutes, raw. When more than MAX_RAW_SHARE of
 * the range would be raw (steps under two minutes or so), the whole range is one raw part.
 */
export function planParts(lo: number, hi: number, stepMs: number): Segment[] {
  const out: Segment[] = [];
  let raw = 0;
  const push = (source: SegmentSource, a: number, b: number) => {
    if (a >= b) return;
    if (source === "raw") raw += b - a;
    const last = out[out.length - 1];
    if (last && last.source === source && last.hi === a) last.hi = b;
    else out.push({ source, lo: a, hi: b });
  };
  for (let start = lo - (lo % stepMs); start < hi; start += stepMs) {
    const a = Math.max(lo, start);
    const b = Math.min(hi, start + stepMs);
    const m1 = Math.ceil(a / MINUTE_MS) * MINUTE_MS;
    const m2 = Math.floor(b / MINUTE_MS) * MINUTE_MS;
    if (m1 >= m2) {
      push("raw", a, b);
      continue;
    }
    const h1 = Math.ceil(m1 / HOUR_MS) * HOUR_MS;
    const h2 = Math.floor(m2 / HOUR_MS) * HOUR_MS;
    push("raw", a, m1);
    if (h1 < h2) {
      push("metric_rollups_1m", m1, h1);
      push("metric_rollups_1h", h1, h2);
      push("metric_rollups_1m", h2, m2);
    } else {
      push("metric_rollups_1m", m1, m2);
    }
    push("raw", m2, b);
  }
  return raw > MAX_RAW_SHARE * (hi - lo) ? [{ source: "raw", lo, hi }] : out;
}
