import { BadUserInputError } from "../../../errors";
import { MAX_LABEL_VALUE_LENGTH, MAX_LABELS, labelNameProblem } from "../../metrics/points";
import { NAME_LABEL, compileSelector } from "../../metrics/selector";
import { type MatchOp as MetricsMatchOp } from "../../metrics/types";
import { RESERVED_LABELS } from "./labels";
import { validateRuleTemplates } from "./templates";
import {
  type Aggregation,
  type Combine,
  type ConditionKind,
  type ConditionSpec,
  type Labels,
  type MatchOp,
  type NoDataPolicy,
  type Operator,
  type RuleSpec,
  type Severity,
} from "./types";

/**
 * Rule input checks in plain code (the scheduler and backtests build RuleSpecs from stored rules
 * without class instances). Every error is a BadUserInputError naming the offending field.
 */

export const MAX_RULE_NAME_LENGTH = 200;
export const MAX_CONDITIONS = 10;
export const MAX_WINDOW_SECONDS = 7 * 86_400;
export const MAX_FOR_SECONDS = 7 * 86_400;
export const MAX_INTERVAL_SECONDS = 86_400;
export const MAX_ANNOTATION_LENGTH = 4_096;

export const DEFAULTS = {
  severity: "WARNING",
  kind: "THRESHOLD",
  aggregation: "AVG",
  windowSeconds: 300,
  operator: "GT",
  combine: "ALL",
  forSeconds: 0,
  keepFiringForSeconds: 0,
  intervalSeconds: 60,
  noData: "OK",
} as const;

export interface ConditionInput {
  kind?: ConditionKind | null;
  selector: { name: string; matchers?: ReadonlyArray<{ label: string; op?: MatchOp | null; value: string }> | null };
  aggregation?: Aggregation | null;
  windowSeconds?: number | null;
  operator?: Operator | null;
  threshold?: number | null;
  recoveryThreshold?: number | null;
}

export interface RuleInput {
  name: string;
  severity?: Severity | null;
  conditions: readonly ConditionInput[];
  combine?: Combine | null;
  /** null or absent: one alert per series; []: one for the rule; [l…]: one per value of those labels */
  groupBy?: readonly string[] | null;
  forSeconds?: number | null;
  keepFiringForSeconds?: number | null;
  intervalSeconds?: number | null;
  noData?: NoDataPolicy | null;
  labels?: Record<string, unknown> | null;
  annotations?: Record<string, unknown> | null;
  /** carried through for the rule service (the engine does not read them) */
  description?: string | null;
  category?: string | null;
  channelIds?: readonly string[] | null;
  enabled?: boolean | null;
}

/** A rule as the engine runs it, before it has an id and a tenant. */
export type RuleDraft = Omit<RuleSpec, "id" | "tenantId">;

/** A rule draft plus what the rule service stores beside it. */
export interface NormalizedRule extends RuleDraft {
  description: string | null;
  category: string | null;
  channelIds: string[];
  enabled: boolean;
}

export const MAX_DESCRIPTION_LENGTH = 2_000;
export const MAX_CATEGORY_LENGTH = 100;

/** Fills the defaults; checks nothing (normalizeRuleInput does). */
export function ruleDefaults(input: RuleInput): NormalizedRule {
  return {
    name: input.name,
    description: input.description ?? null,
    category: input.category ?? null,
    channelIds: [...(input.channelIds ?? [])],
    enabled: input.enabled ?? true,
    severity: input.severity ?? DEFAULTS.severity,
    conditions: (input.conditions ?? []).map(
      (c): ConditionSpec => ({
        kind: c.kind ?? DEFAULTS.kind,
        selector: { name: c.selector?.name, matchers: (c.selector?.matchers ?? []).map((m) => ({ label: m.label, op: m.op ?? "EQ", value: m.value })) },
        aggregation: c.aggregation ?? DEFAULTS.aggregation,
        windowSeconds: c.windowSeconds ?? DEFAULTS.windowSeconds,
        operator: c.operator ?? DEFAULTS.operator,
        threshold: c.threshold ?? null,
        recoveryThreshold: c.recoveryThreshold ?? null,
      }),
    ),
    combine: input.combine ?? DEFAULTS.combine,
    groupBy: input.groupBy ?? null,
    forSeconds: input.forSeconds ?? DEFAULTS.forSeconds,
    keepFiringForSeconds: input.keepFiringForSeconds ?? DEFAULTS.keepFiringForSeconds,
    intervalSeconds: input.intervalSeconds ?? DEFAULTS.intervalSeconds,
    noData: input.noData ?? DEFAULTS.noData,
    labels: (input.labels ?? {}) as Labels,
    annotations: (input.annotations ?? {}) as Labels,
  };
}

