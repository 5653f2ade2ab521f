/**
 * Weight handling shared by the strategies, written as plain loops over the candidate array: at
 * 1,000 candidates a pick must stay in the low microseconds, so nothing here allocates.
 */
import { type Candidate } from "./types";

/** A usable weight: positive and finite, else 0 ("never picked"). */
export function weightOf(c: Candidate): number {
  const w = c.weight;
  return w > 0 && w < Number.POSITIVE_INFINITY ? w : 0;
}

/**
 * The weights as a strategy sees them. `allZero` means the "treat all as 1" rule applies; `uniform`
 * means every candidate has the same effective weight (all zero counts as uniform), which lets
 * strategies skip the weighted path.
 */
export interface WeightProfile {
  /** sum of effective weights (n when allZero) */
  total: number;
  /** how many candidates can be picked */
  eligible: number;
  allZero: boolean;
  uniform: boolean;
}

export function weightProfile(candidates: readonly Candidate[]): WeightProfile {
  let total = 0;
  let eligible = 0;
  let uniform = true;
  const first = candidates.length > 0 ? weightOf(candidates[0]!) : 0;
  for (let i = 0; i < candidates.length; i++) {
    const w = weightOf(candidates[i]!);
    if (w > 0) {
      total += w;
      eligible++;
    }
    if (w !== first) uniform = false;
  }
  if (eligible === 0) return { total: candidates.length, eligible: candidates.length, allZero: true, uniform: true };
  return { total, eligible, allZero: false, uniform };
}

/** Effective weight under a profile: 1 for everyone when all are zero. */
export function effectiveWeight(c: Candidate, profile: WeightProfile): number {
  return profile.allZero ? 1 : weightOf(c);
}

/**
 * An integer in [0, n). Clamped because a caller's `random` may return exactly 1 (or, from a bad
 * generator, something outside [0, 1)), and an index past the end would return undefined.
 */
export function randomIndex(random: () => number, n: number): number {
  const i = Math.floor(random() * n);
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/**
 * Index of a candidate drawn with probability proportional to its effective weight, skipping
 * `exclude` (whose weight must then not be in `total`). O(n) with one random draw. Returns -1 when
 * nothing is left to draw.
 */
export function weightedIndex(candidates: readonly Candidate[], profile: WeightProfile, total: number, random: () => number, exclude = -1): number {
  if (total <= 0) return -1;
  let target = random() * total;
  let last = -1;
  for (let i = 0; i < candidates.length; i++) {
    if (i === exclude) continue;
    const w = effectiveWeight(candidates[i]!, profile);
    if (w <= 0) continue;
    last = i;
    target -= w;
    if (target < 0) return i;
  }
  // floating-point sums can leave target a hair above 0 after the last weight: that is the last one
  return last;
}

/**
 * Index of the k-th (0-based) eligible candidate. Used by the uniform strategies when some weights
 * are zero; O(n).
 */
export function nthEligible(candidates: readonly Candidate[], profile: WeightProfile, k: number): number {
  if (profile.allZero || profile.eligible === candidates.length) return k;
  for (let i = 0; i < candidates.length; i++) {
    if (weightOf(candidates[i]!) > 0 && k-- === 0) return i;
  }
  return -1;
}
