import type { Notifier } from "../domain/notify";
import type { Logger } from "../lib/logger";
import { type Job, periodic } from "./periodic";

/** How often firing alerts are checked for a due re-send (repeat intervals are at least 60 s). */
const REPEAT_CHECK_MS = 15_000;

/** Claims and sends due deliveries every `intervalMs`, batch after batch while a backlog lasts. */
export function notificationDeliveryJob(notifier: Notifier, intervalMs: number, log: Logger): Job {
  return periodic(
    "notify-deliver",
    intervalMs,
    async (stopping) => {
      while (!stopping() && (await notifier.deliverDue()) >= notifier.batch);
    },
    log,
  );
}

/** Enqueues REPEAT deliveries of alerts still firing after their channels' repeat intervals. */
export function notificationRepeatJob(notifier: Notifier, log: Logger): Job {
  return periodic(
    "notify-repeat",
    REPEAT_CHECK_MS,
    async () => {
      const n = await notifier.enqueueRepeats();
      if (n) log.debug({ repeats: n }, "enqueued repeat notifications");
    },
    log,
  );
}
