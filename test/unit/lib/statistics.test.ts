import {
  type LinearFit,
  linearRegression,
  pearson,
  predictionInterval,
  trendDirection,
} from "../../../src/lib/statistics";

const pts = (xs: readonly number[], ys: readonly number[]) => xs.map((x, i) => ({ x, y: ys[i]! }));

/** A fit known to be non-null; fails the test (rather than narrowing silently) when it is null. */
function fitOf(xs: readonly number[], ys: readonly number[]): LinearFit {
  const fit = linearRegression(pts(xs, ys));
  if (fit === null) throw new Error(`expected a fit for x=${xs.join(",")}`);
  return fit;
}

const EPOCH = 1.8e9;

// Textbook fixture (R: summary(lm(y ~ x)) with x = 1:5, y = c(2, 4, 5, 4, 5)).
//   x̄ = 3, ȳ = 4; dx = [-2,-1,0,1,2], dy = [-2,0,1,0,1]
//   Sxx = 4+1+0+1+4 = 10, Sxy = 4+0+0+0+2 = 6, Syy = 4+0+1+0+1 = 6
//   slope = 6/10 = 0.6, intercept = 4 − 0.6·3 = 2.2
//   fitted = [2.8, 3.4, 4.0, 4.6, 5.2], residuals = [-0.8, 0.6, 1.0, -0.6, -0.2]
//   SSE = 0.64+0.36+1+0.36+0.04 = 2.4, r² = 1 − 2.4/6 = 0.6
//   s² = 2.4/3 = 0.8, SE(slope) = √(0.8/10) = √0.08 = 0.2828427, t = 0.6/√0.08 = 3/√2 = 2.1213203
const TX = [1, 2, 3, 4, 5];
const TY = [2, 4, 5, 4, 5];
// For 3 dof the t distribution has a closed form (A&S 26.7.3): with θ = atan(t/√3),
// P(|T| > t) = 1 − (2/π)(θ + sinθ·cosθ), and sinθ·cosθ = tanθ/(1 + tan²θ). Here tanθ = √(4.5/3) = √1.5,
// so p = 1 − (2/π)(atan(√1.5) + √1.5/2.5) = 0.1240271, independently of jstat.
const TEXTBOOK_P = 1 - (2 / Math.PI) * (Math.atan(Math.sqrt(1.5)) + Math.sqrt(1.5) / 2.5);

// Second fixture, negative slope and 2 dof: x = [0,1,2,3], y = [3,2,2,0]
//   x̄ = 1.5, ȳ = 1.75; dx = [-1.5,-0.5,0.5,1.5], dy = [1.25,0.25,0.25,-1.75]
//   Sxx = 5, Sxy = -1.875-0.125+0.125-2.625 = -4.5, Syy = 1.5625+0.0625+0.0625+3.0625 = 4.75
//   slope = -0.9, intercept = 1.75 + 0.9·1.5 = 3.1; fitted = [3.1, 2.2, 1.3, 0.4]
//   residuals = [-0.1, -0.2, 0.7, -0.4], SSE = 0.01+0.04+0.49+0.16 = 0.7, r² = 1 − 0.7/4.75 = 0.8526316
//   s² = 0.35, SE(slope) = √(0.35/5) = √0.07; t² = 0.81/0.07
//   For 2 dof, P(|T| > t) = 1 − |t|/√(2 + t²), and t²/(2 + t²) = r², so p = 1 − √0.8526316 = 0.0766195
const NX = [0, 1, 2, 3];
const NY = [3, 2, 2, 0];
const NEG_P = 1 - Math.sqrt(20.25 / 23.75);

