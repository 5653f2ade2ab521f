import type { MatchOp, SeriesRecord, SeriesSelector } from "../metrics";

/** The anomaly domain's vocabulary, shared by the engine and the GraphQL enums. */

export enum AnomalyAlgorithm {
  AUTO = "AUTO",
  ZSCORE = "ZSCORE",
  MAD = "MAD",
  EWMA = "EWMA",
  SEASONAL = "SEASONAL",
}

export enum Direction {
  UP = "UP",
  DOWN = "DOWN",
  BOTH = "BOTH",
}

export interface AnomalyMonitorInput {
  name: string;
  selector: SeriesSelector;
  algorithm?: AnomalyAlgorithm | null;
  threshold?: number | null;
  direction?: Direction | null;
  enabled?: boolean | null;
}

/** A stored monitor as the domain hands it out. `tenantId` never reaches the schema. */
export interface AnomalyMonitorRecord {
  tenantId: string;
  id: string;
  name: string;
  selector: { name: string; matchers: Array<{ label: string; op: MatchOp; value: string }> };
  algorithm: AnomalyAlgorithm;
  threshold: number;
  direction: Direction;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/**
 * One anomaly with its monitor and series, as plain JSON: the `anomalyDetected` payload and what
 * the `anomalies` query returns alike (so the in-process pub/sub can become Redis unchanged).
 */
export interface AnomalyPayload {
  id: string;
  timestamp: string;
  value: number;
  expected: number | null;
  score: number;
  /** the side of `expected` the point lies on: UP or DOWN */
  direction: Direction;
  monitor: Omit<AnomalyMonitorRecord, "tenantId" | "createdAt" | "updatedAt"> & { createdAt: string };
  series: Omit<SeriesRecord, "tenantId">;
}

/** One scored point of `anomalyScores`. */
export interface ScoredSample {
  ts: number;
  value: number;
  expected: number | null;
  score: number;
}

/** The per-minute maximum scores of one series, for the rules engine's ANOMALY condition. */
export interface SeriesMaxScores {
  seriesId: string;
  name: string;
  labels: Record<string, string>;
  /** t: the start of the minute (epoch ms); v: the highest score of the minute's points, over monitors */
  samples: Array<{ t: number; v: number }>;
}
