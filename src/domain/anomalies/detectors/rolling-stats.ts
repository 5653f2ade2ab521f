import { finiteOr } from "./stats";

/**
 * Mean and variance of the last `capacity` values, O(1) per point and `capacity` numbers of memory.
 *
 * Welford updates on add and remove drift slowly in floating point, so the sums are recomputed from
 * the buffer once per `capacity` pushes (amortised O(1)); the recompute is part of the state, so a
 * restored window stays bit-for-bit on the same path as the original.
 */
export class RollingStats {
  private readonly buf: Float64Array;
  private head = 0; // next slot to write
  private count = 0;
  private mean_ = 0;
  private m2 = 0;
  private sinceExact = 0;

  constructor(readonly capacity: number) {
    this.buf = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  get mean(): number {
    return this.mean_;
  }

  /** population variance of the window (0 while it holds fewer than two values) */
  get variance(): number {
    return this.count > 1 ? Math.max(0, this.m2 / this.count) : 0;
  }

  get sd(): number {
    return Math.sqrt(this.variance);
  }

  /** the value pushed `age` pushes ago (0 = the latest); undefined outside the window */
  at(age: number): number | undefined {
    if (age < 0 || age >= this.count) return undefined;
    return this.buf[(this.head - 1 - age + 2 * this.capacity) % this.capacity];
  }

  /** the value that the next push will evict, if the window is full */
  get oldest(): number | undefined {
    return this.count === 0 ? undefined : this.at(this.count - 1);
  }

  push(x: number): void {
    if (this.count === this.capacity) {
      const old = this.buf[this.head]!;
      this.buf[this.head] = x;
      const d0 = old - this.mean_;
      const meanWithout = this.mean_ - d0 / (this.count - 1);
      this.m2 -= d0 * (old - meanWithout);
      const d1 = x - meanWithout;
      this.mean_ = meanWithout + d1 / this.count;
      this.m2 += d1 * (x - this.mean_);
    } else {
      this.buf[this.head] = x;
      this.count++;
      const d = x - this.mean_;
      this.mean_ += d / this.count;
      this.m2 += d * (x - this.mean_);
    }
    this.head = (this.head + 1) % this.capacity;
    if (++this.sinceExact >= this.capacity) this.recompute();
  }

  private recompute(): void {
    // oldest first, so the sums do not depend on where the ring happens to start (a restored
    // window starts at slot 0)
    const start = this.head - this.count + this.capacity;
    let s = 0;
    for (let i = 0; i < this.count; i++) s += this.buf[(start + i) % this.capacity]!;
    const mean = s / this.count;
    let m2 = 0;
    for (let i = 0; i < this.count; i++) {
      const d = this.buf[(start + i) % this.capacity]! - mean;
      m2 += d * d;
    }
    this.mean_ = mean;
    this.m2 = m2;
    this.sinceExact = 0;
  }

  /** oldest first */
  values(): number[] {
    const out: number[] = [];
    for (let age = this.count - 1; age >= 0; age--) out.push(this.at(age)!);
    return out;
  }

  toJSON(): RollingStatsState {
    return { values: this.values(), mean: this.mean_, m2: this.m2, sinceExact: this.sinceExact };
  }

  static restore(capacity: number, state: RollingStatsState | undefined): RollingStats {
    const r = new RollingStats(capacity);
    if (!state || !Array.isArray(state.values)) return r;
    const values = state.values.filter((v): v is number => typeof v === "number" && Number.isFinite(v)).slice(-capacity);
    for (const v of values) {
      r.buf[r.head] = v;
      r.head = (r.head + 1) % capacity;
      r.count++;
    }
    if (values.length === state.values.length) {
      r.mean_ = finiteOr(state.mean, 0);
      r.m2 = finiteOr(state.m2, 0);
      r.sinceExact = Math.min(Math.max(0, Math.floor(finiteOr(state.sinceExact, 0))), capacity - 1);
    } else if (r.count > 0) {
      r.recompute();
    }
    return r;
  }
}

export interface RollingStatsState {
  values: number[];
  mean: number;
  m2: number;
  sinceExact: number;
}
