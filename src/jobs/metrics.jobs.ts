import type { Rollups, Retention } from "../domain/metrics";
import type { Logger } from "../lib/logger";
import { type Job, periodic } from "./periodic";

const ROLLUP_BATCH = 5_000;

/** Rolls up pending minutes until none are left, every `intervalMs`. */
export function rollupJob(rollups: Rollups, intervalMs: number, log: Logger): Job {
  return periodic(
    "rollup",
    intervalMs,
    async () => {
      while ((await rollups.runBatch(ROLLUP_BATCH)) === ROLLUP_BATCH);
    },
    log,
  );
}

/** Applies every tenant's retention every `intervalMs`. */
export function retentionJob(retention: Retention, intervalMs: number, log: Logger): Job {
  return periodic(
    "retention",
    intervalMs,
    async () => {
      const report = await retention.run();
      if (report.deletedSamples || report.droppedPartitions.length) log.info(report, "retention applied");
    },
    log,
  );
}
