/**
 * Prometheus rule semantics as scenarios in the style of `promtool test rules`: input series in
 * promtool's notation (one sample a minute from 0), a Vigil rule, evaluation times and the alerts
 * expected there. Vigil's engine replays each scenario, evaluating every minute from 0 and feeding
 * the states forward. Scenarios with a PromQL equivalent also run through promtool 2.42, which must
 * agree (promtool's exp_alerts lists FIRING alerts only, so PENDING expectations are Vigil's alone).
 *
 * Windows are 4m30s where promtool compares: Prometheus 2.42 includes the window start
 * [t − w, t], Vigil does not (t − w, t], and minute samples never sit on a 4m30s window start.
 */
import { type AlertStateRecord, type Labels, type RuleSpec, evaluate } from "../../../../src/domain/rules/engine";
import { type PromAlertingRule, type PromTestCase, runPromtool } from "../../../support/promtool";
import { expandNotation, notationSamples } from "../../../support/series-notation";
import { MIN, cond, dataFor, makeRule, seriesOf } from "./rule-fixtures";

interface Expected {
  labels: Labels;
  state: "PENDING" | "FIRING";
  annotations?: Labels;
}

interface Scenario {
  name: string;
  series: Record<string, string>;
  rule: RuleSpec;
  /** the PromQL rule that means the same (its alert name and labels come from `rule`) */
  prom?: Omit<PromAlertingRule, "alert" | "labels">;
  /** minute → the active alerts then (labels without alertname and severity) */
  evals: Record<number, Expected[]>;
  /** Vigil only: the transitions of the whole run, as "5m null→PENDING {host=a}" */
  transitions?: string[];
  /** minute after whose evaluation the states go through JSON, as a store and a restart would */
  restartAfter?: number;
}

const ms = (minutes: number): string => `${minutes}m`;

function runVigil(s: Scenario): { at: Map<number, AlertStateRecord[]>; transitions: string[] } {
  const data = dataFor(s.rule, seriesOf(s.series));
  const last = Math.max(...Object.keys(s.evals).map(Number));
  const at = new Map<number, AlertStateRecord[]>();
  const transitions: string[] = [];
  let states: AlertStateRecord[] = [];
  for (let m = 0; m <= last; m++) {
    const r = evaluate(s.rule, data, states, m * MIN);
    if (r.error) throw new Error(`${ms(m)}: ${r.error}`);
    states = r.states;
    for (const tr of r.transitions) {
      const { alertname: _a, severity: _s, ...own } = tr.labels;
      transitions.push(`${ms(m)} ${tr.from ?? "null"}→${tr.to} {${Object.entries(own).map(([k, v]) => `${k}=${v}`).join(",")}}`);
    }
    if (m === s.restartAfter) states = JSON.parse(JSON.stringify(states)) as AlertStateRecord[];
    at.set(m, states);
  }
  return { at, transitions };
}

function fullLabels(rule: RuleSpec, labels: Labels): Labels {
  return { ...labels, alertname: rule.name, severity: rule.severity.toLowerCase() };
}

const sortKey = (l: Labels): string => JSON.stringify(Object.entries(l).sort());

function promCase(s: Scenario): { rules: PromAlertingRule[]; tests: PromTestCase[] } {
  const ruleLabels = { severity: s.rule.severity.toLowerCase(), ...s.rule.labels };
  const rule: PromAlertingRule = { alert: s.rule.name, labels: ruleLabels, ...s.prom! };
  // promtool compares annotations whenever the rule has any, so they go in only when every firing
  // expectation states them
  const firing = Object.values(s.evals).flatMap((alerts) => alerts.filter((a) => a.state === "FIRING"));
  if (Object.keys(s.rule.annotations).length && firing.every((a) => a.annotations)) rule.annotations = s.rule.annotations;
  const tests: PromTestCase[] = [
    {
      interval: "1m",
      input_series: Object.entries(s.series).map(([series, values]) => ({ series, values })),
      alert_rule_test: Object.entries(s.evals).map(([m, alerts]) => ({
        eval_time: ms(Number(m)),
        alertname: s.rule.name,
        exp_alerts: alerts
          .filter((a) => a.state === "FIRING")
          .map((a) => ({ exp_labels: { ...a.labels, severity: ruleLabels.severity }, ...(rule.annotations ? { exp_annotations: a.annotations } : {}) })),
      })),
    },
  ];
  return { rules: [rule], tests };
}

const cpuFor3m = makeRule({ conditions: [cond({ aggregation: "LAST" })], forSeconds: 180, annotations: { summary: "cpu {{ $value }} on {{ $labels.host }}" } });

