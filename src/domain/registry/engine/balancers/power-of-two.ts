/**
 * POWER_OF_TWO: Envoy's LEAST_REQUEST with its default choice_count of 2 ("power of two choices").
 * Draw two distinct candidates at random and keep the one with fewer `activeRequests`; on a tie the
 * first draw wins, which is already a random choice.
 *
 * Choices:
 * - Draws are without replacement (Envoy draws with replacement), so with two candidates the less
 *   loaded one always wins and a single draw never compares a candidate with itself.
 * - Equal weights: two uniform draws, O(1) after the O(n) weight scan. Unequal weights: each draw
 *   is proportional to weight (the second over the rest), O(n). Envoy instead switches to an EDF
 *   scheduler over weight / (active + 1)^bias when weights differ; drawing by weight keeps one
 *   simple rule and still favours both heavy and idle instances.
 * - Weight-0 candidates are never drawn (unless all are 0); with one drawable candidate it wins.
 */
import { type Balancer, type Candidate, type PickContext } from "./types";
import { effectiveWeight, nthEligible, randomIndex, weightProfile, weightedIndex } from "./weights";

export class PowerOfTwoBalancer implements Balancer {
  pick(candidates: readonly Candidate[], ctx: PickContext): Candidate | undefined {
    if (candidates.length === 0) return undefined;
    const profile = weightProfile(candidates);
    let a: number;
    let b: number;
    if (profile.eligible === 1) return candidates[nthEligible(candidates, profile, 0)];
    if (profile.uniform) {
      const n = profile.eligible;
      const i = randomIndex(ctx.random, n);
      let j = randomIndex(ctx.random, n - 1);
      if (j >= i) j++;
      a = nthEligible(candidates, profile, i);
      b = nthEligible(candidates, profile, j);
    } else {
      a = weightedIndex(candidates, profile, profile.total, ctx.random);
      const rest = profile.total - effectiveWeight(candidates[a]!, profile);
      b = weightedIndex(candidates, profile, rest, ctx.random, a);
      if (b < 0) return candidates[a];
    }
    const first = candidates[a]!;
    const second = candidates[b]!;
    return second.activeRequests < first.activeRequests ? second : first;
  }
}
