import { outcomeUpdate } from "../../../../src/domain/notify/outcome";

const policy = { maxAttempts: 3, baseMs: 1_000, capMs: 60_000 };
const at = 1_000_000;

describe("outcomeUpdate", () => {
  it("marks 2xx DELIVERED", () => {
    expect(outcomeUpdate(2, { kind: "delivered", status: 204 }, at, policy)).toEqual({
      status: "DELIVERED", attempts: 2, responseCode: 204, error: null, nextAttemptAt: null, deliveredAt: at,
    });
  });

  it("schedules a retry with jittered backoff, at least Retry-After", () => {
    expect(outcomeUpdate(2, { kind: "retry", status: 503, error: "HTTP 503", retryAfter: null }, at, policy, () => 0.5)).toMatchObject({
      status: "PENDING", attempts: 2, responseCode: 503, error: "HTTP 503", nextAttemptAt: at + 1_000,
    });
    expect(outcomeUpdate(1, { kind: "retry", status: 429, error: "HTTP 429", retryAfter: "30" }, at, policy, () => 0.5).nextAttemptAt).toBe(at + 30_000);
    expect(outcomeUpdate(1, { kind: "retry", status: 429, error: "HTTP 429", retryAfter: "3600" }, at, policy, () => 0.5).nextAttemptAt).toBe(at + 60_000);
  });

  it("gives up after maxAttempts", () => {
    expect(outcomeUpdate(3, { kind: "retry", status: null, error: "request failed: ECONNREFUSED", retryAfter: null }, at, policy)).toEqual({
      status: "FAILED", attempts: 3, responseCode: null, error: "gave up after 3 attempts: request failed: ECONNREFUSED", nextAttemptAt: null, deliveredAt: null,
    });
  });

  it("fails permanent errors at once", () => {
    expect(outcomeUpdate(1, { kind: "fail", status: 404, error: "HTTP 404" }, at, policy)).toMatchObject({ status: "FAILED", attempts: 1, responseCode: 404, nextAttemptAt: null });
  });

  it("does not count an attempt cut off by shutdown, and leaves it due at once", () => {
    expect(outcomeUpdate(4, { kind: "cancelled" }, at, policy)).toMatchObject({ status: "PENDING", attempts: 3, nextAttemptAt: at });
    expect(outcomeUpdate(1, { kind: "skipped", error: "not sent" }, at, policy)).toMatchObject({ status: "FAILED", attempts: 0, error: "not sent" });
  });
});
