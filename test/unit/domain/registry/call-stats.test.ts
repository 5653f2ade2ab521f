import { CallStats, nearestRank } from "../../../../src/domain/registry/engine/call-stats";

const T0 = Date.UTC(2024, 0, 15, 12, 0, 0);

describe("CallStats", () => {
  it("reports nulls with no calls", () => {
    expect(new CallStats().summary(T0)).toEqual({ calls: 0, errors: 0, errorRate: null, p50: null, p95: null, p99: null, oldestAt: null });
  });

  it("computes nearest-rank percentiles and the error rate", () => {
    const stats = new CallStats();
    // durations 100, 99, …, 1 (order must not matter); every 10th call fails
    for (let i = 100; i >= 1; i--) stats.record(T0 + (100 - i), i, i % 10 !== 0);
    expect(stats.summary(T0 + 100)).toEqual({ calls: 100, errors: 10, errorRate: 0.1, p50: 50, p95: 95, p99: 99, oldestAt: T0 });
  });

  it("keeps only the last `capacity` calls", () => {
    const stats = new CallStats(1_000);
    for (let i = 0; i < 1_500; i++) stats.record(T0 + i, i < 500 ? 10_000 : i - 499, i < 500);
    expect(stats.size).toBe(1_000);
    expect(stats.summary(T0 + 1_500)).toEqual({ calls: 1_000, errors: 1_000, errorRate: 1, p50: 500, p95: 950, p99: 990, oldestAt: T0 + 500 });
  });

  it("drops calls older than maxAgeMs", () => {
    const stats = new CallStats(10);
    stats.record(T0, 900, false);
    stats.record(T0 + 60_000, 10, true);
    stats.record(T0 + 61_000, 20, true);
    expect(stats.summary(T0 + 62_000, 30_000)).toMatchObject({ calls: 2, errors: 0, p50: 10, p99: 20, oldestAt: T0 + 60_000 });
    expect(stats.summary(T0 + 200_000, 30_000).calls).toBe(0);
    expect(stats.summary(T0 + 62_000).p99).toBe(900);
  });

  it("ignores NaN durations and counts negative ones as 0", () => {
    const stats = new CallStats(4);
    stats.record(T0, Number.NaN, false);
    stats.record(T0, -5, true);
    expect(stats.summary(T0)).toMatchObject({ calls: 1, errors: 0, p50: 0 });
  });

  it("refuses a capacity that is not a positive integer", () => {
    expect(() => new CallStats(0)).toThrow(RangeError);
    expect(() => new CallStats(1.5)).toThrow(RangeError);
  });

  it("nearestRank picks observed values at the small sizes", () => {
    expect([50, 95, 99].map((p) => nearestRank([7], p))).toEqual([7, 7, 7]);
    expect([50, 95, 99].map((p) => nearestRank([1, 2], p))).toEqual([1, 2, 2]);
    expect(nearestRank([1, 2, 3, 4], 0)).toBe(1);
    expect(nearestRank([1, 2, 3, 4], 100)).toBe(4);
  });
});
