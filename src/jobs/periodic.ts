import type { Logger } from "../lib/logger";

export interface Job {
  /** Waits for a run in progress, then stops. */
  stop(): Promise<void>;
  /** Runs now (after a run in progress) and resolves when done; for tests and shutdown. */
  runNow(): Promise<void>;
}

/**
 * Runs `tick` every `intervalMs`, never two at once; a failing tick is logged and retried at the
 * next interval. A tick may return how many ms until it has work again: the next run is then that
 * soon (at least 1 ms, at most `intervalMs`), so a scheduler wakes when its next item is due
 * rather than polling. A long tick should end early once `stopping()` says so: `stop` waits for
 * it. Timers are unref'd so a forgotten job never keeps the process alive.
 */
export function periodic(name: string, intervalMs: number, tick: (stopping: () => boolean) => Promise<void | number>, log: Logger): Job {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let delay = intervalMs;
  const run = (): Promise<void> => {
    running = running
      .then(async () => {
        if (stopped) return;
        const started = Date.now();
        const wanted = await tick(() => stopped);
        delay = typeof wanted === "number" && Number.isFinite(wanted) ? Math.min(intervalMs, Math.max(1, wanted)) : intervalMs;
        log.debug({ job: name, ms: Date.now() - started }, "job ran");
      })
      .catch((err: unknown) => {
        delay = intervalMs;
        log.error({ err, job: name }, "job failed");
      });
    return running;
  };
  const schedule = () => {
    timer = setTimeout(() => {
      void run().then(() => {
        if (!stopped) schedule();
      });
    }, delay);
    timer.unref();
  };
  schedule();
  return {
    runNow: run,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
