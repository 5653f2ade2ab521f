/**
 * Latency percentiles and error rate over the recent calls of one (tenant, service) or instance.
 *
 * Choices:
 * - The window is the last `capacity` calls (default 1,000), kept in typed-array rings: memory is
 *   fixed (17 bytes a call, ~17 KB at the default) whatever the traffic. A count window alone
 *   would report an idle service's hour-old p99 as current, so `summary` also takes a maximum age
 *   and drops older calls: "the last 1,000 calls of the last 5 minutes".
 * - Exact percentiles by nearest rank over those calls (the value at rank ⌈p·n⌉ of the sorted
 *   durations): always a duration that was observed, no interpolation, and exact at this size
 *   (a sketch such as t-digest pays off only for much larger windows).
 * - Failed calls count in the percentiles: a failure that took the full timeout is latency the
 *   caller felt. A NaN duration is not recorded at all; a negative one (clock skew between the
 *   processes that timed the call) counts as 0.
 * - In memory and per process, not serialised: percentiles of several processes cannot be merged
 *   from their summaries, only from their samples.
 *
 * Time is the caller's `at` / `now` in epoch ms; nothing here reads a clock.
 */

export const DEFAULT_CALL_WINDOW = 1_000;

export interface CallSummary {
  /** calls in the window (after the age cut) */
  calls: number;
  errors: number;
  /** errors / calls in [0, 1]; null with no calls */
  errorRate: number | null;
  /** milliseconds; null with no calls */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** `at` of the oldest call counted; null with no calls */
  oldestAt: number | null;
}

export class CallStats {
  private readonly at: Float64Array;
  private readonly duration: Float64Array;
  private readonly failed: Uint8Array;
  /** reused by summary() so a summary allocates nothing but its result */
  private readonly scratch: Float64Array;
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number = DEFAULT_CALL_WINDOW) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`CallStats capacity must be a positive integer, got ${capacity}`);
    this.at = new Float64Array(capacity);
    this.duration = new Float64Array(capacity);
    this.failed = new Uint8Array(capacity);
    this.scratch = new Float64Array(capacity);
  }

  /** Calls currently held (at most `capacity`). */
  get size(): number {
    return this.count;
  }

  /** Adds one call, evicting the oldest once the window is full. O(1). */
  record(at: number, durationMs: number, success: boolean): void {
    if (Number.isNaN(durationMs)) return;
    this.at[this.next] = at;
    this.duration[this.next] = durationMs > 0 ? durationMs : 0;
    this.failed[this.next] = success ? 0 : 1;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /**
   * Summary of the held calls with `at ≥ now − maxAgeMs` (all of them by default).
   * O(n log n) in the calls counted: a sort of at most `capacity` numbers.
   */
  summary(now: number, maxAgeMs: number = Number.POSITIVE_INFINITY): CallSummary {
    const cutoff = now - maxAgeMs;
    let n = 0;
    let errors = 0;
    let oldestAt = Number.POSITIVE_INFINITY;
    for (let k = 0; k < this.count; k++) {
      const i = (this.next - 1 - k + this.capacity) % this.capacity;
      const at = this.at[i]!;
      if (at < cutoff) continue;
      this.scratch[n++] = this.duration[i]!;
      errors += this.failed[i]!;
      if (at < oldestAt) oldestAt = at;
    }
    if (n === 0) return { calls: 0, errors: 0, errorRate: null, p50: null, p95: null, p99: null, oldestAt: null };
    const sorted = this.scratch.subarray(0, n).sort();
    return {
      calls: n,
      errors,
      errorRate: errors / n,
      p50: nearestRank(sorted, 50),
      p95: nearestRank(sorted, 95),
      p99: nearestRank(sorted, 99),
      oldestAt,
    };
  }
}

/** The p-th percentile of ascending `sorted` (non-empty) by nearest rank: sorted[⌈p/100·n⌉ − 1]. */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  // p·n first: an integer product divides exactly, where (p / 100)·n can land a hair above an integer
  const rank = Math.ceil((p * sorted.length) / 100);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
