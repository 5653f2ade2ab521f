import { SeasonalProfile, type SeasonalProfileState } from "./seasonal-profile";
import { scored, unusable } from "./scored";
import { guardedZ, scaleFloor, surprise, surpriseToScore } from "./stats";
import { type Detector, type DetectorSnapshot, type Scored } from "./types";

/**
 * SEASONAL: the distance of a point from what its time of day (or of week) predicts, in that
 * predictor's error scale; the recent level stands in while no profile predicts better (see
 * SeasonalProfile). O(1) per point, about 800 numbers of state. Timestamps matter here: points are
 * placed in slots by their UTC time, so gaps and irregular sampling are fine, and a non-finite
 * timestamp is scored against the level only.
 */
export const SEASONAL_VERSION = 1;
const WARMUP = 30;
/** the surprise (-log10 p) that scores 0.5 (|z| ≈ 5.2) */
export const SEASONAL_HALF = 7;

interface SeasonalState {
  profile: SeasonalProfileState;
  count: number;
}

export class SeasonalDetector implements Detector {
  readonly algorithm = "SEASONAL" as const;

  private constructor(
    private readonly profile: SeasonalProfile,
    private count: number,
  ) {}

  static create(): SeasonalDetector {
    return new SeasonalDetector(SeasonalProfile.create(), 0);
  }

  static restore(state: unknown): SeasonalDetector {
    const s = state as Partial<SeasonalState> | null;
    const count = typeof s?.count === "number" && Number.isFinite(s.count) ? Math.max(0, Math.floor(s.count)) : 0;
    return new SeasonalDetector(SeasonalProfile.restore(s?.profile), count);
  }

  update(timestampMs: number, value: number): Scored {
    const p = this.count >= WARMUP ? this.profile.predict(timestampMs) : null;
    if (!Number.isFinite(value)) return unusable(p?.expected ?? null);
    const out = p ? scored(surpriseToScore(surprise(guardedZ(value, p.expected, p.sd, scaleFloor(p.expected))), SEASONAL_HALF), p.expected, value) : scored(0, null, value);
    this.profile.learn(timestampMs, value);
    this.count++;
    return out;
  }

  snapshot(): DetectorSnapshot {
    const state: SeasonalState = { profile: this.profile.toJSON(), count: this.count };
    return { algorithm: this.algorithm, version: SEASONAL_VERSION, state };
  }
}
