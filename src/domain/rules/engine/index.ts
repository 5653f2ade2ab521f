/** The alert-rule engine's public face: pure evaluation, templates, validation, scheduling, backtests. */
export * from "./types";
export { evaluate, compare, holds } from "./evaluate";
export { NO_DATA_LABEL, RESERVED_LABELS, alertLabels, fingerprint, formatLabels, labelKey } from "./labels";
export { type CompiledTemplate, type TemplateData, compileTemplate, render, validateRuleTemplates } from "./templates";
export {
  type ConditionInput,
  type NormalizedRule,
  type RuleDraft,
  type RuleInput,
  DEFAULTS as RULE_DEFAULTS,
  MAX_CONDITIONS,
  MAX_FOR_SECONDS,
  MAX_INTERVAL_SECONDS,
  MAX_RULE_NAME_LENGTH,
  MAX_WINDOW_SECONDS,
  normalizeRuleInput,
  ruleDefaults,
  validateRuleInput,
} from "./validate";
export { alignedAfter, nextEvaluationAt, ruleOffsetMs } from "./schedule";
export { type BacktestOptions, type BacktestResult, backtest, backtestOver, evaluationTimes } from "./backtest";
export { RATE_LOOKBACK_MS } from "./window";
