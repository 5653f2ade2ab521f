import { Ewm, type EwmState } from "./ewm";
import { finiteOr } from "./stats";

/**
 * A daily and a weekly profile of a series (UTC time of day / of week, in 30-minute slots), and the
 * choice of whether either predicts the series better than its recent level.
 *
 * Each slot holds an exponentially weighted mean of the values seen in it. Three predictors run side
 * by side: the recent level (an EWM), the daily slot and the weekly slot; each keeps an EWM of its
 * own one-step error. A profile is used only once it has seen two full periods and its mean squared
 * error is clearly below the level's, so a series without a daily or weekly shape is scored
 * against its level, as EWMA would. Memory: 48 + 336 slots, two numbers each, plus a few EWMs.
 */
const SLOT_MS = 30 * 60_000;
const DAY_SLOTS = 48;
const WEEK_SLOTS = 7 * DAY_SLOTS;
const DAY_MS = 86_400_000;
/** weight of a new visit to a slot */
const SLOT_ALPHA = 0.25;
/** memory of the level predictor and of the error estimates */
const LEVEL_ALPHA = 0.01;
const ERROR_ALPHA = 0.005;
/** a profile must cut the level's mean squared error to this fraction to be used */
const WIN_RATIO = 0.6;

export type Season = "NONE" | "DAILY" | "WEEKLY";

export interface Prediction {
  season: Season;
  expected: number;
  /** the chosen predictor's one-step error scale (root mean squared error) */
  sd: number;
}

export interface SeasonalProfileState {
  first: number | null;
  level: EwmState;
  /** null for a slot never visited */
  day: Array<number | null>;
  week: Array<number | null>;
  err: [number, number, number];
  errCount: number;
}

export class SeasonalProfile {
  private first: number | null = null;
  private readonly day = new Float64Array(DAY_SLOTS).fill(NaN);
  private readonly week = new Float64Array(WEEK_SLOTS).fill(NaN);
  /** EWM of squared one-step error: level, daily, weekly */
  private readonly err: [number, number, number] = [0, 0, 0];
  private errCount = 0;

  private constructor(private readonly level: Ewm) {}

  static create(): SeasonalProfile {
    return new SeasonalProfile(new Ewm(LEVEL_ALPHA));
  }

  /** The best predictor for a point at `timestampMs`; null while even the level is unknown. */
  predict(timestampMs: number): Prediction | null {
    if (this.level.count === 0) return null;
    const levelSd = Math.sqrt(this.err[0]);
    let best: Prediction = { season: "NONE", expected: this.level.mean, sd: this.errCount > 0 ? levelSd : this.level.sd };
    if (!Number.isFinite(timestampMs) || this.first === null || this.errCount < 2 * DAY_SLOTS) return best;
    const span = timestampMs - this.first;
    const candidates: Array<[Season, number, number]> = [];
    if (span >= 2 * DAY_MS) candidates.push(["DAILY", this.day[daySlot(timestampMs)]!, this.err[1]]);
    if (span >= 14 * DAY_MS) candidates.push(["WEEKLY", this.week[weekSlot(timestampMs)]!, this.err[2]]);
    let bestErr = this.err[0] * WIN_RATIO;
    for (const [season, expected, e] of candidates) {
      if (Number.isFinite(expected) && e < bestErr) {
        bestErr = e;
        best = { season, expected, sd: Math.sqrt(e) };
      }
    }
    return best;
  }

  /** Learns from a point (after it was scored). */
  learn(timestampMs: number, value: number): void {
    const okTime = Number.isFinite(timestampMs);
    if (this.level.count > 0) {
      const a = Math.max(ERROR_ALPHA, 1 / (this.errCount + 1));
      const e0 = value - this.level.mean;
      this.err[0] += a * (e0 * e0 - this.err[0]);
      if (okTime) {
        const d = this.day[daySlot(timestampMs)]!;
        const w = this.week[weekSlot(timestampMs)]!;
        // an empty slot predicts the level, so its error is the level's
        const e1 = value - (Number.isFinite(d) ? d : this.level.mean);
        const e2 = value - (Number.isFinite(w) ? w : Number.isFinite(d) ? d : this.level.mean);
        this.err[1] += a * (e1 * e1 - this.err[1]);
        this.err[2] += a * (e2 * e2 - this.err[2]);
      }
      this.errCount++;
    }
    this.level.push(value);
    if (!okTime) return;
    if (this.first === null) this.first = timestampMs;
    SeasonalProfile.visit(this.day, daySlot(timestampMs), value);
    SeasonalProfile.visit(this.week, weekSlot(timestampMs), value);
  }

  private static visit(slots: Float64Array, i: number, value: number): void {
    const cur = slots[i]!;
    slots[i] = Number.isFinite(cur) ? cur + SLOT_ALPHA * (value - cur) : value;
  }

  toJSON(): SeasonalProfileState {
    const nums = (a: Float64Array) => Array.from(a, (v) => (Number.isFinite(v) ? v : null));
    return { first: this.first, level: this.level.toJSON(), day: nums(this.day), week: nums(this.week), err: [...this.err], errCount: this.errCount };
  }

  static restore(s: Partial<SeasonalProfileState> | undefined): SeasonalProfile {
    const p = new SeasonalProfile(Ewm.restore(LEVEL_ALPHA, s?.level));
    if (!s) return p;
    p.first = typeof s.first === "number" && Number.isFinite(s.first) ? s.first : null;
    const fill = (into: Float64Array, from: unknown) => {
      if (!Array.isArray(from) || from.length !== into.length) return;
      from.forEach((v, i) => (into[i] = typeof v === "number" && Number.isFinite(v) ? v : NaN));
    };
    fill(p.day, s.day);
    fill(p.week, s.week);
    if (Array.isArray(s.err)) for (let i = 0; i < 3; i++) p.err[i] = Math.max(0, finiteOr(s.err[i], 0));
    p.errCount = Math.max(0, Math.floor(finiteOr(s.errCount, 0)));
    return p;
  }
}

function daySlot(t: number): number {
  return Math.floor((((t % DAY_MS) + DAY_MS) % DAY_MS) / SLOT_MS);
}

function weekSlot(t: number): number {
  // the epoch was a Thursday; any fixed origin works as long as it is the same for every point
  const week = 7 * DAY_MS;
  return Math.floor((((t % week) + week) % week) / SLOT_MS);
}
