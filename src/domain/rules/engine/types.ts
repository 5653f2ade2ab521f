/**
 * The rule engine's inputs and outputs. Evaluation is a pure function of
 * (rule, condition data, previous alert states, evaluation time): the scheduler, restarts and
 * backtests replay it exactly. Times are epoch milliseconds.
 */
export type Severity = "INFO" | "WARNING" | "ERROR" | "CRITICAL";
export type Aggregation = "AVG" | "MIN" | "MAX" | "SUM" | "COUNT" | "LAST" | "RATE" | "INCREASE" | "P50" | "P90" | "P95" | "P99";
export type Operator = "GT" | "GTE" | "LT" | "LTE" | "EQ" | "NEQ";
export type ConditionKind = "THRESHOLD" | "ABSENT" | "ANOMALY";
export type Combine = "ALL" | "ANY";
export type NoDataPolicy = "OK" | "ALERTING" | "KEEP_LAST_STATE";
export type AlertState = "PENDING" | "FIRING" | "RESOLVED";
export type MatchOp = "EQ" | "NEQ" | "REGEX" | "NOT_REGEX";

export type Labels = Record<string, string>;

export interface SelectorSpec {
  name: string;
  matchers: ReadonlyArray<{ label: string; op: MatchOp; value: string }>;
}

export interface ConditionSpec {
  kind: ConditionKind;
  selector: SelectorSpec;
  aggregation: Aggregation;
  windowSeconds: number;
  operator: Operator;
  /** null only for ABSENT */
  threshold: number | null;
  /** once firing, the alert resolves only when the value crosses this level */
  recoveryThreshold: number | null;
}

export interface RuleSpec {
  id: string;
  tenantId: string;
  name: string;
  severity: Severity;
  conditions: readonly ConditionSpec[];
  combine: Combine;
  /** null: per series label set; []: one group; [l…]: those labels' values */
  groupBy: readonly string[] | null;
  forSeconds: number;
  keepFiringForSeconds: number;
  intervalSeconds: number;
  noData: NoDataPolicy;
  labels: Labels;
  annotations: Labels;
}

/** One series the condition's selector matched, with its samples (ascending by t). */
export interface SeriesData {
  name: string;
  /** the series' labels, without __name__ */
  labels: Labels;
  type: "GAUGE" | "COUNTER";
  /**
   * Samples in (t − windowSeconds, t], plus, for RATE and INCREASE, the latest sample before the
   * window (the step into the window counts, as in the metrics `aggregate` query).
   * For ANOMALY conditions: the anomaly scores in the window, as samples.
   */
  samples: ReadonlyArray<{ t: number; v: number }>;
}

export interface ConditionData {
  series: readonly SeriesData[];
}

/** The state of one active (PENDING or FIRING) alert identity, as stored between evaluations. */
export interface AlertStateRecord {
  fingerprint: string;
  labels: Labels;
  state: "PENDING" | "FIRING";
  activeAt: number;
  firedAt: number | null;
  /** set while a FIRING alert is kept by keepFiringForSeconds: the first evaluation it was missing */
  keepFiringSince: number | null;
  value: number | null;
  annotations: Labels;
}

export interface Transition {
  fingerprint: string;
  labels: Labels;
  from: AlertState | null;
  to: AlertState;
  at: number;
  /** the value at this evaluation (for RESOLVED: the value at resolution, null when there was no data) */
  value: number | null;
  annotations: Labels;
}

export interface EvaluationResult {
  /** the active alerts after this evaluation (RESOLVED and dropped ones are gone) */
  states: AlertStateRecord[];
  /**
   * Every state change. A PENDING identity that turns false is dropped: reported as PENDING →
   * RESOLVED with firedAt null (stored for history, never notified).
   */
  transitions: Transition[];
  /** alerts that stay in their state but whose value/annotations were refreshed */
  refreshed: AlertStateRecord[];
  /** an evaluation error (e.g. two outputs with the same label set); states are then unchanged */
  error: string | null;
}
