import { AnomalyLikelihood, type LikelihoodOptions, type LikelihoodState } from "./likelihood";
import { SeasonalProfile, type SeasonalProfileState } from "./seasonal-profile";
import { scored, unusable } from "./scored";
import { finiteOr, guardedZ, scaleFloor, surprise, surpriseToScore } from "./stats";
import { type Detector, type DetectorSnapshot, type Scored } from "./types";

/**
 * AUTO: the default detector, built after what scores best on the Numenta Anomaly Benchmark
 * (Numenta's HTM detector and CAD OSE) without their heavy models. Per point, O(1):
 *
 * 1. Prediction: SeasonalProfile's best predictor (recent level, or the daily or weekly profile when
 *    the series has one) and its error scale; the raw surprise is -log10 of the two-sided Gaussian
 *    tail of the point's error, scaled to [0, 1] (1 from p <= 1e-10 on).
 * 2. Anomaly likelihood (see AnomalyLikelihood): how unusual the average raw score of the last 10
 *    points is against this series' own history of raw scores (memory about 500 points). Scores
 *    mean the same on a flat CPU series and on a noisy ad-click series.
 * 3. Spatial novelty, as Numenta's NAB detector does: after 300 points, a value more than 5 % of
 *    the series' whole range beyond its all-time minimum or maximum scores at least 0.5, however
 *    usual the recent raw scores were, provided the point itself is surprising against the
 *    prediction (p <= 1e-4): new extremes of plain noise do not alarm.
 * 4. A rest period, as CAD OSE does: after a point scores >= DEFAULT_THRESHOLD, the likelihood
 *    part of the next 150 points' scores is halved. One incident then raises one alarm, not a
 *    burst of them while the model catches up with a new level (spatial novelty is not damped: a
 *    new extreme is news even during the rest).
 *
 * The score is surprise / (surprise + 5) of the larger of the two parts, so DEFAULT_THRESHOLD = 0.5
 * is a likelihood tail probability of 1e-5 (Numenta's own alarm level): fixed from that meaning, then
 * confirmed on the NAB development split, where the scorer's own optimised thresholds land within
 * 0.03 of it (BENCHMARKS.md, section nab). No parameter depends on a series or was fitted per file:
 * every series gets the same ones, so the state below is all there is to a series (about 400
 * numbers of seasonal slots plus a dozen scalars, whatever the series' length).
 */
export const DEFAULT_THRESHOLD = 0.5;
export const AUTO_VERSION = 1;

export interface AutoParameters {
  /** points before the predictor's error scale is trusted */
  warmup: number;
  /** surprise (-log10 p) of a prediction error that counts as a raw score of 1 */
  rawScale: number;
  likelihood: LikelihoodOptions;
  /** a value beyond the all-time range by more than this fraction of the range is spatially novel */
  spatialTolerance: number;
  /** spatial novelty counts only after this many points, and only for a point this surprising (-log10 p) against the prediction */
  spatialWarmup: number;
  spatialMinSurprise: number;
  /** points after an alarm whose likelihood score is multiplied by restFactor */
  restPoints: number;
  restFactor: number;
  /** the surprise that scores 0.5 */
  half: number;
}

export const AUTO_PARAMETERS: AutoParameters = {
  warmup: 30,
  rawScale: 10,
  // Numenta: a 10-point average, a minimum deviation of sqrt(0.0003) ~ 0.017 and mean of 0.03; the
  // deviation floor here is 0.03 (with raw scores scaled to 1 at p = 1e-10 rather than HTM's
  // fraction of unpredicted columns), the history an EWM of about 500 points.
  likelihood: { shortWindow: 10, longAlpha: 0.002, warmup: 300, minMean: 0.03, minSd: 0.03 },
  spatialTolerance: 0.05,
  spatialWarmup: 300,
  spatialMinSurprise: 4,
  restPoints: 150,
  restFactor: 0.5,
  half: 5,
};

interface AutoState {
  count: number;
  min: number | null;
  max: number | null;
  restLeft: number;
  profile: SeasonalProfileState;
  likelihood: LikelihoodState;
}

export class AutoDetector implements Detector {
  readonly algorithm = "AUTO" as const;

  private constructor(
    private readonly p: AutoParameters,
    private readonly profile: SeasonalProfile,
    private readonly likelihood: AnomalyLikelihood,
    private count: number,
    private min: number,
    private max: number,
    private restLeft: number,
  ) {}

  /** `parameters` other than the defaults are for the benchmark's sensitivity checks only. */
  static create(parameters: AutoParameters = AUTO_PARAMETERS): AutoDetector {
    return new AutoDetector(parameters, SeasonalProfile.create(), AnomalyLikelihood.create(parameters.likelihood), 0, Infinity, -Infinity, 0);
  }

  static restore(state: unknown, parameters: AutoParameters = AUTO_PARAMETERS): AutoDetector {
    const s = (state ?? {}) as Partial<AutoState>;
    const min = typeof s.min === "number" && Number.isFinite(s.min) ? s.min : Infinity;
    const max = typeof s.max === "number" && Number.isFinite(s.max) ? s.max : -Infinity;
    return new AutoDetector(
      parameters,
      SeasonalProfile.restore(s.profile),
      AnomalyLikelihood.restore(parameters.likelihood, s.likelihood),
      Math.max(0, Math.floor(finiteOr(s.count, 0))),
      min,
      max,
      Math.min(parameters.restPoints, Math.max(0, Math.floor(finiteOr(s.restLeft, 0)))),
    );
  }

  update(timestampMs: number, value: number): Scored {
    const p = this.p;
    const ready = this.count >= p.warmup;
    const prediction = ready ? this.profile.predict(timestampMs) : null;
    if (!Number.isFinite(value)) return unusable(prediction?.expected ?? null);

    let rawSurprise = 0;
    if (prediction) rawSurprise = surprise(guardedZ(value, prediction.expected, prediction.sd, scaleFloor(prediction.expected)));
    const raw = Math.min(1, rawSurprise / p.rawScale);
    let score = surpriseToScore(this.likelihood.push(raw), p.half);
    if (this.restLeft > 0) {
      score *= p.restFactor;
      this.restLeft--;
    }
    if (this.count >= p.spatialWarmup && rawSurprise >= p.spatialMinSurprise) score = Math.max(score, this.spatialScore(value));
    if (score >= DEFAULT_THRESHOLD) this.restLeft = p.restPoints;

    this.profile.learn(timestampMs, value);
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.count++;
    return scored(score, prediction?.expected ?? null, value);
  }

  /** >= 0.5 (growing with the excess) for a value well beyond the all-time range, else 0 */
  private spatialScore(value: number): number {
    const range = Math.max(this.max - this.min, scaleFloor(this.max));
    const excess = Math.max(value - this.max, this.min - value) / range;
    if (!(excess > this.p.spatialTolerance)) return 0;
    return surpriseToScore(this.p.half * (1 + 2 * Math.min(1, excess)), this.p.half);
  }

  snapshot(): DetectorSnapshot {
    const state: AutoState = {
      count: this.count,
      min: Number.isFinite(this.min) ? this.min : null,
      max: Number.isFinite(this.max) ? this.max : null,
      restLeft: this.restLeft,
      profile: this.profile.toJSON(),
      likelihood: this.likelihood.toJSON(),
    };
    return { algorithm: this.algorithm, version: AUTO_VERSION, state };
  }
}
