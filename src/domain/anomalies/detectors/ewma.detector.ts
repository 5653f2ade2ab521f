import { Ewm, type EwmState } from "./ewm";
import { scored, unusable } from "./scored";
import { guardedZ, scaleFloor, surprise, surpriseToScore } from "./stats";
import { type Detector, type DetectorSnapshot, type Scored } from "./types";

/**
 * EWMA: the distance of a point from an exponentially weighted mean, in exponentially weighted
 * standard deviations. O(1) per point and three numbers of state. The memory (about 1/ALPHA points)
 * lets it follow slow drifts, so a drift alarms for a while and then stops. Timestamps are not used.
 */
export const EWMA_VERSION = 1;
const ALPHA = 0.01;
const WARMUP = 30;
/** the surprise (-log10 p) that scores 0.5 (|z| ≈ 7.2, where EWMA does best on NAB) */
export const EWMA_HALF = 12;

interface EwmaState {
  ewm: EwmState;
}

export class EwmaDetector implements Detector {
  readonly algorithm = "EWMA" as const;

  private constructor(private readonly ewm: Ewm) {}

  static create(): EwmaDetector {
    return new EwmaDetector(new Ewm(ALPHA));
  }

  static restore(state: unknown): EwmaDetector {
    const s = state as Partial<EwmaState> | null;
    return new EwmaDetector(Ewm.restore(ALPHA, s?.ewm));
  }

  update(_timestampMs: number, value: number): Scored {
    const e = this.ewm;
    const ready = e.count >= WARMUP;
    if (!Number.isFinite(value)) return unusable(ready ? e.mean : null);
    const out = ready ? scored(surpriseToScore(surprise(guardedZ(value, e.mean, e.sd, scaleFloor(e.mean))), EWMA_HALF), e.mean, value) : scored(0, null, value);
    e.push(value);
    return out;
  }

  snapshot(): DetectorSnapshot {
    const state: EwmaState = { ewm: this.ewm.toJSON() };
    return { algorithm: this.algorithm, version: EWMA_VERSION, state };
  }
}
