import { backoffMs, parseRetryAfter, retryDelayMs } from "../../../../src/domain/notify/backoff";

const policy = { maxAttempts: 10, baseMs: 1_000, capMs: 300_000 };

describe("backoffMs (exponential, full jitter)", () => {
  it("draws from [0, min(cap, base·2^(n−1)))", () => {
    const top = (n: number) => backoffMs(n, policy, () => 0.999_999);
    expect([1, 2, 3, 4, 5].map(top)).toEqual([999, 1_999, 3_999, 7_999, 15_999]);
    expect(top(9)).toBe(255_999);
    expect(top(10)).toBe(299_999);
    expect(top(60)).toBe(299_999);
    expect(backoffMs(3, policy, () => 0)).toBe(0);
    expect(backoffMs(3, policy, () => 0.5)).toBe(2_000);
  });

  it("stays finite for absurd attempt numbers", () => {
    expect(backoffMs(10_000, policy, () => 0.5)).toBe(150_000);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("reads delta-seconds and HTTP dates", () => {
    expect(parseRetryAfter("3", now)).toBe(3_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", now)).toBe(10_000);
    // a date in the past means "now"
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now)).toBe(0);
  });
  it("ignores what it cannot read", () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("-5", now)).toBeUndefined();
  });
});

describe("retryDelayMs", () => {
  it("waits at least Retry-After, never beyond the cap", () => {
    expect(retryDelayMs(1, 5_000, policy, () => 0.1)).toBe(5_000);
    expect(retryDelayMs(8, 5_000, policy, () => 0.5)).toBe(64_000);
    expect(retryDelayMs(1, 3_600_000, policy, () => 0)).toBe(300_000);
    expect(retryDelayMs(2, undefined, policy, () => 0.25)).toBe(500);
  });
});
