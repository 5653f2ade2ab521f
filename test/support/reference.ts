/**
 * A deliberately naive reference for aggregates, written from the documented semantics and not
 * from src/: buckets [k·step, (k+1)·step) clipped to [from, to]; INCREASE adds, for every sample
 * in the bucket, its step from the series' previous sample (a drop is a counter reset: the new
 * value is the increase), looking back at most one day before `from`; RATE = INCREASE per second
 * of the step; percentiles interpolate linearly (PostgreSQL's percentile_cont, Prometheus's
 * quantile_over_time).
 */

export interface RefSeries {
  name: string;
  labels: Record<string, string>;
  samples: Array<[number, number]>;
}

const DAY = 86_400_000;

export function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const rank = q * (v.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return v[lo]! + (v[hi]! - v[lo]!) * (rank - lo);
}

function stat(fn: string, picked: Array<{ ts: number; v: number; inc: number }>, stepMs: number): number | null {
  if (fn === "COUNT") return picked.length;
  if (picked.length === 0) return null;
  const vs = picked.map((p) => p.v);
  const sum = vs.reduce((a, b) => a + b, 0);
  const mean = sum / vs.length;
  switch (fn) {
    case "SUM":
      return sum;
    case "AVG":
      return mean;
    case "MIN":
      return Math.min(...vs);
    case "MAX":
      return Math.max(...vs);
    case "STDDEV":
      return Math.sqrt(vs.reduce((a, b) => a + (b - mean) ** 2, 0) / vs.length);
    case "LAST":
      return picked.reduce((a, b) => (b.ts > a.ts ? b : a)).v;
    case "INCREASE":
      return picked.reduce((a, b) => a + b.inc, 0);
    case "RATE":
      return picked.reduce((a, b) => a + b.inc, 0) / (stepMs / 1000);
    case "P50":
      return percentile(vs, 0.5);
    case "P90":
      return percentile(vs, 0.9);
    case "P95":
      return percentile(vs, 0.95);
    case "P99":
      return percentile(vs, 0.99);
    default:
      throw new Error(`no reference for ${fn}`);
  }
}

/** Group key as the API reports it: all labels with __name__ (null), or only the groupBy labels. */
export function refGroupLabels(s: RefSeries, groupBy: string[] | null): Record<string, string> {
  if (groupBy === null) return { __name__: s.name, ...s.labels };
  const out: Record<string, string> = {};
  for (const l of groupBy) {
    const v = l === "__name__" ? s.name : s.labels[l];
    if (v !== undefined) out[l] = v;
  }
  return out;
}

/** Expected `aggregate` output: groups sorted by their JSON labels, like the API. */
export function referenceAggregate(
  series: RefSeries[],
  opts: { from: number; to: number; stepMs: number; fn: string; groupBy: string[] | null },
): Array<{ labels: Record<string, string>; values: Array<number | null>; starts: number[] }> {
  const { from, to, stepMs, fn, groupBy } = opts;
  const starts: number[] = [];
  for (let t = Math.floor(from / stepMs) * stepMs; t <= to; t += stepMs) starts.push(t);
  const groups = new Map<string, { labels: Record<string, string>; points: Array<{ ts: number; v: number; inc: number }> }>();
  for (const s of series) {
    const sorted = [...s.samples].sort((a, b) => a[0] - b[0]);
    const points: Array<{ ts: number; v: number; inc: number }> = [];
    sorted.forEach(([ts, v], i) => {
      if (ts < from || ts > to) return;
      const prev = i > 0 && sorted[i - 1]![0] >= from - DAY ? sorted[i - 1]![1] : undefined;
      const inc = prev === undefined ? 0 : v >= prev ? v - prev : v;
      points.push({ ts, v, inc });
    });
    if (points.length === 0) continue;
    const labels = refGroupLabels(s, groupBy);
    const key = JSON.stringify(labels);
    const g = groups.get(key) ?? { labels, points: [] };
    g.points.push(...points);
    groups.set(key, g);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, g]) => ({
      labels: g.labels,
      starts,
      values: starts.map((b) => stat(fn, g.points.filter((p) => p.ts >= b && p.ts < b + stepMs), stepMs)),
    }));
}
