export { AlertService, type AlertFilter, type SilenceInput } from "./alert.service";
export { RuleDataLoader, type AnomalyScoreSource } from "./data";
export { RuleEvaluator, type AlertNotifier, type EvaluationReport } from "./evaluator";
export type { AlertEventPayload } from "./events";
export { RuleService } from "./rule.service";
export { SeriesIndex } from "./series-index";
export type { AlertRecord, RuleRecord, SilenceRecord, TransitionRecord } from "./store";
export * from "./types";
