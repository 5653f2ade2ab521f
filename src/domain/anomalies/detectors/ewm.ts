import { finiteOr } from "./stats";

/**
 * Exponentially weighted mean and variance (West's incremental form): O(1), three numbers of state.
 * `alpha` is the weight of the newest point; the effective memory is about 1/alpha points. Until
 * 1/alpha points have been seen, the weight is 1/n, so early estimates are plain running averages
 * rather than biased towards the first value.
 */
export class Ewm {
  count = 0;
  mean = 0;
  variance = 0;

  constructor(readonly alpha: number) {}

  get sd(): number {
    return Math.sqrt(this.variance);
  }

  push(x: number): void {
    this.count++;
    const a = Math.max(this.alpha, 1 / this.count);
    const d = x - this.mean;
    this.mean += a * d;
    this.variance = (1 - a) * (this.variance + a * d * d);
  }

  toJSON(): EwmState {
    return { count: this.count, mean: this.mean, variance: this.variance };
  }

  static restore(alpha: number, s: EwmState | undefined): Ewm {
    const e = new Ewm(alpha);
    if (s) {
      e.count = Math.max(0, Math.floor(finiteOr(s.count, 0)));
      e.mean = finiteOr(s.mean, 0);
      e.variance = Math.max(0, finiteOr(s.variance, 0));
    }
    return e;
  }
}

export interface EwmState {
  count: number;
  mean: number;
  variance: number;
}
