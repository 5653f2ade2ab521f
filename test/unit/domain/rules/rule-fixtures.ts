import { type ConditionData, type ConditionSpec, type Labels, type RuleSpec, type SeriesData } from "../../../../src/domain/rules/engine";
import { notationSamples } from "../../../support/series-notation";

export const MIN = 60_000;

/** A THRESHOLD condition on `name`: AVG over 300 s, GT 90, unless overridden. */
export function cond(overrides: Partial<ConditionSpec> = {}): ConditionSpec {
  return {
    kind: "THRESHOLD",
    selector: { name: "cpu", matchers: [] },
    aggregation: "AVG",
    windowSeconds: 300,
    operator: "GT",
    threshold: 90,
    recoveryThreshold: null,
    ...overrides,
  };
}

export function makeRule(overrides: Partial<RuleSpec> = {}): RuleSpec {
  return {
    id: "rule-1",
    tenantId: "tenant-1",
    name: "HighCpu",
    severity: "CRITICAL",
    conditions: [cond()],
    combine: "ALL",
    groupBy: null,
    forSeconds: 0,
    keepFiringForSeconds: 0,
    intervalSeconds: 60,
    noData: "OK",
    labels: {},
    annotations: {},
    ...overrides,
  };
}

/** `cpu{host="a",job="x"}` → name and labels. */
export function parseSeries(text: string): { name: string; labels: Labels } {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$/.exec(text.trim());
  if (!m) throw new Error(`bad series ${text}`);
  const labels: Labels = {};
  for (const pair of (m[2] ?? "").split(",").filter((p) => p.trim())) {
    const [k, v] = pair.split("=");
    labels[k!.trim()] = JSON.parse(v!.trim()) as string;
  }
  return { name: m[1]!, labels };
}

/** Series in promtool notation, sampled every `intervalMs` from 0. */
export function seriesOf(spec: Record<string, string>, intervalMs = MIN): SeriesData[] {
  return Object.entries(spec).map(([s, values]) => ({ ...parseSeries(s), type: "GAUGE" as const, samples: notationSamples(values, intervalMs) }));
}

/** What each condition's selector matches (EQ, NEQ and anchored REGEX matchers). */
export function dataFor(rule: RuleSpec, series: readonly SeriesData[]): ConditionData[] {
  return rule.conditions.map((c) => ({
    series: series.filter(
      (s) =>
        s.name === c.selector.name &&
        c.selector.matchers.every((m) => {
          const v = s.labels[m.label] ?? "";
          if (m.op === "EQ") return v === m.value;
          if (m.op === "NEQ") return v !== m.value;
          const hit = new RegExp(`^(?:${m.value})$`).test(v);
          return m.op === "REGEX" ? hit : !hit;
        }),
    ),
  }));
}
