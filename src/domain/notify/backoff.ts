/**
 * Retry timing of the outbox, pure and driven by arguments (attempt number, clock, random source)
 * so tests replay it exactly.
 */

export interface RetryPolicy {
  /** attempts in all, the first included; the last failure makes the delivery FAILED */
  maxAttempts: number;
  /** the first retry waits up to this long */
  baseMs: number;
  /** no retry waits longer than this, Retry-After included */
  capMs: number;
}

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * after the n-th failed attempt (n ≥ 1) wait a uniformly random time in [0, min(cap, base·2^(n−1))).
 * Full jitter spreads the retries of many deliveries that failed together (a receiver outage).
 */
export function backoffMs(failedAttempts: number, policy: Pick<RetryPolicy, "baseMs" | "capMs">, random: () => number = Math.random): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(failedAttempts - 1, 0), 52));
  return Math.floor(random() * exp);
}

/**
 * A Retry-After header as milliseconds from `now`: delta-seconds or an HTTP date. undefined when
 * absent or unreadable; never negative. The caller bounds it by the cap.
 */
export function parseRetryAfter(header: string | null | undefined, now: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // an HTTP date names its month ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse alone takes "-5" for a year
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The wait before the next attempt: the jittered backoff, but at least Retry-After, and never beyond the cap. */
export function retryDelayMs(failedAttempts: number, retryAfterMs: number | undefined, policy: RetryPolicy, random: () => number = Math.random): number {
  const jittered = backoffMs(failedAttempts, policy, random);
  return Math.min(policy.capMs, Math.max(jittered, retryAfterMs ?? 0));
}