const scenarios: Scenario[] = [
  {
    name: "for: pending, then firing once t − activeAt ≥ for",
    series: { 'cpu{host="a"}': "50 50 95x10" },
    rule: cpuFor3m,
    prom: { expr: "cpu > 90", for: "3m" },
    evals: {
      1: [],
      2: [{ labels: { host: "a" }, state: "PENDING" }],
      4: [{ labels: { host: "a" }, state: "PENDING" }],
      5: [{ labels: { host: "a" }, state: "FIRING", annotations: { summary: "cpu 95 on a" } }],
      12: [{ labels: { host: "a" }, state: "FIRING", annotations: { summary: "cpu 95 on a" } }],
    },
    transitions: ["2m null→PENDING {host=a}", "5m PENDING→FIRING {host=a}"],
  },
  {
    name: "restart in the middle of for: fires at the same time",
    series: { 'cpu{host="a"}': "50 50 95x10" },
    rule: cpuFor3m,
    prom: { expr: "cpu > 90", for: "3m" },
    restartAfter: 3,
    evals: { 3: [{ labels: { host: "a" }, state: "PENDING" }], 4: [{ labels: { host: "a" }, state: "PENDING" }], 5: [{ labels: { host: "a" }, state: "FIRING" }] },
    transitions: ["2m null→PENDING {host=a}", "5m PENDING→FIRING {host=a}"],
  },
  {
    name: "a pending alert that turns false is dropped, and starts over",
    series: { 'cpu{host="a"}': "0 95 95 50 95 95 95 95" },
    rule: cpuFor3m,
    prom: { expr: "cpu > 90", for: "3m" },
    evals: { 2: [{ labels: { host: "a" }, state: "PENDING" }], 3: [], 6: [{ labels: { host: "a" }, state: "PENDING" }], 7: [{ labels: { host: "a" }, state: "FIRING" }] },
    transitions: ["1m null→PENDING {host=a}", "3m PENDING→RESOLVED {host=a}", "4m null→PENDING {host=a}", "7m PENDING→FIRING {host=a}"],
  },
  {
    name: "keep_firing_for: firing 3m past the last true evaluation (RULE-SEMANTICS.md example)",
    series: { 'cpu{host="a"}': "0x4 95x9 0x10" },
    rule: makeRule({ conditions: [cond({ aggregation: "LAST" })], forSeconds: 300, keepFiringForSeconds: 180 }),
    prom: { expr: "cpu > 90", for: "5m", keep_firing_for: "3m" },
    evals: {
      5: [{ labels: { host: "a" }, state: "PENDING" }],
      10: [{ labels: { host: "a" }, state: "FIRING" }],
      15: [{ labels: { host: "a" }, state: "FIRING" }],
      17: [{ labels: { host: "a" }, state: "FIRING" }],
      18: [],
    },
    transitions: ["5m null→PENDING {host=a}", "10m PENDING→FIRING {host=a}", "18m FIRING→RESOLVED {host=a}"],
  },
  {
    name: "AVG over a window",
    series: { 'cpu{host="a"}': "80 80 80 100 100 100 100 100 80 80 80 80" },
    rule: makeRule({ conditions: [cond({ windowSeconds: 270 })], annotations: { value: "{{ humanize $value }}" } }),
    prom: { expr: "avg_over_time(cpu[4m30s]) > 90" },
    evals: {
      4: [],
      5: [{ labels: { host: "a" }, state: "FIRING", annotations: { value: "92" } }],
      7: [{ labels: { host: "a" }, state: "FIRING", annotations: { value: "100" } }],
      9: [{ labels: { host: "a" }, state: "FIRING", annotations: { value: "92" } }],
      10: [],
    },
  },
  {
    name: "one alert per series; rule labels override series labels",
    series: { 'cpu{host="a",team="dev"}': "95x5", 'cpu{host="b",team="dev"}': "50x5", 'cpu{host="c"}': "50 50 99x3" },
    rule: makeRule({ conditions: [cond({ aggregation: "LAST" })], labels: { team: "ops" }, annotations: { s: "{{ $labels.host }}={{ $value }}" } }),
    prom: { expr: "cpu > 90" },
    evals: {
      1: [{ labels: { host: "a", team: "ops" }, state: "FIRING", annotations: { s: "a=95" } }],
      3: [
        { labels: { host: "a", team: "ops" }, state: "FIRING", annotations: { s: "a=95" } },
        { labels: { host: "c", team: "ops" }, state: "FIRING", annotations: { s: "c=99" } },
      ],
    },
  },
  {
    name: "groupBy: one alert per region; a series without the label groups under its absence",
    series: { 'cpu{host="a",region="eu"}': "50x6", 'cpu{host="b",region="eu"}': "50 50 50 95 50 50 50", 'cpu{host="c",region="us"}': "50x6", 'cpu{host="d"}': "95 50x5" },
    rule: makeRule({ conditions: [cond({ aggregation: "MAX", windowSeconds: 270 })], groupBy: ["region"], annotations: { v: "{{ $value }}" } }),
    prom: { expr: "max by (region) (max_over_time(cpu[4m30s])) > 90" },
    evals: {
      2: [{ labels: {}, state: "FIRING", annotations: { v: "95" } }],
      4: [
        { labels: {}, state: "FIRING", annotations: { v: "95" } },
        { labels: { region: "eu" }, state: "FIRING", annotations: { v: "95" } },
      ],
      5: [{ labels: { region: "eu" }, state: "FIRING", annotations: { v: "95" } }],
      8: [],
    },
  },
  {
    name: "ABSENT: one alert with the selector's equality labels once nothing is in the window",
    series: { 'up{job="api",instance="i1"}': "1x5", 'up{job="db"}': "1x12" },
    rule: makeRule({
      name: "ApiDown",
      conditions: [cond({ kind: "ABSENT", selector: { name: "up", matchers: [{ label: "job", op: "EQ", value: "api" }] }, windowSeconds: 270, threshold: null })],
    }),
    prom: { expr: 'absent_over_time(up{job="api"}[4m30s])' },
    evals: { 5: [], 9: [], 10: [{ labels: { job: "api" }, state: "FIRING" }], 12: [{ labels: { job: "api" }, state: "FIRING" }] },
  },
  {
    name: "counter RATE across a reset: one alert from 3m, kept through the reset, resolved when flat",
    series: { 'requests_total{job="api"}': "0+60x5 0+60x5 360x8" },
    rule: makeRule({ name: "HighTraffic", conditions: [cond({ selector: { name: "requests_total", matchers: [] }, aggregation: "RATE", windowSeconds: 270, threshold: 0.5 })] }),
    prom: { expr: "rate(requests_total[4m30s]) > 0.5" },
    evals: { 2: [], 3: [{ labels: { job: "api" }, state: "FIRING" }], 6: [{ labels: { job: "api" }, state: "FIRING" }], 8: [{ labels: { job: "api" }, state: "FIRING" }], 16: [] },
    transitions: ["3m null→FIRING {job=api}", "15m FIRING→RESOLVED {job=api}"],
  },
  {
    name: "two conditions, ALL: both must hold for the same label set; the value is the first's",
    series: { 'cpu{host="a"}': "95x5", 'mem{host="a"}': "85x5", 'cpu{host="b"}': "95x5", 'mem{host="b"}': "50x5", 'cpu{host="c"}': "50x5", 'mem{host="c"}': "85x5" },
    rule: makeRule({
      conditions: [cond({ windowSeconds: 270 }), cond({ selector: { name: "mem", matchers: [] }, windowSeconds: 270, threshold: 80 })],
      annotations: { v: "{{ $value }}" },
    }),
    prom: { expr: "avg_over_time(cpu[4m30s]) > 90 and avg_over_time(mem[4m30s]) > 80" },
    evals: { 3: [{ labels: { host: "a" }, state: "FIRING", annotations: { v: "95" } }] },
  },
  {
    name: "two conditions, ANY: either holds; the value is the first true condition's",
    series: { 'cpu{host="a"}': "95x5", 'mem{host="a"}': "85x5", 'cpu{host="b"}': "95x5", 'mem{host="b"}': "50x5", 'cpu{host="c"}': "50x5", 'mem{host="c"}': "85x5", 'cpu{host="d"}': "50x5" },
    rule: makeRule({
      combine: "ANY",
      conditions: [cond({ windowSeconds: 270 }), cond({ selector: { name: "mem", matchers: [] }, windowSeconds: 270, threshold: 80 })],
      annotations: { v: "{{ $value }}" },
    }),
    prom: { expr: "avg_over_time(cpu[4m30s]) > 90 or avg_over_time(mem[4m30s]) > 80" },
    evals: {
      3: [
        { labels: { host: "a" }, state: "FIRING", annotations: { v: "95" } },
        { labels: { host: "b" }, state: "FIRING", annotations: { v: "95" } },
        { labels: { host: "c" }, state: "FIRING", annotations: { v: "85" } },
      ],
    },
  },
  {
    name: "hysteresis (Vigil only): GT 90 recovery 80 keeps firing at 85, resolves at 75, fires anew at 95",
    series: { 'cpu{host="a"}': "95 95 85 85 75 95" },
    rule: makeRule({ conditions: [cond({ aggregation: "LAST", recoveryThreshold: 80 })] }),
    evals: { 0: [{ labels: { host: "a" }, state: "FIRING" }], 3: [{ labels: { host: "a" }, state: "FIRING" }], 4: [], 5: [{ labels: { host: "a" }, state: "FIRING" }] },
    transitions: ["0m null→FIRING {host=a}", "4m FIRING→RESOLVED {host=a}", "5m null→FIRING {host=a}"],
  },
  {
    name: "noData OK: a series that stops reporting resolves once its last sample leaves the window",
    series: { 'cpu{host="a"}': "95x3" },
    rule: makeRule({ conditions: [cond({ aggregation: "LAST", windowSeconds: 270 })] }),
    prom: { expr: "last_over_time(cpu[4m30s]) > 90" },
    evals: { 3: [{ labels: { host: "a" }, state: "FIRING" }], 7: [{ labels: { host: "a" }, state: "FIRING" }], 8: [], 10: [] },
    transitions: ["0m null→FIRING {host=a}", "8m FIRING→RESOLVED {host=a}"],
  },
  {
    name: "noData ALERTING (Vigil only): one no-data alert for the rule, through pending and for",
    series: { 'cpu{host="a"}': "95x3" },
    rule: makeRule({ conditions: [cond({ aggregation: "LAST", windowSeconds: 270 })], noData: "ALERTING", forSeconds: 120 }),
    evals: {
      7: [{ labels: { host: "a" }, state: "FIRING" }],
      8: [{ labels: { vigil_nodata: "true" }, state: "PENDING", annotations: undefined }],
      10: [{ labels: { vigil_nodata: "true" }, state: "FIRING" }],
    },
    transitions: ["0m null→PENDING {host=a}", "2m PENDING→FIRING {host=a}", "8m null→PENDING {vigil_nodata=true}", "8m FIRING→RESOLVED {host=a}", "10m PENDING→FIRING {vigil_nodata=true}"],
  },
  {
    name: "noData KEEP_LAST_STATE (Vigil only): alerts hold through the gap, then evaluate as usual",
    series: { 'cpu{host="a"}': "95x3 _x10 50" },
    rule: makeRule({ conditions: [cond({ aggregation: "LAST", windowSeconds: 270 })], noData: "KEEP_LAST_STATE" }),
    evals: { 8: [{ labels: { host: "a" }, state: "FIRING" }], 13: [{ labels: { host: "a" }, state: "FIRING" }], 14: [] },
    transitions: ["0m null→FIRING {host=a}", "14m FIRING→RESOLVED {host=a}"],
  },
];