const ENUMS = {
  severity: ["INFO", "WARNING", "ERROR", "CRITICAL"],
  kind: ["THRESHOLD", "ABSENT", "ANOMALY"],
  aggregation: ["AVG", "MIN", "MAX", "SUM", "COUNT", "LAST", "RATE", "INCREASE", "P50", "P90", "P95", "P99"],
  operator: ["GT", "GTE", "LT", "LTE", "EQ", "NEQ"],
  combine: ["ALL", "ANY"],
  noData: ["OK", "ALERTING", "KEEP_LAST_STATE"],
} as const;

function oneOf(value: unknown, allowed: readonly string[], field: string): void {
  if (typeof value !== "string" || !allowed.includes(value)) throw new BadUserInputError(field, `must be one of ${allowed.join(", ")}`);
}

function intIn(value: number, min: number, max: number, field: string): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new BadUserInputError(field, `must be an integer from ${min} to ${max}`);
}

function finite(value: number, field: string): void {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new BadUserInputError(field, "must be a finite number");
}

function stringMap(value: unknown, field: string, maxValue: number, reserved: ReadonlySet<string> | undefined): Labels {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new BadUserInputError(field, "must be an object of string values");
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_LABELS) throw new BadUserInputError(field, `at most ${MAX_LABELS} entries are allowed, got ${entries.length}`);
  for (const [k, v] of entries) {
    const problem = labelNameProblem(k);
    if (problem) throw new BadUserInputError(`${field}.${k}`, problem);
    if (reserved?.has(k)) throw new BadUserInputError(`${field}.${k}`, `${k} is set by the engine and cannot be overridden`);
    if (typeof v !== "string") throw new BadUserInputError(`${field}.${k}`, "must be a string");
    if (v.length > maxValue) throw new BadUserInputError(`${field}.${k}`, `must be at most ${maxValue} characters`);
  }
  return value as Labels;
}

function validateCondition(c: ConditionSpec, f: string): void {
  oneOf(c.kind, ENUMS.kind, `${f}.kind`);
  oneOf(c.aggregation, ENUMS.aggregation, `${f}.aggregation`);
  oneOf(c.operator, ENUMS.operator, `${f}.operator`);
  if (typeof c.selector.name !== "string" || c.selector.name.trim() === "") throw new BadUserInputError(`${f}.selector.name`, "must be a non-empty metric name");
  compileSelector({ name: c.selector.name, matchers: c.selector.matchers.map((m) => ({ ...m, op: m.op as MetricsMatchOp })) }, `${f}.selector`);
  intIn(c.windowSeconds, 1, MAX_WINDOW_SECONDS, `${f}.windowSeconds`);
  if (c.kind === "ABSENT") {
    if (c.threshold !== null) throw new BadUserInputError(`${f}.threshold`, "ABSENT conditions take no threshold: they are true when the selector has no samples in the window");
    if (c.recoveryThreshold !== null) throw new BadUserInputError(`${f}.recoveryThreshold`, "ABSENT conditions take no recovery threshold");
    return;
  }
  if (c.threshold === null) throw new BadUserInputError(`${f}.threshold`, `is required for ${c.kind} conditions`);
  finite(c.threshold, `${f}.threshold`);
  if (c.kind === "ANOMALY" && (c.threshold < 0 || c.threshold > 1)) throw new BadUserInputError(`${f}.threshold`, "an anomaly score threshold must be within [0, 1]");
  const r = c.recoveryThreshold;
  if (r === null) return;
  const rf = `${f}.recoveryThreshold`;
  finite(r, rf);
  if (c.operator === "EQ" || c.operator === "NEQ") throw new BadUserInputError(rf, "needs an ordering operator (GT, GTE, LT, LTE)");
  const above = c.operator === "GT" || c.operator === "GTE";
  if (above && r > c.threshold) throw new BadUserInputError(rf, `must be at most the threshold ${c.threshold}: with ${c.operator} the alert recovers when the value falls back`);
  if (!above && r < c.threshold) throw new BadUserInputError(rf, `must be at least the threshold ${c.threshold}: with ${c.operator} the alert recovers when the value rises back`);
  if (c.kind === "ANOMALY" && (r < 0 || r > 1)) throw new BadUserInputError(rf, "an anomaly score level must be within [0, 1]");
}