describe("linearRegression", () => {
  it("matches the textbook example", () => {
    const fit = fitOf(TX, TY);
    expect(fit.n).toBe(5);
    expect(fit.slope).toBeCloseTo(0.6, 12);
    expect(fit.intercept).toBeCloseTo(2.2, 12);
    expect(fit.r2).toBeCloseTo(0.6, 12);
    expect(fit.meanX).toBe(3);
    expect(fit.sxx).toBeCloseTo(10, 12);
    expect(fit.residualStdErr).toBeCloseTo(Math.sqrt(0.8), 12);
    expect(fit.slopeStdErr).toBeCloseTo(0.2828427, 7);
    expect(fit.slope / fit.slopeStdErr!).toBeCloseTo(2.1213203, 7);
    expect(TEXTBOOK_P).toBeCloseTo(0.124, 3); // the published value, checking the closed form itself
    expect(fit.slopePValue).toBeCloseTo(TEXTBOOK_P, 8);
  });

  it("uses n − 2 degrees of freedom (negative slope, 2 dof)", () => {
    const fit = fitOf(NX, NY);
    expect(fit.slope).toBeCloseTo(-0.9, 12);
    expect(fit.intercept).toBeCloseTo(3.1, 12);
    expect(fit.r2).toBeCloseTo(0.8526316, 7);
    expect(fit.slopeStdErr).toBeCloseTo(Math.sqrt(0.07), 12);
    expect(fit.slopePValue).toBeCloseTo(NEG_P, 8);
  });

  it("reports a perfect fit as r² = 1 with zero error and p = 0", () => {
    const fit = fitOf([0, 1, 2, 3], [1, 3, 5, 7]); // y = 2x + 1
    expect(fit.slope).toBe(2);
    expect(fit.intercept).toBe(1);
    expect(fit.r2).toBe(1);
    expect(fit.residualStdErr).toBe(0);
    expect(fit.slopeStdErr).toBe(0);
    expect(fit.slopePValue).toBe(0);
  });

  it("defines constant y as slope 0, r² 0, p 1, even when the mean is inexact", () => {
    for (const xs of [[1, 2, 3], [EPOCH, EPOCH + 1, EPOCH + 2]]) {
      const fit = fitOf(xs, [0.1, 0.1, 0.1]);
      expect(fit.slope).toBe(0);
      expect(fit.intercept).toBe(0.1);
      expect(fit.r2).toBe(0);
      expect(fit.residualStdErr).toBe(0);
      expect(fit.slopePValue).toBe(1);
    }
  });

  it("is null when x is constant or there are fewer than two points or non-finite values", () => {
    expect(linearRegression(pts([2, 2, 2], [1, 2, 3]))).toBeNull();
    expect(linearRegression(pts([EPOCH, EPOCH], [1, 2]))).toBeNull();
    expect(linearRegression([{ x: 1, y: 1 }])).toBeNull();
    expect(linearRegression([])).toBeNull();
    expect(linearRegression(pts([1, 2, 3], [1, NaN, 3]))).toBeNull();
    expect(linearRegression(pts([1, Infinity, 3], [1, 2, 3]))).toBeNull();
    // squared deviations overflow: null rather than a fit of NaN
    expect(linearRegression(pts([1, 2, 3], [1e200, -1e200, 3e200]))).toBeNull();
  });

  it("fits two points exactly and leaves the error statistics null", () => {
    const fit = fitOf([1, 3], [1, 5]); // slope (5−1)/(3−1) = 2, intercept 1 − 2 = −1
    expect(fit.slope).toBe(2);
    expect(fit.intercept).toBe(-1);
    expect(fit.r2).toBe(1);
    expect(fit.residualStdErr).toBeNull();
    expect(fit.slopeStdErr).toBeNull();
    expect(fit.slopePValue).toBeNull();
  });

  it("keeps its precision with epoch-second x (y = 3i + 7 at x = 1.8e9 + i)", () => {
    const xs = Array.from({ length: 60 }, (_, i) => EPOCH + i);
    const ys = xs.map((_, i) => 3 * i + 7);
    const fit = fitOf(xs, ys);
    // uncentred sums (Σx² ≈ 1.9e20) lose every digit of the slope here
    expect(Math.abs(fit.slope - 3)).toBeLessThan(1e-9);
    expect(fit.r2).toBeCloseTo(1, 12);
    expect(fit.intercept / (7 - 3 * EPOCH)).toBeCloseTo(1, 12);
    expect(predictionInterval(fit, EPOCH + 100, 0.95).value).toBeCloseTo(307, 6);
  });

  it("gives the same statistics when the textbook x are shifted to epoch seconds", () => {
    const fit = fitOf(TX.map((x) => EPOCH + x), TY);
    expect(fit.slope).toBeCloseTo(0.6, 9);
    expect(fit.r2).toBeCloseTo(0.6, 9);
    expect(fit.slopeStdErr).toBeCloseTo(0.2828427, 7);
    expect(fit.slopePValue).toBeCloseTo(TEXTBOOK_P, 8);
    expect(fit.meanX).toBe(EPOCH + 3);
  });

  it("returns a tiny but finite p-value for a near-perfect epoch fit", () => {
    const xs = Array.from({ length: 50 }, (_, i) => EPOCH + i);
    const fit = fitOf(xs, xs.map((_, i) => 3 * i + 7 + (i % 2) * 1e-6));
    expect(Number.isFinite(fit.slopePValue)).toBe(true);
    expect(fit.slopePValue).toBeLessThan(1e-12);
  });
});

