/**
 * RANDOM: uniform over the candidates that may be picked (weight > 0, or all of them when every
 * weight is 0). Weights other than zero are deliberately ignored: use WEIGHTED for that.
 * O(1) when no weight is zero, else O(n); one random draw.
 */
import { type Balancer, type Candidate, type PickContext } from "./types";
import { nthEligible, randomIndex, weightProfile } from "./weights";

export class RandomBalancer implements Balancer {
  pick(candidates: readonly Candidate[], ctx: PickContext): Candidate | undefined {
    if (candidates.length === 0) return undefined;
    const profile = weightProfile(candidates);
    return candidates[nthEligible(candidates, profile, randomIndex(ctx.random, profile.eligible))];
  }
}
