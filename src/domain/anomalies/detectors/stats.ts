/**
 * Numerical pieces the detectors share. Pure functions of their arguments; none of them returns NaN
 * for finite input, and the score helpers always land in [0, 1].
 */

const LN10 = Math.LN10;

/**
 * -log10 of the two-sided Gaussian tail probability of `z` (P(|Z| >= z)): 0 at z = 0, about 2.6 at
 * z = 3, 6.2 at z = 5, 23 at z = 10. Computed in log space (Numerical Recipes' erfc, relative error
 * below 1.2e-7), so it keeps growing instead of saturating when the probability underflows.
 */
export function surprise(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  if (!Number.isFinite(x)) return x === Infinity ? Number.MAX_VALUE : 0;
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const logErfc = Math.log(t) - x * x + poly;
  // past |z| ~ 1e154 the square overflows: the largest finite surprise keeps the result finite
  return Math.min(Number.MAX_VALUE, Math.max(0, -logErfc / LN10));
}

/** -log10 of the upper tail probability P(Z >= z) of a standard Gaussian (log10 2 at z = 0). */
export function upperSurprise(z: number): number {
  if (z >= 0) return surprise(z) + Math.log10(2);
  // P(Z >= z) = 1 - P(Z >= -z) lies in (0.5, 1) here
  return Math.max(0, -Math.log10(1 - 0.5 * Math.pow(10, -surprise(-z))));
}

/**
 * The map from a surprise (-log10 of a tail probability) to a score in [0, 1]: strictly increasing
 * and never saturating, so strong anomalies stay ordered among themselves (the NAB scorer, and any
 * threshold, only sees the order). `half` is the surprise that scores 0.5.
 */
export function surpriseToScore(s: number, half: number): number {
  if (!(s > 0)) return 0;
  if (s === Infinity) return 1;
  // beyond 50 (p < 1e-50) the surprise grows logarithmically: huge z (a constant series that moves)
  // would otherwise round to exactly 1 and tie with each other
  const t = s <= 50 ? s : 50 * (1 + Math.log(s / 50));
  return t / (t + half);
}

/** A z-score guarded against zero or tiny deviations: `floor` is the smallest scale trusted. */
export function guardedZ(value: number, mean: number, sd: number, floor: number): number {
  const scale = Math.max(sd, floor, Number.MIN_VALUE);
  const z = (value - mean) / scale;
  return Number.isFinite(z) ? z : value === mean ? 0 : Math.sign(value - mean) * 1e12;
}

/**
 * The smallest deviation scale trusted for a series around `level`: a relative part (values are never
 * known better than ~1e-9 of their magnitude) and an absolute part, so a constant series does not
 * turn its first rounding wobble into an infinite z.
 */
export function scaleFloor(level: number, extra = 0): number {
  return Math.max(1e-9 * Math.abs(level), 1e-12, extra);
}

export function clamp01(x: number): number {
  return x > 0 ? (x < 1 ? x : 1) : 0;
}

/** `x` if it is a finite number, else `fallback` (snapshots are untrusted input). */
export function finiteOr(x: unknown, fallback: number): number {
  return typeof x === "number" && Number.isFinite(x) ? x : fallback;
}