function optionalText(value: unknown, max: number, field: string): void {
  if (value === null) return;
  if (typeof value !== "string" || value.length > max) throw new BadUserInputError(field, `must be a string of at most ${max} characters`);
}

/**
 * Checks a rule input and returns it with its defaults filled; throws BadUserInputError(field,
 * message) naming the first offending field (`input.conditions[0].threshold`).
 */
export function normalizeRuleInput(input: RuleInput, field = "input"): NormalizedRule {
  if (typeof input.name !== "string" || input.name.trim() === "") throw new BadUserInputError(`${field}.name`, "must be a non-empty string");
  if (input.name.length > MAX_RULE_NAME_LENGTH) throw new BadUserInputError(`${field}.name`, `must be at most ${MAX_RULE_NAME_LENGTH} characters`);
  if (!Array.isArray(input.conditions) || input.conditions.length === 0) throw new BadUserInputError(`${field}.conditions`, "a rule needs at least one condition");
  if (input.conditions.length > MAX_CONDITIONS) throw new BadUserInputError(`${field}.conditions`, `at most ${MAX_CONDITIONS} conditions are allowed`);
  input.conditions.forEach((c, i) => {
    if (typeof c?.selector !== "object" || c.selector === null) throw new BadUserInputError(`${field}.conditions[${i}].selector`, "is required");
  });
  const rule = ruleDefaults(input);
  optionalText(rule.description, MAX_DESCRIPTION_LENGTH, `${field}.description`);
  optionalText(rule.category, MAX_CATEGORY_LENGTH, `${field}.category`);
  rule.channelIds.forEach((id, i) => {
    if (typeof id !== "string" || id.length === 0) throw new BadUserInputError(`${field}.channelIds[${i}]`, "must be a channel id");
  });
  oneOf(rule.severity, ENUMS.severity, `${field}.severity`);
  oneOf(rule.combine, ENUMS.combine, `${field}.combine`);
  oneOf(rule.noData, ENUMS.noData, `${field}.noData`);
  rule.conditions.forEach((c, i) => validateCondition(c, `${field}.conditions[${i}]`));
  if (rule.groupBy !== null) {
    if (!Array.isArray(rule.groupBy)) throw new BadUserInputError(`${field}.groupBy`, "must be a list of label names or null");
    const seen = new Set<string>();
    rule.groupBy.forEach((l, i) => {
      const gf = `${field}.groupBy[${i}]`;
      if (typeof l !== "string") throw new BadUserInputError(gf, "must be a label name");
      if (l === NAME_LABEL) throw new BadUserInputError(gf, "alerts never carry the metric name: group by labels");
      const problem = labelNameProblem(l);
      if (problem) throw new BadUserInputError(gf, problem);
      if (seen.has(l)) throw new BadUserInputError(gf, `${l} is listed twice`);
      seen.add(l);
    });
  }
  intIn(rule.forSeconds, 0, MAX_FOR_SECONDS, `${field}.forSeconds`);
  intIn(rule.keepFiringForSeconds, 0, MAX_FOR_SECONDS, `${field}.keepFiringForSeconds`);
  intIn(rule.intervalSeconds, 1, MAX_INTERVAL_SECONDS, `${field}.intervalSeconds`);
  stringMap(rule.labels, `${field}.labels`, MAX_LABEL_VALUE_LENGTH, RESERVED_LABELS);
  stringMap(rule.annotations, `${field}.annotations`, MAX_ANNOTATION_LENGTH, undefined);
  validateRuleTemplates(rule.annotations, `${field}.annotations`);
  return rule;
}

/** The same check under the name the issue uses. */
export const validateRuleInput = normalizeRuleInput;
