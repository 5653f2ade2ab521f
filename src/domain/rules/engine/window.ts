import { counterStep } from "../../metrics/buckets";
import { type Aggregation } from "./types";

export interface Sample {
  t: number;
  v: number;
}

/**
 * How far before a window RATE and INCREASE accept the sample their first step starts from: the
 * same bound as the metrics `aggregate` query (COUNTER_LOOKBACK_MS in metrics/query.service.ts),
 * so a rule and a query over the same data agree.
 */
export const RATE_LOOKBACK_MS = 86_400_000;

/** The index of the first sample with t > bound (samples ascending by t): binary search. */
export function firstAfter(samples: ReadonlyArray<Sample>, bound: number): number {
  let lo = 0;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (samples[mid]!.t > bound) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** One series' part of a window: samples[lo, hi) lie in (start, t]. */
export interface WindowSlice {
  samples: ReadonlyArray<Sample>;
  lo: number;
  hi: number;
}

/** The slice of `samples` in (start, end]; empty when lo === hi. */
export function sliceWindow(samples: ReadonlyArray<Sample>, start: number, end: number): WindowSlice {
  // fast path for the common live case: the data already holds exactly the window
  const n = samples.length;
  if (n > 0 && samples[0]!.t > start && samples[n - 1]!.t <= end) return { samples, lo: 0, hi: n };
  return { samples, lo: firstAfter(samples, start), hi: firstAfter(samples, end) };
}

const PERCENTILE: Partial<Record<Aggregation, number>> = { P50: 0.5, P90: 0.9, P95: 0.95, P99: 0.99 };

/** Linear interpolation between the closest ranks, as PostgreSQL's percentile_cont. */
export function percentileCont(sorted: readonly number[], p: number): number {
  const pos = p * (sorted.length - 1);
  const i = Math.floor(pos);
  const frac = pos - i;
  const a = sorted[i]!;
  return frac === 0 ? a : a + frac * (sorted[i + 1]! - a);
}

/** The reset-aware increase of one series over its slice, counting the step in from the sample before. */
function increaseOf(m: WindowSlice, start: number): number {
  const s = m.samples;
  let inc = 0;
  const stepIn = m.lo > 0 && s[m.lo - 1]!.t >= start - RATE_LOOKBACK_MS;
  for (let i = stepIn ? m.lo : m.lo + 1; i < m.hi; i++) inc += counterStep(s[i]!.v, s[i - 1]!.v);
  return inc;
}

/**
 * The aggregation over a group's non-empty slices, pooling the samples of all its series: AVG, MIN,
 * MAX, SUM, COUNT and percentiles over every sample; LAST the latest sample of the group; RATE and
 * INCREASE the sum of each series' reset-aware increase (RATE divided by the window, no
 * extrapolation). `start` is the window's exclusive start, `windowMs` its length.
 */
export function aggregateSlices(fn: Aggregation, slices: readonly WindowSlice[], start: number, windowMs: number): number {
  switch (fn) {
    case "COUNT": {
      let n = 0;
      for (const m of slices) n += m.hi - m.lo;
      return n;
    }
    case "SUM":
    case "AVG": {
      let sum = 0;
      let n = 0;
      for (const m of slices) {
        for (let i = m.lo; i < m.hi; i++) sum += m.samples[i]!.v;
        n += m.hi - m.lo;
      }
      return fn === "SUM" ? sum : sum / n;
    }
    case "MIN":
    case "MAX": {
      let best = fn === "MIN" ? Infinity : -Infinity;
      for (const m of slices) {
        for (let i = m.lo; i < m.hi; i++) {
          const v = m.samples[i]!.v;
          if (fn === "MIN" ? v < best : v > best) best = v;
        }
      }
      return best;
    }
    case "LAST": {
      // the group's latest sample; on equal times the first series (in data order) wins
      let bestT = -Infinity;
      let best = NaN;
      for (const m of slices) {
        const s = m.samples[m.hi - 1]!;
        if (s.t > bestT) {
          bestT = s.t;
          best = s.v;
        }
      }
      return best;
    }
    case "RATE":
    case "INCREASE": {
      let inc = 0;
      for (const m of slices) inc += increaseOf(m, start);
      return fn === "RATE" ? inc / (windowMs / 1000) : inc;
    }
    case "P50":
    case "P90":
    case "P95":
    case "P99": {
      const values: number[] = [];
      for (const m of slices) for (let i = m.lo; i < m.hi; i++) values.push(m.samples[i]!.v);
      values.sort((a, b) => a - b);
      return percentileCont(values, PERCENTILE[fn]!);
    }
  }
}
