/**
 * A circuit breaker with Resilience4j semantics and a count-based sliding window, as a pure state
 * machine over a JSON-serialisable state: the state can live in a database row shared by several
 * processes, each applying `acquire` / `record` and writing the result back (with a compare-and-set
 * on the row, which is the caller's job). Time is always the `now` argument, in epoch ms.
 *
 * CLOSED    every call is allowed. Each recorded call joins the window of the last `windowSize`
 *           calls; once the window holds at least `minimumCalls` (capped at windowSize, as
 *           Resilience4j does), failure rate ≥ threshold or slow-call rate ≥ threshold → OPEN.
 * OPEN      every call is rejected until `openStateSeconds` have passed; the next `acquire` then
 *           moves to HALF_OPEN (Resilience4j's default: no timer, the first caller after the wait
 *           moves it). `currentState` already reads HALF_OPEN once the wait is over.
 * HALF_OPEN at most `halfOpenCalls` permits are handed out; when that many results are in, their
 *           rates decide: any threshold reached → OPEN again (the wait starts over), else CLOSED
 *           with an empty window.
 *
 * Choices:
 * - Slow means durationMs > slowCallDurationMs, strictly (Resilience4j compares with >). A slow
 *   failure counts in both rates, as in Resilience4j.
 * - Rates are compared as counts (100·failures ≥ threshold·calls) so 1 of 3 against 33.33… has no
 *   rounding surprise.
 * - Results recorded while OPEN are ignored: they are calls that were in flight when it opened.
 *   In HALF_OPEN a result counts only while fewer results than issued permits are in, so a late
 *   result from before the trial cannot decide it alone (without per-call tokens this is the best
 *   a shared row can do).
 * - Opening clears the window (a fresh start after HALF_OPEN → CLOSED, as asked).
 * - Like Resilience4j's default (maxWaitDurationInHalfOpenState = 0), HALF_OPEN waits for its trial
 *   results indefinitely: a caller that takes a permit must record its result, even a timeout.
 * - A policy with sizes below 1 is read with 1 (windowSize, minimumCalls, halfOpenCalls), so no
 *   input makes the machine stick; validating policies is the input layer's job.
 *
 * No function here throws or mutates its arguments (a row with an unknown `state` restarts
 * CLOSED); an unchanged state is returned as the same object, so callers can skip the write when
 * `next === previous`.
 */

export type BreakerStateName = "CLOSED" | "OPEN" | "HALF_OPEN";

export interface BreakerPolicy {
  /** percent of failed calls that opens the circuit */
  failureRateThreshold: number;
  /** a call slower than this (strictly) is slow */
  slowCallDurationMs: number;
  /** percent of slow calls that opens the circuit */
  slowCallRateThreshold: number;
  /** the last N calls form the window */
  windowSize: number;
  /** no verdict in CLOSED before this many calls are in the window */
  minimumCalls: number;
  /** how long OPEN rejects before trial calls */
  openStateSeconds: number;
  /** trial calls in HALF_OPEN */
  halfOpenCalls: number;
}

/** Resilience4j's defaults. */
export const DEFAULT_BREAKER_POLICY: BreakerPolicy = Object.freeze({
  failureRateThreshold: 50,
  slowCallDurationMs: 60_000,
  slowCallRateThreshold: 100,
  windowSize: 100,
  minimumCalls: 100,
  openStateSeconds: 60,
  halfOpenCalls: 10,
});

/** One recorded call: 's' success, 'f' failure, 'S' slow success, 'F' slow failure. */
export type Outcome = "s" | "f" | "S" | "F";

export interface BreakerState {
  state: BreakerStateName;
  /** CLOSED window, oldest first, at most windowSize chars of Outcome */
  outcomes: string;
  /** epoch ms of the last transition to OPEN; kept through HALF_OPEN for diagnostics, null when CLOSED */
  openedAt: number | null;
  /** HALF_OPEN: permits handed out since entering it */
  halfOpenPermits: number;
  /** HALF_OPEN: trial results so far, chars of Outcome */
  halfOpenResults: string;
}

export interface Transition {
  from: BreakerStateName;
  to: BreakerStateName;
  reason: string;
}

export interface CallResult {
  durationMs: number;
  success: boolean;
}

export function initialBreakerState(): BreakerState {
  return { state: "CLOSED", outcomes: "", openedAt: null, halfOpenPermits: 0, halfOpenResults: "" };
}

/** The state as callers should see it: OPEN reads as HALF_OPEN once the wait is over. */
export function currentState(s: BreakerState, policy: BreakerPolicy, now: number): BreakerStateName {
  return s.state === "OPEN" && waitIsOver(s, policy, now) ? "HALF_OPEN" : s.state;
}

/**
 * Asks to send one call. CLOSED: allowed. OPEN: rejected until the wait is over, then HALF_OPEN
 * with this call as its first permit. HALF_OPEN: allowed while permits are left.
 */
