/** The metrics domain's vocabulary, shared by the engine and the GraphQL enums. */

export enum MetricType {
  GAUGE = "GAUGE",
  COUNTER = "COUNTER",
}

export enum MatchOp {
  EQ = "EQ",
  NEQ = "NEQ",
  REGEX = "REGEX",
  NOT_REGEX = "NOT_REGEX",
}

export enum AggregateFn {
  COUNT = "COUNT",
  SUM = "SUM",
  AVG = "AVG",
  MIN = "MIN",
  MAX = "MAX",
  STDDEV = "STDDEV",
  P50 = "P50",
  P90 = "P90",
  P95 = "P95",
  P99 = "P99",
  LAST = "LAST",
  RATE = "RATE",
  INCREASE = "INCREASE",
}

export enum TrendDirection {
  UP = "UP",
  DOWN = "DOWN",
  FLAT = "FLAT",
}

export interface LabelMatcher {
  label: string;
  /** EQ when not given */
  op?: MatchOp | null;
  value: string;
}

export interface SeriesSelector {
  name: string;
  matchers?: readonly LabelMatcher[] | null;
}

/** A stored series as the domain hands it out. `tenantId` never reaches the schema. */
export interface SeriesRecord {
  tenantId: string;
  id: string;
  name: string;
  type: MetricType;
  labels: Record<string, string>;
  firstSampleAt: number;
  lastSampleAt: number;
}

export interface Sample {
  ts: number;
  value: number;
}

export interface Bucket {
  ts: number;
  value: number | null;
}

export interface AggregatedSeries {
  labels: Record<string, string>;
  buckets: Bucket[];
}

export const PERCENTILES: Partial<Record<AggregateFn, number>> = {
  [AggregateFn.P50]: 0.5,
  [AggregateFn.P90]: 0.9,
  [AggregateFn.P95]: 0.95,
  [AggregateFn.P99]: 0.99,
};
