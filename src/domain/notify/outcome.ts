import { type RetryPolicy, parseRetryAfter, retryDelayMs } from "./backoff";
import { type SendOutcome, excerpt } from "./sender";
import { DeliveryStatus } from "./types";

/** An attempt's result: what the sender reported, or "skipped" when nothing was sent (the channel was disabled). */
export type AttemptOutcome = SendOutcome | { kind: "skipped"; error: string };

/** What an attempt writes to its outbox row. Times in epoch ms. */
export interface DeliveryUpdate {
  status: DeliveryStatus;
  attempts: number;
  responseCode: number | null;
  error: string | null;
  nextAttemptAt: number | null;
  deliveredAt: number | null;
}

/**
 * The retry policy as a pure function of the claimed attempt number (attempts including this one),
 * the outcome and the time it ended:
 * - delivered → DELIVERED;
 * - retry (network error, timeout, 5xx, 408, 429) → PENDING at `at` + backoff (at least
 *   Retry-After, at most the cap), or FAILED once `maxAttempts` attempts are used up;
 * - fail (other 4xx, 3xx, a blocked port) → FAILED at once;
 * - cancelled by shutdown, or skipped → the attempt does not count; cancelled is due again at once.
 */
export function outcomeUpdate(attempt: number, outcome: AttemptOutcome, at: number, policy: RetryPolicy, random: () => number = Math.random): DeliveryUpdate {
  const base = { attempts: attempt, responseCode: null, error: null, nextAttemptAt: null, deliveredAt: null };
  switch (outcome.kind) {
    case "delivered":
      return { ...base, status: DeliveryStatus.DELIVERED, responseCode: outcome.status, deliveredAt: at };
    case "fail":
      return { ...base, status: DeliveryStatus.FAILED, responseCode: outcome.status, error: outcome.error };
    case "retry":
      if (attempt >= policy.maxAttempts) {
        return { ...base, status: DeliveryStatus.FAILED, responseCode: outcome.status, error: excerpt(`gave up after ${attempt} attempts: ${outcome.error}`) };
      }
      return {
        ...base,
        status: DeliveryStatus.PENDING,
        responseCode: outcome.status,
        error: outcome.error,
        nextAttemptAt: at + retryDelayMs(attempt, parseRetryAfter(outcome.retryAfter, at), policy, random),
      };
    case "cancelled":
      return { ...base, status: DeliveryStatus.PENDING, attempts: attempt - 1, error: "attempt cancelled by shutdown", nextAttemptAt: at };
    case "skipped":
      return { ...base, status: DeliveryStatus.FAILED, attempts: attempt - 1, error: outcome.error };
    default:
      throw new UnreachableCaseError(outcome);
  }
}

class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`unreachable case: ${JSON.stringify(value)}`);
  }
}
