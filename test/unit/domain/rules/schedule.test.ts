import { backtestOver, evaluate, evaluationTimes, nextEvaluationAt, ruleOffsetMs, type AlertStateRecord } from "../../../../src/domain/rules/engine";
import { MIN, cond, dataFor, makeRule, seriesOf } from "./rule-fixtures";

describe("scheduling", () => {
  it("gives each rule a stable offset inside its interval", () => {
    const offsets = Array.from({ length: 1000 }, (_, i) => ruleOffsetMs(`rule-${i}`, 60));
    expect(offsets.every((o) => Number.isInteger(o) && o >= 0 && o < 60_000)).toBe(true);
    expect(ruleOffsetMs("rule-7", 60)).toBe(ruleOffsetMs("rule-7", 60));
    // spread: no 6-second slice of the minute holds more than a fifth of the rules
    const slices = new Array(10).fill(0);
    for (const o of offsets) slices[Math.floor(o / 6000)]++;
    expect(Math.max(...slices)).toBeLessThan(200);
  });

  it("nextEvaluationAt is strictly after `after`, interval-aligned plus the offset", () => {
    const off = ruleOffsetMs("r", 60);
    const base = 1_700_000_000_000 - (1_700_000_000_000 % 60_000);
    const t = nextEvaluationAt("r", 60, base + off);
    expect(t).toBe(base + off + 60_000);
    expect(nextEvaluationAt("r", 60, base + off - 1)).toBe(base + off);
    expect((t - off) % 60_000).toBe(0);
  });
});

describe("backtest", () => {
  it("replays the scheduler's loop over data loaded once, slicing windows itself", () => {
    const rule = makeRule({ conditions: [cond({ aggregation: "LAST", windowSeconds: 270 })], forSeconds: 120 });
    const data = dataFor(rule, seriesOf({ 'cpu{host="a"}': "50 50 95x5 50x5" }));
    const result = backtestOver(rule, data, 0, 14 * MIN, { offsetMs: 0 });
    expect(result.evaluations).toBe(15);
    expect(result.transitions.map((t) => `${t.at / MIN}:${t.from}→${t.to}`)).toEqual(["2:null→PENDING", "4:PENDING→FIRING", "8:FIRING→RESOLVED"]);
    // the same as evaluating minute by minute
    let states: AlertStateRecord[] = [];
    const manual: string[] = [];
    for (let m = 0; m <= 14; m++) {
      const r = evaluate(rule, data, states, m * MIN);
      manual.push(...r.transitions.map((t) => `${m}:${t.from}→${t.to}`));
      states = r.states;
    }
    expect(manual).toEqual(result.transitions.map((t) => `${t.at / MIN}:${t.from}→${t.to}`));
  });

  it("evaluates at the rule's scheduling offset by default", () => {
    const rule = makeRule({ id: "abc" });
    const times = evaluationTimes(rule, 0, 10 * MIN);
    expect(times[0]).toBe(ruleOffsetMs("abc", 60));
    expect(times.every((t, i) => i === 0 || t - times[i - 1]! === MIN)).toBe(true);
  });
});
