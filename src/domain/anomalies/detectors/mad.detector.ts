import { scored, unusable } from "./scored";
import { SortedWindow } from "./sorted-window";
import { guardedZ, scaleFloor, surprise, surpriseToScore } from "./stats";
import { type Detector, type DetectorSnapshot, type Scored } from "./types";

/**
 * MAD: the distance of a point from the median of the previous `WINDOW` points, in robust standard
 * deviations (1.4826 × the median absolute deviation). Outliers inside the window barely move the
 * median or the MAD, so a burst of spikes does not mask the next one, unlike ZSCORE. When more than
 * half the window is one value (the MAD is 0: counters, quantised gauges) the scale falls back to the
 * 10–90 % inter-quantile range, and it is never below 1 % of the window's range.
 *
 * O(log WINDOW) per point plus one memmove (see SortedWindow); 2 × WINDOW numbers of memory.
 * Timestamps are not used.
 */
export const MAD_VERSION = 1;
const WINDOW = 400;
const WARMUP = 30;
/** the surprise (-log10 p) that scores 0.5 (robust |z| ≈ 15: MAD scales are tight on quantised and heavy-tailed series) */
export const MAD_HALF = 50;
/** MAD → standard deviation for Gaussian data */
const MAD_TO_SD = 1.4826;
/** (q90 - q10) → standard deviation for Gaussian data */
const IDR_TO_SD = 1 / 2.5631;

interface MadState {
  values: number[];
}

export class MadDetector implements Detector {
  readonly algorithm = "MAD" as const;

  private constructor(private readonly window: SortedWindow) {}

  static create(): MadDetector {
    return new MadDetector(new SortedWindow(WINDOW));
  }

  static restore(state: unknown): MadDetector {
    const s = state as Partial<MadState> | null;
    return new MadDetector(SortedWindow.restore(WINDOW, s?.values));
  }

  update(_timestampMs: number, value: number): Scored {
    const w = this.window;
    const ready = w.size >= WARMUP;
    const median = ready ? w.median() : null;
    if (!Number.isFinite(value)) return unusable(median);
    let out = scored(0, null, value);
    if (median !== null) {
      let sd = MAD_TO_SD * w.mad();
      if (!(sd > 0)) sd = IDR_TO_SD * (w.quantile(0.9) - w.quantile(0.1));
      // never below 1 % of the window's range: a mostly constant window (MAD 0) with a few blips
      // scores a blip of its usual size as strong but finite, not as an infinite z
      sd = Math.max(sd, (w.quantile(1) - w.quantile(0)) / 100);
      const z = guardedZ(value, median, sd, scaleFloor(median));
      out = scored(surpriseToScore(surprise(z), MAD_HALF), median, value);
    }
    w.push(value);
    return out;
  }

  snapshot(): DetectorSnapshot {
    const state: MadState = { values: this.window.values() };
    return { algorithm: this.algorithm, version: MAD_VERSION, state };
  }
}
