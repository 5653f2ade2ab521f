/**
 * Pure statistics for trends and correlations over metric series.
 *
 * Contract: no function here throws. Where a statistic is undefined for the input (too few points,
 * zero variance, non-finite values) it is null rather than NaN, because NaN cannot cross GraphQL
 * and silently poisons every comparison downstream.
 */
import { jStat } from "jstat";

export interface LinearFit {
  n: number;
  slope: number;
  intercept: number;
  /** coefficient of determination, in [0, 1]; 0 when all y are equal */
  r2: number;
  /** null when n < 3: two points leave no degrees of freedom for an error estimate */
  slopeStdErr: number | null;
  /** two-sided p-value of H0: slope = 0, n − 2 dof; null when n < 3 */
  slopePValue: number | null;
  residualStdErr: number | null;
  meanX: number;
  /**
   * Not asked of callers, but kept so predictions use meanY + slope·(x − meanX): with epoch-second
   * x, intercept + slope·x subtracts two numbers of order slope·1.8e9 and loses digits.
   */
  meanY: number;
  /** Σ(x − meanX)² */
  sxx: number;
}

export type TrendDirection = "UP" | "DOWN" | "FLAT";

export interface PredictionInterval {
  value: number;
  lower: number;
  upper: number;
}

export interface Correlation {
  n: number;
  r: number | null;
  pValue: number | null;
}

/**
 * Mean with one correction pass (as R's mean.default does): the naive sum/n of values near 1.8e9
 * can be off in the last bits, and every centred deviation inherits that error.
 */
function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  const m = sum / values.length;
  let correction = 0;
  for (const v of values) correction += v - m;
  return m + correction / values.length;
}

const allFinite = (values: readonly number[]): boolean => values.every(Number.isFinite);
const allEqual = (values: readonly number[]): boolean => values.every((v) => v === values[0]);

/**
 * Two-sided Student-t p-value from t² via P(|T| > |t|) = I_{dof/(dof+t²)}(dof/2, 1/2)
 * (Abramowitz & Stegun 26.7.1). Preferred to 2·cdf(−|t|): that form cancels for large |t|, returns
 * NaN once t² overflows, and is only 1 − 1e-8 at t = 0; this one gives exactly 1 and 0 at the ends.
 */
function twoSidedTPValue(tSquared: number, dof: number): number {
  const p = jStat.ibeta(dof / (dof + tSquared), dof / 2, 0.5);
  return Math.min(1, Math.max(0, p));
}

/**
 * Ordinary least squares y = intercept + slope·x. Null when n < 2, all x are equal, or any value is
 * non-finite or so large (beyond ~1e154) that its squared deviation overflows. Sums are taken over
 * centred x and y so epoch-second x keep their precision.
 */
export function linearRegression(points: ReadonlyArray<{ x: number; y: number }>): LinearFit | null {
  const n = points.length;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  if (n < 2 || !allFinite(xs) || !allFinite(ys) || allEqual(xs)) return null;

  const meanX = mean(xs);
  const meanY = mean(ys);
  const dof = n - 2;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - meanX;
    const dy = ys[i] - meanY;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  // distinct x that still centre to sxx = 0 leave the slope undefined; values beyond ~1e154
  // overflow the squares, and a null beats a fit full of NaN
  if (!(sxx > 0) || !Number.isFinite(meanY + sxx + syy + sxy)) return null;

  // Constant y is defined as slope 0 by an exact check rather than left to rounding: a mean off by
  // an ulp would yield a slope of 1e-25 with residuals to match, a "significant" trend from nothing.
  // (The corrected mean has been exact for constant inputs in practice; this states the contract.)
  const flatY = allEqual(ys);
  const slope = flatY ? 0 : sxy / sxx;
  let sse = 0;
  if (!flatY) {
    // residuals summed directly: syy − slope·sxy can come out negative when the fit is near perfect
    for (let i = 0; i < n; i++) {
      const r = ys[i] - meanY - slope * (xs[i] - meanX);
      sse += r * r;
    }
  }
  const r2 = flatY || !(syy > 0) ? 0 : Math.min(1, Math.max(0, 1 - sse / syy));

  let residualStdErr: number | null = null;
  let slopeStdErr: number | null = null;
  let slopePValue: number | null = null;
  if (dof > 0) {
    residualStdErr = Math.sqrt(sse / dof);
    slopeStdErr = residualStdErr / Math.sqrt(sxx);
    if (slopeStdErr === 0) slopePValue = slope === 0 ? 1 : 0;
    else slopePValue = twoSidedTPValue((slope / slopeStdErr) ** 2, dof);
  }

  return {
    n,
    slope,
    intercept: meanY - slope * meanX,
    r2,
    slopeStdErr,
    slopePValue,
    residualStdErr,
    meanX,
    meanY,
    sxx,
  };
}

