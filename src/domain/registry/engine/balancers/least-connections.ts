/**
 * LEAST_CONNECTIONS: the candidate with the fewest `activeRequests`; ties broken uniformly at
 * random, so a fleet of idle instances is not all sent to the first one in the list.
 *
 * Choice: raw request counts, as asked, and not nginx's `least_conn` ratio activeRequests/weight.
 * Weights only decide eligibility here (weight 0 is never picked). With equal weights the two
 * rules agree.
 *
 * Two passes over the list and one random draw, no allocation.
 */
import { type Balancer, type Candidate, type PickContext } from "./types";
import { randomIndex, weightOf, weightProfile } from "./weights";

export class LeastConnectionsBalancer implements Balancer {
  pick(candidates: readonly Candidate[], ctx: PickContext): Candidate | undefined {
    if (candidates.length === 0) return undefined;
    const anyEligible = !weightProfile(candidates).allZero;
    let min = Number.POSITIVE_INFINITY;
    let ties = 0;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      if (anyEligible && weightOf(c) <= 0) continue;
      const active = load(c);
      if (active < min) {
        min = active;
        ties = 1;
      } else if (active === min) {
        ties++;
      }
    }
    let k = ties === 1 ? 0 : randomIndex(ctx.random, ties);
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      if (anyEligible && weightOf(c) <= 0) continue;
      if (load(c) === min && k-- === 0) return c;
    }
    return undefined; // unreachable: the first pass counted at least one tie
  }
}

/** A NaN count (a bug upstream) would never compare as smallest; read it as idle-unknown = 0. */
function load(c: Candidate): number {
  return Number.isNaN(c.activeRequests) ? 0 : c.activeRequests;
}
