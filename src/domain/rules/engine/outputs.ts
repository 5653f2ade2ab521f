import { labelKey } from "./labels";
import { type ConditionData, type ConditionSpec, type Labels } from "./types";
import { type WindowSlice, aggregateSlices, sliceWindow } from "./window";

/** One output of a condition: a group and its aggregated value. */
export interface ConditionOutput {
  labels: Labels;
  value: number;
}

export interface ConditionOutputs {
  /** by group key (labelKey of the group labels), in the order of first appearance in the data */
  byKey: Map<string, ConditionOutput>;
  /** whether any series had a sample in the window (always true for ABSENT: it never lacks data) */
  hasData: boolean;
  error: string | null;
}

const EMPTY: Labels = Object.freeze({}) as Labels;

/** The group a series falls in: null = its own label set, [] = one group, [l…] = those labels' values. */
function groupOf(labels: Labels, groupBy: readonly string[] | null): Labels {
  if (groupBy === null) return labels;
  if (groupBy.length === 0) return EMPTY;
  const out: Labels = {};
  // a series without the label groups under its absence, as PromQL's `by`
  for (const l of groupBy) if (Object.hasOwn(labels, l)) out[l] = labels[l]!;
  return out;
}

/** absent(): the selector's equality labels, as Prometheus derives the output of absent(). */
export function absentLabels(cond: ConditionSpec): Labels {
  const out: Labels = {};
  const seen = new Set<string>();
  for (const m of cond.selector.matchers) {
    if (m.label === "__name__") continue;
    if (m.op === "EQ" && !seen.has(m.label)) out[m.label] = m.value;
    else if (m.op === "EQ") delete out[m.label]; // {x="a", x="b"}: Prometheus drops the label
    seen.add(m.label);
  }
  return out;
}

interface Group {
  labels: Labels;
  name: string;
  slices: WindowSlice[];
}

/**
 * Each group's aggregated value over the window (t − windowSeconds, t]. Groups whose series have no
 * sample in the window produce no output. ANOMALY conditions read anomaly scores and take their MAX.
 */
export function conditionOutputs(cond: ConditionSpec, groupBy: readonly string[] | null, data: ConditionData, t: number): ConditionOutputs {
  const windowMs = cond.windowSeconds * 1000;
  const start = t - windowMs;
  const groups = new Map<string, Group>();
  let hasData = false;
  for (const series of data.series) {
    const slice = sliceWindow(series.samples, start, t);
    if (slice.hi === slice.lo) continue;
    hasData = true;
    if (cond.kind === "ABSENT") break;
    const labels = groupOf(series.labels, groupBy);
    const key = labelKey(labels);
    const g = groups.get(key);
    if (!g) groups.set(key, { labels, name: series.name, slices: [slice] });
    else if (groupBy === null && g.name !== series.name) {
      // as PromQL once the metric name is dropped: "vector cannot contain metrics with the same labelset"
      return { byKey: new Map(), hasData, error: `series ${series.name} and ${g.name} have the same label set once the metric name is dropped` };
    } else g.slices.push(slice);
  }
  const byKey = new Map<string, ConditionOutput>();
  if (cond.kind === "ABSENT") {
    if (!hasData) {
      const labels = absentLabels(cond);
      byKey.set(labelKey(labels), { labels, value: 1 });
    }
    return { byKey, hasData: true, error: null };
  }
  const fn = cond.kind === "ANOMALY" ? "MAX" : cond.aggregation;
  for (const [key, g] of groups) byKey.set(key, { labels: g.labels, value: aggregateSlices(fn, g.slices, start, windowMs) });
  return { byKey, hasData, error: null };
}
