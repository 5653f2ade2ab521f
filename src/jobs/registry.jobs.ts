import type { CallMetrics, CallsService, HealthSweep } from "../domain/registry";
import type { Logger } from "../lib/logger";
import { type Job, periodic } from "./periodic";

/** How often reported calls beyond REGISTRY_CALL_HISTORY_SECONDS are deleted. */
const PRUNE_INTERVAL_MS = 60_000;

/** TTL expiry, removal of long-critical instances and due health checks, every `intervalMs`. */
export function registrySweepJob(sweep: HealthSweep, intervalMs: number, log: Logger): Job {
  return periodic(
    "registry-sweep",
    intervalMs,
    async () => {
      const report = await sweep.run();
      if (report.expired || report.removed) log.info(report, "registry sweep");
    },
    log,
  );
}

/** Writes the buffered call metrics as metric series every `intervalMs`. */
export function callMetricsJob(metrics: CallMetrics, intervalMs: number, log: Logger): Job {
  return periodic("registry-call-metrics", intervalMs, () => metrics.flush(), log);
}

/** Prunes old reported calls and health history every minute. */
export function callHistoryJob(calls: CallsService, log: Logger): Job {
  return periodic(
    "registry-prune",
    PRUNE_INTERVAL_MS,
    async () => {
      const deleted = await calls.prune();
      if (deleted) log.debug({ deleted }, "pruned reported calls");
    },
    log,
  );
}
