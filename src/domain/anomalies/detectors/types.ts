/**
 * The streaming detector contract: one point at a time, no look-ahead, bounded memory per series.
 * A detector's whole state is `snapshot()`: plain JSON that `createDetector(algorithm, snapshot)`
 * resumes from exactly (checkpoints across restarts rely on it).
 */
export type DetectorAlgorithm = "AUTO" | "ZSCORE" | "MAD" | "EWMA" | "SEASONAL";

export type ScoreDirection = "UP" | "DOWN";

export interface Scored {
  /** in [0, 1]; comparable across series, so one threshold serves all of them */
  score: number;
  /** what the detector expected at this point; null while it is still warming up */
  expected: number | null;
  /** which side of `expected` the point lies on (UP when expected is null) */
  direction: ScoreDirection;
}

export interface Detector {
  readonly algorithm: DetectorAlgorithm;
  /** scores the point, then learns from it; timestamps are epoch ms, non-decreasing in the normal case */
  update(timestampMs: number, value: number): Scored;
  /** JSON-serialisable state; bounded in size */
  snapshot(): DetectorSnapshot;
}

export interface DetectorSnapshot {
  algorithm: DetectorAlgorithm;
  /** bumped when a detector's state layout changes: an older snapshot is discarded and re-warmed */
  version: number;
  state: unknown;
}
