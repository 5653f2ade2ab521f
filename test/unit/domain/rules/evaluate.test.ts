import { type AlertStateRecord, type ConditionData, type RuleSpec, evaluate, fingerprint } from "../../../../src/domain/rules/engine";
import { MIN, cond, makeRule } from "./rule-fixtures";

const T = 1_700_000_040_000;

function series(labels: Record<string, string>, values: number[], opts: { name?: string; every?: number; end?: number } = {}): ConditionData["series"][number] {
  const every = opts.every ?? MIN;
  const end = opts.end ?? T;
  return { name: opts.name ?? "cpu", labels, type: "GAUGE", samples: values.map((v, i) => ({ t: end - (values.length - 1 - i) * every, v })) };
}

function run(rule: RuleSpec, steps: Array<ConditionData[]>, start = T): { states: AlertStateRecord[]; log: string[] } {
  let states: AlertStateRecord[] = [];
  const log: string[] = [];
  steps.forEach((data, i) => {
    const r = evaluate(rule, data, states, start + i * MIN);
    if (r.error) throw new Error(r.error);
    for (const tr of r.transitions) log.push(`${i}:${tr.from ?? "null"}→${tr.to}:${tr.value}`);
    states = r.states;
  });
  return { states, log };
}

const one = (v: number, t = T): ConditionData[] => [{ series: [series({ host: "a" }, [v], { end: t })] }];

