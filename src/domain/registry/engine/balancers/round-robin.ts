/**
 * ROUND_ROBIN: nginx's smooth weighted round robin (ngx_http_upstream_get_peer).
 *
 * Every pick adds each candidate's weight to its `current` score, picks the highest score and
 * subtracts the total weight from the winner. Over any run of Σw picks each candidate is chosen
 * exactly w times, and the choices are interleaved rather than bunched: weights 5,1,1 give
 * a a b a c a a; equal weights give a plain rotation in list order.
 *
 * Choices:
 * - Ties go to the earlier candidate in the list (as nginx). Proportions hold whatever the order of
 *   the list; only which of two tied candidates goes first depends on it, so callers that want the
 *   same rotation in every process should pass candidates in a stable order (e.g. sorted by id).
 * - nginx's `effective_weight` (lowered on failures, recovered on success) is left out: failing
 *   instances are the circuit breaker's and the eligibility filter's job, not the balancer's.
 * - A new instance starts at score 0, as a new nginx peer does; the score of an instance that left
 *   is forgotten, so memory follows the current list and a returning instance starts afresh. The
 *   scores the remaining instances carried can skew the next few picks; the long-run ratio holds.
 * - Scores live in an array aligned with the previous call's list. A pick first checks that the
 *   ids are the same, position by position (pointer-equal strings compare in one step), and only
 *   when they differ re-aligns the scores through a Map by id. At 1,000 candidates a Map lookup per
 *   candidate on every pick measured ~36 µs p50 / ~70 µs p99, the aligned path ~11 / ~19 µs.
 */
import { type Balancer, type Candidate, type PickContext } from "./types";
import { effectiveWeight, weightProfile } from "./weights";

export class RoundRobinBalancer implements Balancer {
  private ids: string[] = [];
  /** current[i] = smooth-WRR score of ids[i] */
  private current = new Float64Array(0);

  pick(candidates: readonly Candidate[], _ctx: PickContext): Candidate | undefined {
    if (candidates.length === 0) return undefined;
    if (!this.aligned(candidates)) this.realign(candidates);
    const profile = weightProfile(candidates);
    const current = this.current;
    let best = -1;
    for (let i = 0; i < candidates.length; i++) {
      const w = effectiveWeight(candidates[i]!, profile);
      // weight-0 candidates keep their score untouched and never compete
      if (w <= 0) continue;
      current[i] += w;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    current[best] -= profile.total;
    return candidates[best];
  }

  private aligned(candidates: readonly Candidate[]): boolean {
    if (candidates.length !== this.ids.length) return false;
    for (let i = 0; i < candidates.length; i++) if (candidates[i]!.id !== this.ids[i]) return false;
    return true;
  }

  /** Carries each id's score over to its new position; new ids start at 0, departed ids are dropped. */
  private realign(candidates: readonly Candidate[]): void {
    const previous = new Map<string, number>();
    for (let i = 0; i < this.ids.length; i++) previous.set(this.ids[i]!, this.current[i]!);
    const current = new Float64Array(candidates.length);
    for (let i = 0; i < candidates.length; i++) current[i] = previous.get(candidates[i]!.id) ?? 0;
    this.ids = candidates.map((c) => c.id);
    this.current = current;
  }
}
