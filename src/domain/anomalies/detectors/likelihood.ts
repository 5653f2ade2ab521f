import { Ewm, type EwmState } from "./ewm";
import { RollingStats, type RollingStatsState } from "./rolling-stats";
import { finiteOr, upperSurprise } from "./stats";

/**
 * Numenta's anomaly likelihood (Ahmad et al. 2017, section 4.3), in constant memory: how unusual the
 * recent raw scores of a series are compared with that series' own history of raw scores.
 *
 * Raw scores in [0, 1] are averaged over a short window; the distribution of that average over a long
 * history is modelled as a Gaussian (an EWM of mean and variance here, where Numenta keeps a sliding
 * window of 8,640 points); the likelihood is the upper tail probability of the latest average,
 * returned as its surprise -log10(tail). A series whose raw scores are always noisy (spiky load,
 * ad clicks) thus needs a much larger burst to alarm than a quiet one: that is what makes one
 * threshold serve very different series. Lower bounds on the mean and deviation (Numenta's
 * 0.03 and sqrt(0.0003)) keep a perfectly predictable series from alarming on a tiny wobble.
 */
export interface LikelihoodOptions {
  shortWindow: number;
  longAlpha: number;
  warmup: number;
  minMean: number;
  minSd: number;
}

export interface LikelihoodState {
  short: RollingStatsState;
  long: EwmState;
}

export class AnomalyLikelihood {
  private constructor(
    private readonly o: LikelihoodOptions,
    private readonly short: RollingStats,
    private readonly long: Ewm,
  ) {}

  static create(o: LikelihoodOptions): AnomalyLikelihood {
    return new AnomalyLikelihood(o, new RollingStats(o.shortWindow), new Ewm(o.longAlpha));
  }

  static restore(o: LikelihoodOptions, s: Partial<LikelihoodState> | undefined): AnomalyLikelihood {
    return new AnomalyLikelihood(o, RollingStats.restore(o.shortWindow, s?.short), Ewm.restore(o.longAlpha, s?.long));
  }

  /** Adds a raw score in [0, 1]; returns the surprise of the recent average (0 while warming up). */
  push(raw: number): number {
    this.short.push(finiteOr(raw, 0));
    const avg = this.short.mean;
    let s = 0;
    if (this.long.count >= this.o.warmup) {
      const mean = Math.max(this.long.mean, this.o.minMean);
      const sd = Math.max(this.long.sd, this.o.minSd);
      // only an average above the typical one is evidence: below it the score is 0, not ~0.06
      const z = (avg - mean) / sd;
      s = z > 0 ? upperSurprise(z) : 0;
    }
    this.long.push(avg);
    return s;
  }

  toJSON(): LikelihoodState {
    return { short: this.short.toJSON(), long: this.long.toJSON() };
  }
}
