/**
 * WEIGHTED: each pick is an independent draw with probability weight / Σweight (Envoy's RANDOM
 * with host weights). Stateless; O(n) per pick with a single random draw.
 *
 * Unlike ROUND_ROBIN, short runs can deviate from the ratio; it needs no per-service state and
 * behaves the same in every process without coordination.
 */
import { type Balancer, type Candidate, type PickContext } from "./types";
import { weightProfile, weightedIndex } from "./weights";

export class WeightedBalancer implements Balancer {
  pick(candidates: readonly Candidate[], ctx: PickContext): Candidate | undefined {
    if (candidates.length === 0) return undefined;
    const profile = weightProfile(candidates);
    return candidates[weightedIndex(candidates, profile, profile.total, ctx.random)];
  }
}