describe("Prometheus rule semantics (promtool-style scenarios)", () => {
  it("has the scenarios the issue lists", () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(12);
  });

  describe.each(scenarios.map((s) => [s.name, s] as const))("%s", (_name, s) => {
    const run = runVigil(s);

    it.each(Object.entries(s.evals).map(([m, alerts]) => [Number(m), alerts] as const))("Vigil at %im", (m, alerts) => {
      const bySortKey = <T extends { labels: Labels }>(xs: T[]): T[] => xs.sort((a, b) => sortKey(a.labels).localeCompare(sortKey(b.labels)));
      const want = bySortKey(alerts.map((a) => ({ labels: fullLabels(s.rule, a.labels), state: a.state, annotations: a.annotations })));
      const got = bySortKey(run.at.get(m)!.map((a) => ({ labels: a.labels, state: a.state, annotations: a.annotations as Labels | undefined })));
      // annotations are compared where the scenario states them
      expect(got.map((g, i) => ({ ...g, annotations: want[i]?.annotations === undefined ? undefined : g.annotations }))).toEqual(want);
    });

    if (s.transitions) {
      it("Vigil's transitions", () => {
        expect(run.transitions).toEqual(s.transitions);
      });
    }

    if (s.prom) {
      it("promtool 2.42 agrees", () => {
        const { rules, tests } = promCase(s);
        const result = runPromtool(rules, tests);
        if (result.status !== 0) throw new Error(`promtool test rules failed (exit ${result.status}):\n${result.output}\nrules: ${JSON.stringify(rules)}`);
        expect(result.output).toContain("SUCCESS");
      });
    }
  });
});

describe("promtool series notation", () => {
  it.each([
    ["1+2x5", [1, 3, 5, 7, 9, 11]],
    ["1-1x3", [1, 0, -1, -2]],
    ["5x2", [5, 5, 5]],
    ["0+10x2 0+10x2", [0, 10, 20, 0, 10, 20]],
    ["1 _ 3 _x2 stale", [1, "missing", 3, "missing", "missing", "stale"]],
    ["-1+0.5x2 Inf", [-1, -0.5, 0, Infinity]],
  ])("%s", (text, want) => {
    expect(expandNotation(text)).toEqual(want);
  });

  it("places samples at the interval and drops gaps and staleness markers", () => {
    expect(notationSamples("1 _ 3 stale 5", 30_000)).toEqual([
      { t: 0, v: 1 },
      { t: 60_000, v: 3 },
      { t: 120_000, v: 5 },
    ]);
    expect(() => expandNotation("1+2")).toThrow(/repeat count/);
    expect(() => expandNotation("abc")).toThrow(/cannot read "abc"/);
  });
});
