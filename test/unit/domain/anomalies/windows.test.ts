import { RollingStats } from "../../../../src/domain/anomalies/detectors/rolling-stats";
import { SortedWindow } from "../../../../src/domain/anomalies/detectors/sorted-window";
import { surprise, surpriseToScore, upperSurprise } from "../../../../src/domain/anomalies/detectors/stats";
import { rng } from "./synthetic";

/** The shared pieces against brute force over the same window. */

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

describe("SortedWindow", () => {
  it.each([1, 2, 7, 50])("matches a brute-force median and MAD (capacity %i, with ties)", (capacity) => {
    const u = rng(capacity);
    const w = new SortedWindow(capacity);
    const recent: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const x = u() < 0.3 ? 5 : Math.round(u() * 20) / 2;
      w.push(x);
      recent.push(x);
      if (recent.length > capacity) recent.shift();
      const m = median(recent);
      expect(w.median()).toBe(m);
      expect(w.mad()).toBe(median(recent.map((v) => Math.abs(v - m))));
    }
    expect(SortedWindow.restore(capacity, w.values()).values()).toEqual(recent);
  });
});

describe("RollingStats", () => {
  it("tracks the window's mean and variance and restores them exactly", () => {
    const u = rng(9);
    const r = new RollingStats(64);
    const recent: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const x = 1e6 + u() * 10;
      r.push(x);
      recent.push(x);
      if (recent.length > 64) recent.shift();
    }
    const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
    const variance = recent.reduce((a, b) => a + (b - mean) ** 2, 0) / recent.length;
    expect(r.mean).toBeCloseTo(mean, 6);
    expect(r.variance).toBeCloseTo(variance, 4);
    const copy = RollingStats.restore(64, JSON.parse(JSON.stringify(r.toJSON())));
    copy.push(3);
    r.push(3);
    expect(copy.mean).toBe(r.mean);
    expect(copy.variance).toBe(r.variance);
  });
});

describe("surprise", () => {
  it("is -log10 of the Gaussian tail, in log space far into the tail", () => {
    expect(surprise(0)).toBeCloseTo(0, 6);
    expect(surprise(1.959964)).toBeCloseTo(-Math.log10(0.05), 4);
    expect(surprise(-3)).toBeCloseTo(-Math.log10(0.0026998), 3);
    expect(surprise(40)).toBeGreaterThan(300);
    expect(Number.isFinite(surprise(1e200))).toBe(true);
    expect(upperSurprise(0)).toBeCloseTo(Math.log10(2), 6);
    expect(upperSurprise(-5)).toBeGreaterThanOrEqual(0);
  });

  it("maps to scores in [0, 1) that keep growing", () => {
    let last = -1;
    for (const s of [0, 1, 5, 49, 50, 51, 1e3, 1e6, 1e100, Number.MAX_VALUE]) {
      const score = surpriseToScore(s, 5);
      expect(score).toBeGreaterThan(last);
      expect(score).toBeLessThan(1);
      last = score;
    }
    expect(surpriseToScore(NaN, 5)).toBe(0);
  });
});
