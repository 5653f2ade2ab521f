import type { AnomalyEngine } from "../domain/anomalies";
import type { Logger } from "../lib/logger";
import { type Job, periodic } from "./periodic";

/** Writes the detectors that learned since their last checkpoint every `intervalMs`. */
export function anomalyCheckpointJob(engine: AnomalyEngine, intervalMs: number, log: Logger): Job {
  return periodic(
    "anomaly-checkpoint",
    intervalMs,
    async () => {
      const written = await engine.checkpoint();
      if (written) log.debug({ detectors: written }, "anomaly detectors checkpointed");
    },
    log,
  );
}

/** Applies each tenant's retention to anomalies and minute maxima every `intervalMs`. */
export function anomalyRetentionJob(prune: () => Promise<{ anomalies: number; minutes: number }>, intervalMs: number, log: Logger): Job {
  return periodic(
    "anomaly-retention",
    intervalMs,
    async () => {
      const report = await prune();
      if (report.anomalies || report.minutes) log.info(report, "anomaly retention applied");
    },
    log,
  );
}