describe("evaluate", () => {
  it("aggregates over (t − window, t]: a sample exactly at the window start is out", () => {
    const rule = makeRule({ conditions: [cond({ aggregation: "COUNT", threshold: 0, windowSeconds: 300 })] });
    const r = evaluate(rule, [{ series: [series({}, [1, 1, 1, 1, 1, 1])] }], [], T);
    expect(r.states[0]!.value).toBe(5);
  });

  it.each([
    ["AVG", 2.5],
    ["MIN", 1],
    ["MAX", 4],
    ["SUM", 10],
    ["COUNT", 4],
    ["LAST", 3], // the group's latest sample: a's at T, not b's at T − 1 s
    ["P50", 2.5],
    ["P90", 3.7],
  ] as const)("%s pools the samples of a group", (aggregation, want) => {
    const rule = makeRule({ groupBy: [], conditions: [cond({ aggregation, threshold: -1 })] });
    const r = evaluate(rule, [{ series: [series({ host: "a" }, [1, 3]), series({ host: "b" }, [2, 4], { end: T - 1000 })] }], [], T);
    expect(r.states).toHaveLength(1);
    expect(r.states[0]!.value).toBeCloseTo(want, 10);
    expect(r.states[0]!.labels).toEqual({ alertname: "HighCpu", severity: "critical" });
  });

  it("RATE counts the step in from the sample before the window, is reset-aware, and sums a group's series", () => {
    const rule = makeRule({ groupBy: [], conditions: [cond({ aggregation: "RATE", windowSeconds: 120, threshold: 0 })] });
    // window (T−2m, T]: samples at T−1m, T, plus T−2m before it; series b restarts
    const a = series({ s: "a" }, [0, 60, 120, 180]);
    const b = series({ s: "b" }, [100, 160, 10]);
    const r = evaluate(rule, [{ series: [a, b] }], [], T);
    expect(r.states[0]!.value).toBeCloseTo((120 + 70) / 120, 10);
    const inc = evaluate(makeRule({ conditions: [cond({ aggregation: "INCREASE", windowSeconds: 120, threshold: 0 })] }), [{ series: [b] }], [], T);
    expect(inc.states[0]!.value).toBe(70);
  });

  it("for: PENDING, then FIRING at the first t with t − activeAt ≥ for; for 0 fires at once", () => {
    expect(run(makeRule({ forSeconds: 120 }), [one(95), one(95, T + MIN), one(95, T + 2 * MIN)]).log).toEqual(["0:null→PENDING:95", "2:PENDING→FIRING:95"]);
    expect(run(makeRule(), [one(95)]).log).toEqual(["0:null→FIRING:95"]);
  });

  it("a PENDING alert that turns false is dropped as PENDING → RESOLVED with the current value", () => {
    const r = run(makeRule({ forSeconds: 300 }), [one(95), one(50, T + MIN)]);
    expect(r.log).toEqual(["0:null→PENDING:95", "1:PENDING→RESOLVED:50"]);
    expect(r.states).toEqual([]);
  });

  it("a FIRING alert whose series left the window resolves with value null", () => {
    const r = run(makeRule(), [one(95), [{ series: [] }], [{ series: [] }]]);
    expect(r.log).toEqual(["0:null→FIRING:95", "1:FIRING→RESOLVED:null"]);
  });

  it("keepFiringFor records keepFiringSince, clears it when true again, and resolves after it", () => {
    const rule = makeRule({ keepFiringForSeconds: 120 });
    const r = run(rule, [one(95), one(50, T + MIN), one(95, T + 2 * MIN), one(50, T + 3 * MIN), one(50, T + 4 * MIN), one(50, T + 5 * MIN)]);
    expect(r.log).toEqual(["0:null→FIRING:95", "5:FIRING→RESOLVED:50"]);
    const kept = evaluate(rule, one(50, T + MIN), evaluate(rule, one(95), [], T).states, T + MIN);
    expect(kept.states[0]!.keepFiringSince).toBe(T + MIN);
    expect(kept.refreshed).toHaveLength(1);
  });

  it("hysteresis with GT: keeps firing above the recovery level, resolves at it", () => {
    const rule = makeRule({ conditions: [cond({ aggregation: "LAST", recoveryThreshold: 80 })] });
    expect(run(rule, [one(95), one(81, T + MIN), one(80, T + 2 * MIN)]).log).toEqual(["0:null→FIRING:95", "2:FIRING→RESOLVED:80"]);
    // not firing yet: the recovery level does not make 85 true
    expect(run(rule, [one(85)]).log).toEqual([]);
  });

  it("hysteresis with LT: keeps firing below the recovery level, resolves at it", () => {
    const rule = makeRule({ conditions: [cond({ aggregation: "LAST", operator: "LT", threshold: 10, recoveryThreshold: 20 })] });
    expect(run(rule, [one(5), one(19, T + MIN), one(20, T + 2 * MIN)]).log).toEqual(["0:null→FIRING:5", "2:FIRING→RESOLVED:20"]);
  });

  it("noData OK resolves, ALERTING raises one vigil_nodata alert, KEEP_LAST_STATE holds every state", () => {
    const none: ConditionData[] = [{ series: [series({ host: "a" }, [95], { end: T - 10 * MIN })] }];
    expect(run(makeRule({ noData: "OK" }), [one(95), none]).log).toEqual(["0:null→FIRING:95", "1:FIRING→RESOLVED:null"]);
    const alerting = run(makeRule({ noData: "ALERTING" }), [one(95), none]);
    expect(alerting.log).toEqual(["0:null→FIRING:95", "1:null→FIRING:null", "1:FIRING→RESOLVED:null"]);
    expect(alerting.states[0]!.labels).toEqual({ alertname: "HighCpu", severity: "critical", vigil_nodata: "true" });
    const pending = evaluate(makeRule({ forSeconds: 600, noData: "KEEP_LAST_STATE" }), one(95), [], T);
    const held = evaluate(makeRule({ forSeconds: 600, noData: "KEEP_LAST_STATE" }), none, pending.states, T + 20 * MIN);
    expect(held.states).toEqual(pending.states);
    expect(held.transitions).toEqual([]);
  });

  it("noData: with ANY only when every condition lacks data; ABSENT conditions never lack data", () => {
    const rule = makeRule({ combine: "ANY", noData: "ALERTING", conditions: [cond(), cond({ selector: { name: "mem", matchers: [] } })] });
    const r = evaluate(rule, [{ series: [] }, { series: [series({ host: "a" }, [50], { name: "mem" })] }], [], T);
    expect(r.states).toEqual([]);
    const absent = makeRule({ noData: "ALERTING", conditions: [cond({ kind: "ABSENT", threshold: null, selector: { name: "up", matchers: [{ label: "job", op: "EQ", value: "x" }] } })] });
    expect(evaluate(absent, [{ series: [] }], [], T).states[0]!.labels).toEqual({ alertname: "HighCpu", severity: "critical", job: "x" });
  });

  it("two outputs with the same label set are an error naming the labels; states are unchanged", () => {
    const rule = makeRule({ labels: { host: "all" } });
    const prev = evaluate(makeRule({ labels: { host: "all" } }), [{ series: [series({ host: "a" }, [95])] }], [], T).states;
    const r = evaluate(rule, [{ series: [series({ host: "a" }, [95]), series({ host: "b" }, [95])] }], prev, T + MIN);
    expect(r.error).toMatch(/same label set \{alertname="HighCpu", host="all", severity="critical"\}/);
    expect(r.states).toEqual(prev);
    expect(r.transitions).toEqual([]);
  });

  it("fingerprints are stable, label-order independent and scoped by tenant and rule", () => {
    const fp = fingerprint("t1", "r1", { b: "2", a: "1" });
    expect(fp).toBe(fingerprint("t1", "r1", { a: "1", b: "2" }));
    expect(fp).toMatch(/^[0-9a-f]{32}$/);
    // stored fingerprints must survive releases: this value is pinned
    expect(fp).toBe("2bd3fa48efafef1c0a55eba04cfc9d66");
    expect(fingerprint("t2", "r1", { a: "1", b: "2" })).not.toBe(fp);
    expect(fingerprint("t1", "r2", { a: "1", b: "2" })).not.toBe(fp);
  });

  it("refresh keeps labels and activeAt, updates value and annotations, and is reported only on change", () => {
    const rule = makeRule({ forSeconds: 600, annotations: { s: "{{ $value }}" } });
    const a = evaluate(rule, one(95), [], T);
    const b = evaluate(rule, one(97, T + MIN), a.states, T + MIN);
    expect(b.states[0]).toMatchObject({ activeAt: T, value: 97, annotations: { s: "97" }, state: "PENDING" });
    expect(b.refreshed).toHaveLength(1);
    const c = evaluate(rule, one(97, T + 2 * MIN), b.states, T + 2 * MIN);
    expect(c.refreshed).toHaveLength(0);
  });

  it("resolved transitions carry annotations rendered with the value at resolution", () => {
    const rule = makeRule({ annotations: { s: "cpu {{ $value }}" } });
    const a = evaluate(rule, one(95), [], T);
    const b = evaluate(rule, one(42, T + MIN), a.states, T + MIN);
    expect(b.transitions[0]).toMatchObject({ to: "RESOLVED", value: 42, annotations: { s: "cpu 42" } });
  });

  it("ANOMALY takes the max score in the window whatever the aggregation", () => {
    const rule = makeRule({ conditions: [cond({ kind: "ANOMALY", aggregation: "MIN", threshold: 0.8, selector: { name: "cpu", matchers: [] } })] });
    expect(evaluate(rule, [{ series: [series({ host: "a" }, [0.1, 0.9, 0.2])] }], [], T).states[0]!.value).toBe(0.9);
  });
});