export function acquire(s: BreakerState, policy: BreakerPolicy, now: number): { state: BreakerState; allowed: boolean; transition?: Transition } {
  switch (s.state) {
    case "CLOSED":
      return { state: s, allowed: true };
    case "OPEN": {
      if (!waitIsOver(s, policy, now)) return { state: s, allowed: false };
      const state: BreakerState = { state: "HALF_OPEN", outcomes: "", openedAt: s.openedAt, halfOpenPermits: 1, halfOpenResults: "" };
      const waited = s.openedAt === null ? "" : `open for ${fmt((now - s.openedAt) / 1000)} s, `;
      const reason = `${waited}wait of ${fmt(policy.openStateSeconds)} s over: allowing ${plural(halfOpenLimit(policy), "trial call")}`;
      return { state, allowed: true, transition: { from: "OPEN", to: "HALF_OPEN", reason } };
    }
    case "HALF_OPEN":
      if (s.halfOpenPermits >= halfOpenLimit(policy)) return { state: s, allowed: false };
      return { state: { ...s, halfOpenPermits: s.halfOpenPermits + 1 }, allowed: true };
    default:
      return { state: restart(s.state), allowed: true };
  }
}

/** Records the result of a call that `acquire` allowed. */
export function record(s: BreakerState, policy: BreakerPolicy, now: number, call: CallResult): { state: BreakerState; transition?: Transition } {
  const outcome = classify(call, policy);
  switch (s.state) {
    case "OPEN":
      return { state: s };
    case "CLOSED": {
      const window = Math.max(1, Math.floor(policy.windowSize));
      const outcomes = (s.outcomes + outcome).slice(-window);
      const minimum = Math.min(window, Math.max(1, Math.floor(policy.minimumCalls)));
      if (outcomes.length >= minimum) {
        const tripped = exceeded(tally(outcomes), policy);
        if (tripped) {
          return { state: opened(now), transition: { from: "CLOSED", to: "OPEN", reason: `${tripped} over the last ${plural(outcomes.length, "call")}` } };
        }
      }
      return { state: { ...s, outcomes } };
    }
    case "HALF_OPEN": {
      if (s.halfOpenResults.length >= s.halfOpenPermits) return { state: s };
      const results = s.halfOpenResults + outcome;
      if (results.length < halfOpenLimit(policy)) return { state: { ...s, halfOpenResults: results } };
      const counts = tally(results);
      const tripped = exceeded(counts, policy);
      const over = `over ${plural(results.length, "trial call")}`;
      if (tripped) return { state: opened(now), transition: { from: "HALF_OPEN", to: "OPEN", reason: `${tripped} ${over}` } };
      const reason = `failure rate ${fmt(counts.failureRate)} % < ${fmt(policy.failureRateThreshold)} % and slow-call rate ${fmt(counts.slowRate)} % < ${fmt(policy.slowCallRateThreshold)} % ${over}`;
      return { state: initialBreakerState(), transition: { from: "HALF_OPEN", to: "CLOSED", reason } };
    }
    default:
      return { state: restart(s.state) };
  }
}

/** The outcome character of a call under a policy. */
export function classify(call: CallResult, policy: BreakerPolicy): Outcome {
  const slow = call.durationMs > policy.slowCallDurationMs;
  return call.success ? (slow ? "S" : "s") : slow ? "F" : "f";
}

interface Tally {
  calls: number;
  failures: number;
  slow: number;
  failureRate: number;
  slowRate: number;
}

function tally(outcomes: string): Tally {
  let failures = 0;
  let slow = 0;
  for (let i = 0; i < outcomes.length; i++) {
    const c = outcomes.charCodeAt(i);
    if (c === 0x66 /* f */ || c === 0x46 /* F */) failures++;
    if (c === 0x53 /* S */ || c === 0x46 /* F */) slow++;
  }
  const calls = outcomes.length;
  return { calls, failures, slow, failureRate: (100 * failures) / calls, slowRate: (100 * slow) / calls };
}

/** The reason the thresholds are reached, or undefined when neither is. */
function exceeded(t: Tally, policy: BreakerPolicy): string | undefined {
  const reasons: string[] = [];
  if (100 * t.failures >= policy.failureRateThreshold * t.calls) {
    reasons.push(`failure rate ${fmt(t.failureRate)} % ≥ ${fmt(policy.failureRateThreshold)} %`);
  }
  if (100 * t.slow >= policy.slowCallRateThreshold * t.calls) {
    reasons.push(`slow-call rate ${fmt(t.slowRate)} % ≥ ${fmt(policy.slowCallRateThreshold)} % (slower than ${fmt(policy.slowCallDurationMs)} ms)`);
  }
  return reasons.length === 0 ? undefined : reasons.join(" and ");
}

function opened(now: number): BreakerState {
  return { state: "OPEN", outcomes: "", openedAt: now, halfOpenPermits: 0, halfOpenResults: "" };
}

/** An OPEN state without openedAt (a hand-edited row) is treated as opened long ago. */
function waitIsOver(s: BreakerState, policy: BreakerPolicy, now: number): boolean {
  return s.openedAt === null || now - s.openedAt >= policy.openStateSeconds * 1000;
}

function halfOpenLimit(policy: BreakerPolicy): number {
  return Math.max(1, Math.floor(policy.halfOpenCalls));
}

/** At most two decimals, no trailing zeros: 62.5, 33.33, 50. */
function fmt(x: number): string {
  return String(Math.round(x * 100) / 100);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * Exhaustiveness check (a new state name fails to compile here) that does not throw at run time:
 * a row holding an unknown state (corrupted, or written by a newer version) restarts CLOSED.
 */
function restart(_state: never): BreakerState {
  return initialBreakerState();
}
