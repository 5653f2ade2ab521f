import { RollingStats, type RollingStatsState } from "./rolling-stats";
import { scored, unusable } from "./scored";
import { guardedZ, scaleFloor, surprise, surpriseToScore } from "./stats";
import { type Detector, type DetectorSnapshot, type Scored } from "./types";

/**
 * ZSCORE: the distance of a point from the mean of the previous `WINDOW` points, in standard
 * deviations of that window. O(1) per point, WINDOW numbers of state. Timestamps are not used: it
 * scores the sequence of points, so gaps and irregular sampling change nothing.
 */
export const ZSCORE_VERSION = 1;
const WINDOW = 400;
/** points before the window's statistics are trusted (score 0, expected null until then) */
const WARMUP = 30;
/** the surprise (-log10 p) that scores 0.5 (|z| ≈ 7.2, where ZSCORE does best on NAB) */
export const ZSCORE_HALF = 12;

interface ZscoreState {
  window: RollingStatsState;
}

export class ZscoreDetector implements Detector {
  readonly algorithm = "ZSCORE" as const;

  private constructor(private readonly window: RollingStats) {}

  static create(): ZscoreDetector {
    return new ZscoreDetector(new RollingStats(WINDOW));
  }

  static restore(state: unknown): ZscoreDetector {
    const s = state as Partial<ZscoreState> | null;
    return new ZscoreDetector(RollingStats.restore(WINDOW, s?.window));
  }

  update(_timestampMs: number, value: number): Scored {
    const w = this.window;
    const ready = w.size >= WARMUP;
    if (!Number.isFinite(value)) return unusable(ready ? w.mean : null);
    let out: Scored;
    if (ready) {
      const z = guardedZ(value, w.mean, w.sd, scaleFloor(w.mean));
      out = scored(surpriseToScore(surprise(z), ZSCORE_HALF), w.mean, value);
    } else {
      out = scored(0, null, value);
    }
    w.push(value);
    return out;
  }

  snapshot(): DetectorSnapshot {
    const state: ZscoreState = { window: this.window.toJSON() };
    return { algorithm: this.algorithm, version: ZSCORE_VERSION, state };
  }
}
