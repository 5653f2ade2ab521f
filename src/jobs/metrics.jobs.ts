import type { Rollups, Retention } from "../domain/metrics";
import type { Logger } from "../lib/logger";
import { type Job, periodic } from "./periodic";

const ROLLUP_BATCH = 5_000;
const MAX_ROUNDS = 100;

/** Rolls up pending minutes until none are left (or 100 batches), every `intervalMs`. */
export function rollupJob(rollups: Rollups, intervalMs: number, log: Logger): Job {
  return periodic(
    "rollup",
    intervalMs,
    async () => {
      // bounded, so that a tick ends under a steady stream of ingest; the next tick goes on
      for (let round = 0; round < MAX_ROUNDS && (await rollups.runBatch(ROLLUP_BATCH)) > 0; round++);
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
