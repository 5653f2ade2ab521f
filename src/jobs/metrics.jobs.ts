import { setImmediate } from "node:timers/promises";
import { DAY_MS, type Partitions } from "../db/partitions";
import type { Retention, Rollups } from "../domain/metrics";
import type { Logger } from "../lib/logger";
import { type Job, periodic } from "./periodic";

const MAX_ROUNDS = 100;

/** Creates the coming days' partitions, then rolls up pending minutes until none are left (or 100 batches), every `intervalMs`. */
export function rollupJob(rollups: Rollups, partitions: Partitions, intervalMs: number, batch: number, log: Logger): Job {
  return periodic(
    "rollup",
    intervalMs,
    async (stopping) => {
      await partitions.ensureFor([Date.now(), Date.now() + DAY_MS]);
      // Bounded, so that a tick ends under a steady stream of ingest; the next tick goes on. Between
      // batches the event loop gets a turn: on the embedded database every statement runs on this
      // thread, and a backlog once kept HTTP waiting for 20 s (bench:ingest).
      // On shutdown the backlog waits for the next start: the markers stay in the table.
      for (let round = 0; round < MAX_ROUNDS && !stopping() && (await rollups.runBatch(batch)) > 0; round++) await setImmediate();
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