describe("predictionInterval", () => {
  // R: predict(lm(y ~ x), data.frame(x = 6), interval = "prediction", level = 0.95)
  //   ŷ = 2.2 + 0.6·6 = 5.8; (6 − 3)²/10 = 0.9; 1 + 1/5 + 0.9 = 2.1; s·√2.1 = √(0.8·2.1) = √1.68
  //   half-width = t_{0.975,3}·√1.68 = 3.182446305·1.296148140 = 4.124922
  //   → fit 5.8, lwr 1.675078, upr 9.924922
  it("matches R's prediction interval for the textbook example", () => {
    const pi = predictionInterval(fitOf(TX, TY), 6, 0.95);
    expect(pi.value).toBeCloseTo(5.8, 12);
    expect(pi.lower).toBeCloseTo(1.675078, 6);
    expect(pi.upper).toBeCloseTo(9.924922, 6);
  });

  it("is narrowest at x̄ and widens with distance", () => {
    // at x = 3: ŷ = 4, factor 1 + 1/5 + 0 = 1.2, half = 3.182446305·√(0.8·1.2) = 3.182446305·√0.96 = 3.118148
    const fit = fitOf(TX, TY);
    const atMean = predictionInterval(fit, 3, 0.95);
    expect(atMean.value).toBeCloseTo(4, 12);
    expect(atMean.upper - atMean.value).toBeCloseTo(3.118148, 6);
    const far = predictionInterval(fit, 10, 0.95);
    expect(far.upper - far.lower).toBeGreaterThan(atMean.upper - atMean.lower);
  });

  it("narrows as confidence drops", () => {
    const fit = fitOf(TX, TY);
    const p95 = predictionInterval(fit, 6, 0.95);
    const p80 = predictionInterval(fit, 6, 0.8);
    expect(p80.upper - p80.lower).toBeLessThan(p95.upper - p95.lower);
  });

  it("has zero width for a perfect fit", () => {
    expect(predictionInterval(fitOf([0, 1, 2, 3], [1, 3, 5, 7]), 10, 0.95)).toEqual({
      value: 21,
      lower: 21,
      upper: 21,
    });
  });

  it("collapses to the point estimate when n < 3 or confidence is outside (0, 1)", () => {
    expect(predictionInterval(fitOf([1, 3], [1, 5]), 5, 0.95)).toEqual({ value: 9, lower: 9, upper: 9 });
    const fit = fitOf(TX, TY);
    for (const confidence of [0, 1, 1.5, NaN]) {
      const pi = predictionInterval(fit, 6, confidence);
      expect(pi.lower).toBeCloseTo(5.8, 12);
      expect(pi.upper).toBeCloseTo(5.8, 12);
    }
  });
});

