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
 * Folds one series' rows into per-bucket states. `segments` are consecutive time segments (raw
 * edge, rollups, raw edge), each ordered by bucket; within a segment the SQL already counted the
 * counter steps between its rows, so only the step into each segment's first row is added here,
 * from the last value before it (`seed`: the last sample before the range, if any).
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

const GRAINS: ReadonlyArray<[SegmentSource, number]> = [
  ["metric_rollups_1h", 3_600_000],
  ["metric_rollups_1m", 60_000],
];

/**
 * Which storage answers which part of [lo, hi): the coarsest rollup whose grain divides the step
 * (so no rollup row straddles two output buckets) covers the grain-aligned middle, and raw samples
 * cover the unaligned edges. Percentiles always read raw samples.
 */
export function planSegments(lo: number, hi: number, stepMs: number, rawOnly: boolean): Segment[] {
  const grain = rawOnly ? undefined : GRAINS.find(([, g]) => stepMs % g === 0);
  if (!grain) return [{ source: "raw", lo, hi }];
  const [source, g] = grain;
  const a = Math.ceil(lo / g) * g;
  const b = Math.floor(hi / g) * g;
  if (a >= b) return [{ source: "raw", lo, hi }];
  const out: Segment[] = [];
  if (lo < a) out.push({ source: "raw", lo, hi: a });
  out.push({ source, lo: a, hi: b });
  if (b < hi) out.push({ source: "raw", lo: b, hi });
  return out;
}