/**
 * The OLS prediction interval for one new observation at x:
 * ŷ ± t_{(1+confidence)/2, n−2} · s · √(1 + 1/n + (x − x̄)²/Sxx).
 *
 * When the interval is unknown (n < 3 leaves no degrees of freedom, or confidence is not strictly
 * inside (0, 1)) it collapses to lower = upper = value: the honest answer would be ±Infinity, which
 * GraphQL cannot carry. Callers that need to tell the cases apart check fit.n >= 3.
 */
export function predictionInterval(fit: LinearFit, x: number, confidence: number): PredictionInterval {
  const value = fit.meanY + fit.slope * (x - fit.meanX);
  const s = fit.residualStdErr;
  if (s === null || fit.n < 3 || !(confidence > 0 && confidence < 1)) {
    return { value, lower: value, upper: value };
  }
  const t = jStat.studentt.inv((1 + confidence) / 2, fit.n - 2);
  const dx = x - fit.meanX;
  const half = t * s * Math.sqrt(1 + 1 / fit.n + (dx * dx) / fit.sxx);
  return { value, lower: value - half, upper: value + half };
}

/**
 * Pearson correlation of paired samples, computed in two passes (means first). r is null when
 * n < 2, either side is constant, the lengths differ (a caller bug we report, not truncate), or any
 * value is non-finite or overflows when squared. pValue is two-sided with n − 2 dof, null when r is null or n < 3.
 */
export function pearson(xs: readonly number[], ys: readonly number[]): Correlation {
  const n = Math.min(xs.length, ys.length);
  const undefinedR: Correlation = { n, r: null, pValue: null };
  if (xs.length !== ys.length || n < 2 || !allFinite(xs) || !allFinite(ys)) return undefinedR;
  if (allEqual(xs) || allEqual(ys)) return undefinedR;

  const meanX = mean(xs);
  const meanY = mean(ys);
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - meanX;
    const dy = ys[i] - meanY;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  // √(sxx·syy) rounds once, so exactly linear data gives |r| = 1 exactly; the separate roots are
  // only the fallback for when the product overflows. Rounding can still push |r| past 1: clamp.
  const product = sxx * syy;
  const denominator = Number.isFinite(product) ? Math.sqrt(product) : Math.sqrt(sxx) * Math.sqrt(syy);
  if (!(denominator > 0) || !Number.isFinite(denominator + sxy)) return undefinedR;
  const r = Math.min(1, Math.max(-1, sxy / denominator));

  if (n < 3) return { n, r, pValue: null };
  // t² = r²(n−2)/(1−r²), so dof/(dof+t²) is exactly 1 − r²; |r| = 1 gives I_0 = 0
  const pValue = Math.abs(r) === 1 ? 0 : Math.min(1, Math.max(0, jStat.ibeta(1 - r * r, (n - 2) / 2, 0.5)));
  return { n, r, pValue };
}

/** UP or DOWN only when the slope is significant at `significance`; FLAT otherwise, null fit included. */
export function trendDirection(fit: LinearFit | null, significance = 0.05): TrendDirection {
  if (fit === null || fit.slopePValue === null || !(fit.slopePValue < significance)) return "FLAT";
  if (fit.slope > 0) return "UP";
  return fit.slope < 0 ? "DOWN" : "FLAT";
}
