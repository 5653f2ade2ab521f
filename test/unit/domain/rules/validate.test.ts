import { BadUserInputError } from "../../../../src/errors";
import { type ConditionInput, type RuleInput, normalizeRuleInput, validateRuleInput } from "../../../../src/domain/rules/engine";

const base = (overrides: Partial<RuleInput> = {}, condition: Partial<ConditionInput> = {}): RuleInput => ({
  name: "HighCpu",
  severity: "CRITICAL",
  conditions: [{ selector: { name: "cpu" }, threshold: 90, ...condition }],
  ...overrides,
});

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BadUserInputError);
    return (err as BadUserInputError).field;
  }
  throw new Error("expected a BadUserInputError");
}

describe("validateRuleInput", () => {
  it("fills the defaults", () => {
    expect(normalizeRuleInput(base())).toEqual({
      name: "HighCpu",
      description: null,
      category: null,
      channelIds: [],
      enabled: true,
      severity: "CRITICAL",
      conditions: [
        { kind: "THRESHOLD", selector: { name: "cpu", matchers: [] }, aggregation: "AVG", windowSeconds: 300, operator: "GT", threshold: 90, recoveryThreshold: null },
      ],
      combine: "ALL",
      groupBy: null,
      forSeconds: 0,
      keepFiringForSeconds: 0,
      intervalSeconds: 60,
      noData: "OK",
      labels: {},
      annotations: {},
    });
    expect(validateRuleInput).toBe(normalizeRuleInput);
  });

  it.each([
    ["no conditions", base({ conditions: [] }), "input.conditions"],
    ["empty name", base({ name: " " }), "input.name"],
    ["long name", base({ name: "x".repeat(201) }), "input.name"],
    ["window 0", base({}, { windowSeconds: 0 }), "input.conditions[0].windowSeconds"],
    ["window over 7 days", base({}, { windowSeconds: 7 * 86400 + 1 }), "input.conditions[0].windowSeconds"],
    ["interval 0", base({ intervalSeconds: 0 }), "input.intervalSeconds"],
    ["interval over a day", base({ intervalSeconds: 86401 }), "input.intervalSeconds"],
    ["negative for", base({ forSeconds: -1 }), "input.forSeconds"],
    ["keepFiringFor over 7 days", base({ keepFiringForSeconds: 604801 }), "input.keepFiringForSeconds"],
    ["NaN threshold", base({}, { threshold: NaN }), "input.conditions[0].threshold"],
    ["Infinity threshold", base({}, { threshold: Infinity }), "input.conditions[0].threshold"],
    ["THRESHOLD without threshold", base({}, { threshold: null }), "input.conditions[0].threshold"],
    ["ANOMALY without threshold", base({}, { kind: "ANOMALY", threshold: null }), "input.conditions[0].threshold"],
    ["ANOMALY threshold above 1", base({}, { kind: "ANOMALY", threshold: 1.5 }), "input.conditions[0].threshold"],
    ["GT recovery above the threshold", base({}, { recoveryThreshold: 95 }), "input.conditions[0].recoveryThreshold"],
    ["LT recovery below the threshold", base({}, { operator: "LT", threshold: 10, recoveryThreshold: 5 }), "input.conditions[0].recoveryThreshold"],
    ["EQ with recovery", base({}, { operator: "EQ", recoveryThreshold: 90 }), "input.conditions[0].recoveryThreshold"],
    ["ABSENT with recovery", base({}, { kind: "ABSENT", threshold: null, recoveryThreshold: 1 }), "input.conditions[0].recoveryThreshold"],
    ["empty selector name", base({}, { selector: { name: "" } }), "input.conditions[0].selector.name"],
    ["bad matcher label", base({}, { selector: { name: "cpu", matchers: [{ label: "1x", value: "a" }] } }), "input.conditions[0].selector.matchers[0].label"],
    ["bad regex", base({}, { selector: { name: "cpu", matchers: [{ label: "x", op: "REGEX", value: "(" }] } }), "input.conditions[0].selector.matchers[0].value"],
    ["bad groupBy label", base({ groupBy: ["host", "bad-label"] }), "input.groupBy[1]"],
    ["__name__ in groupBy", base({ groupBy: ["__name__"] }), "input.groupBy[0]"],
    ["duplicate groupBy label", base({ groupBy: ["a", "a"] }), "input.groupBy[1]"],
    ["bad label name", base({ labels: { "bad-name": "x" } }), "input.labels.bad-name"],
    ["non-string label", base({ labels: { team: 1 } }), "input.labels.team"],
    ["reserved label", base({ labels: { alertname: "x" } }), "input.labels.alertname"],
    ["non-string annotation", base({ annotations: { summary: 3 } }), "input.annotations.summary"],
    ["unknown template variable", base({ annotations: { summary: "{{ $foo }}" } }), "input.annotations.summary"],
    ["bad enum", base({ combine: "BOTH" as never }), "input.combine"],
  ])("%s → %s", (_what, input, field) => {
    expect(fieldOf(() => normalizeRuleInput(input))).toBe(field);
  });

  it("accepts recovery levels on the recovery side, ABSENT without threshold and a custom field prefix", () => {
    expect(() => normalizeRuleInput(base({}, { recoveryThreshold: 80 }))).not.toThrow();
    expect(() => normalizeRuleInput(base({}, { operator: "LTE", threshold: 10, recoveryThreshold: 20 }))).not.toThrow();
    expect(() => normalizeRuleInput(base({}, { kind: "ABSENT", threshold: null }))).not.toThrow();
    expect(fieldOf(() => normalizeRuleInput(base({ forSeconds: 1.5 }), "rule"))).toBe("rule.forSeconds");
  });
});
