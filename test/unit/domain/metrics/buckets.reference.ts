import { type BucketState } from "../../../../src/domain/metrics/buckets";
import { AggregateFn } from "../../../../src/domain/metrics/types";

/**
 * An independent statement of what an aggregate means, from raw samples, and a simulation of
 * what the SQL of one time segment hands to the engine. Neither imports the code under test
 * (only its types), so the comparison in buckets.test.ts can catch the engine being wrong.
 */

export interface RawSample {
  ts: number;
  value: number;
}

/** A series' samples, ascending by ts, no two at the same ts. */
export type RawSeries = readonly RawSample[];

export const ORDERED_FNS = [AggregateFn.COUNT, AggregateFn.SUM, AggregateFn.AVG, AggregateFn.MIN, AggregateFn.MAX, AggregateFn.STDDEV, AggregateFn.LAST, AggregateFn.INCREASE, AggregateFn.RATE] as const;
export type ReferenceFn = (typeof ORDERED_FNS)[number];

/** The start of the epoch-aligned bucket holding `ts`. */
const bucketOf = (ts: number, stepMs: number) => Math.floor(ts / stepMs) * stepMs;

/** A counter's step from prev to cur; a drop is a restart from zero, as in Prometheus. */
const resetAwareStep = (prev: number, cur: number) => (cur >= prev ? cur - prev : cur);

/**
 * The value of `fn` in every non-empty bucket of [from, to] (to inclusive) over a group of series.
 * INCREASE counts each pair of consecutive samples of one series whose later sample is in the
 * bucket; the earlier one may lie in an earlier bucket or before `from`.
 */
export function referenceAggregate(group: readonly RawSeries[], fn: ReferenceFn, stepMs: number, from: number, to: number): Map<number, number> {
  const perBucket = new Map<number, Array<{ ts: number; value: number; increase: number }>>();
  for (const series of group) {
    series.forEach((s, j) => {
      if (s.ts < from || s.ts > to) return;
      const increase = j > 0 ? resetAwareStep(series[j - 1]!.value, s.value) : 0;
      const b = bucketOf(s.ts, stepMs);
      if (!perBucket.has(b)) perBucket.set(b, []);
      perBucket.get(b)!.push({ ts: s.ts, value: s.value, increase });
    });
  }
  const out = new Map<number, number>();
  for (const [b, xs] of perBucket) {
    const values = xs.map((x) => x.value);
    const n = values.length;
    const sum = values.reduce((a, v) => a + v, 0);
    const mean = sum / n;
    const increase = xs.reduce((a, x) => a + x.increase, 0);
    const latest = xs.reduce((a, x) => (x.ts > a.ts ? x : a));
    const value: Record<ReferenceFn, number> = {
      [AggregateFn.COUNT]: n,
      [AggregateFn.SUM]: sum,
      [AggregateFn.AVG]: mean,
      [AggregateFn.MIN]: Math.min(...values),
      [AggregateFn.MAX]: Math.max(...values),
      // population standard deviation, two-pass
      [AggregateFn.STDDEV]: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / n),
      [AggregateFn.LAST]: latest.value,
      [AggregateFn.INCREASE]: increase,
      [AggregateFn.RATE]: increase / (stepMs / 1000),
    };
    out.set(b, value[fn]);
  }
  return out;
}

/** The last sample before `from`, as the seed query finds it. */
export function seedOf(series: RawSeries, from: number): number | undefined {
  let seed: number | undefined;
  for (const s of series) if (s.ts < from) seed = s.value;
  return seed;
}

export type SegmentRow = BucketState & { bucket: number };

/**
 * What the SQL returns for one series and consecutive segments [cuts[i], cuts[i+1]): per segment,
 * per output bucket, the state of the samples in both. `increase` counts the steps between the
 * segment's own consecutive samples (lag() over the segment), so the step into the segment's first
 * sample is missing: the engine adds it.
 */
export function sqlSegmentRows(series: RawSeries, cuts: readonly number[], stepMs: number): SegmentRow[][] {
  const segments: SegmentRow[][] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const inside = series.filter((s) => s.ts >= cuts[i]! && s.ts < cuts[i + 1]!);
    const rows = new Map<number, SegmentRow>();
    inside.forEach((s, j) => {
      const step = j > 0 ? resetAwareStep(inside[j - 1]!.value, s.value) : 0;
      const b = bucketOf(s.ts, stepMs);
      const r = rows.get(b);
      if (!r) {
        rows.set(b, { bucket: b, n: 1, sum: s.value, min: s.value, max: s.value, sumSq: s.value * s.value, firstTs: s.ts, first: s.value, lastTs: s.ts, last: s.value, increase: step });
        return;
      }
      r.n += 1;
      r.sum += s.value;
      r.min = Math.min(r.min, s.value);
      r.max = Math.max(r.max, s.value);
      r.sumSq += s.value * s.value;
      r.lastTs = s.ts; // ascending input: the later sample is the last
      r.last = s.value;
      r.increase += step;
    });
    segments.push([...rows.values()].sort((a, b) => a.bucket - b.bucket));
  }
  return segments;
}