describe("pearson", () => {
  it("is ±1 with p = 0 for exactly linear data", () => {
    expect(pearson([1, 2, 3, 4], [10, 20, 30, 40])).toEqual({ n: 4, r: 1, pValue: 0 });
    expect(pearson([1, 2, 3, 4], [40, 30, 20, 10])).toEqual({ n: 4, r: -1, pValue: 0 });
  });

  it("matches the textbook example: r = 6/√(10·6) = √0.6, same t-test as the slope", () => {
    const c = pearson(TX, TY);
    expect(c.n).toBe(5);
    expect(c.r).toBeCloseTo(0.7745967, 7);
    expect(c.pValue).toBeCloseTo(TEXTBOOK_P, 8);
  });

  it("matches the 2-dof fixture: r = −4.5/√(5·4.75), p = 1 − |r|", () => {
    const c = pearson(NX, NY);
    expect(c.r).toBeCloseTo(-0.9233805, 7);
    expect(c.pValue).toBeCloseTo(NEG_P, 8);
  });

  it("gives r = 0 and p = 1 for uncorrelated data", () => {
    // dx = [-1,0,1], dy = [1/3,-2/3,1/3]: Σdx·dy = −1/3 + 0 + 1/3 = 0
    const c = pearson([1, 2, 3], [1, 0, 1]);
    expect(c.r).toBeCloseTo(0, 12);
    expect(c.pValue).toBeCloseTo(1, 8);
  });

  it("is unaffected by an epoch-sized offset", () => {
    const c = pearson(TX.map((x) => EPOCH + x), TY);
    expect(c.r).toBeCloseTo(0.7745967, 7);
    expect(c.pValue).toBeCloseTo(TEXTBOOK_P, 8);
  });

  it("is null when either side has zero variance", () => {
    expect(pearson([1, 2, 3], [5, 5, 5])).toEqual({ n: 3, r: null, pValue: null });
    expect(pearson([0.1, 0.1, 0.1], [1, 2, 3])).toEqual({ n: 3, r: null, pValue: null });
  });

  it("has no p-value for two points and no r below two, or on bad input", () => {
    expect(pearson([1, 2], [3, 1])).toEqual({ n: 2, r: -1, pValue: null });
    expect(pearson([1], [1])).toEqual({ n: 1, r: null, pValue: null });
    expect(pearson([], [])).toEqual({ n: 0, r: null, pValue: null });
    expect(pearson([1, 2, 3], [1, 2])).toEqual({ n: 2, r: null, pValue: null });
    expect(pearson([1, 2, NaN], [1, 2, 3])).toEqual({ n: 3, r: null, pValue: null });
    expect(pearson([1e200, -1e200, 3e200], [1, 2, 3])).toEqual({ n: 3, r: null, pValue: null });
  });
});

describe("trendDirection", () => {
  it("is FLAT without a fit or without a p-value", () => {
    expect(trendDirection(null)).toBe("FLAT");
    expect(trendDirection(fitOf([1, 3], [1, 5]))).toBe("FLAT"); // n = 2: slope 2 but untestable
  });

  it("follows the sign of a significant slope", () => {
    expect(trendDirection(fitOf([0, 1, 2, 3], [1, 3, 5, 7]))).toBe("UP");
    expect(trendDirection(fitOf([0, 1, 2, 3], [7, 5, 3, 1]))).toBe("DOWN");
  });

  it("compares the p-value with the significance level", () => {
    const textbook = fitOf(TX, TY); // p ≈ 0.124
    expect(trendDirection(textbook)).toBe("FLAT");
    expect(trendDirection(textbook, 0.2)).toBe("UP");
    const negative = fitOf(NX, NY); // p ≈ 0.0766
    expect(trendDirection(negative)).toBe("FLAT");
    expect(trendDirection(negative, 0.1)).toBe("DOWN");
  });

  it("is FLAT for constant y", () => {
    expect(trendDirection(fitOf([1, 2, 3], [4, 4, 4]), 1)).toBe("FLAT");
  });
});
