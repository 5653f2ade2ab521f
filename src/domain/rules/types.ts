/**
 * The rules domain's enums. Their values are the engine's string literals
 * (src/domain/rules/engine/types.ts), so a stored or GraphQL value passes to the engine as is.
 */
export enum Severity {
  INFO = "INFO",
  WARNING = "WARNING",
  ERROR = "ERROR",
  CRITICAL = "CRITICAL",
}

/** INFO < WARNING < ERROR < CRITICAL */
export const SEVERITY_RANK: Readonly<Record<`${Severity}`, number>> = { INFO: 0, WARNING: 1, ERROR: 2, CRITICAL: 3 };

export enum Aggregation {
  AVG = "AVG",
  MIN = "MIN",
  MAX = "MAX",
  SUM = "SUM",
  COUNT = "COUNT",
  LAST = "LAST",
  RATE = "RATE",
  INCREASE = "INCREASE",
  P50 = "P50",
  P90 = "P90",
  P95 = "P95",
  P99 = "P99",
}

export enum Operator {
  GT = "GT",
  GTE = "GTE",
  LT = "LT",
  LTE = "LTE",
  EQ = "EQ",
  NEQ = "NEQ",
}

export enum ConditionKind {
  THRESHOLD = "THRESHOLD",
  ABSENT = "ABSENT",
  ANOMALY = "ANOMALY",
}

export enum Combine {
  ALL = "ALL",
  ANY = "ANY",
}

export enum NoDataPolicy {
  OK = "OK",
  ALERTING = "ALERTING",
  KEEP_LAST_STATE = "KEEP_LAST_STATE",
}

export enum AlertState {
  PENDING = "PENDING",
  FIRING = "FIRING",
  RESOLVED = "RESOLVED",
}
