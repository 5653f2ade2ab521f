import { DeliveryReason, idempotencyKey, routes } from "../../../../src/domain/notify";
import { Severity } from "../../../../src/domain/rules/types";

const channel = { enabled: true, minSeverity: Severity.WARNING, sendResolved: true };

describe("routes", () => {
  it("filters by minSeverity, sendResolved, enabled and silences", () => {
    expect(routes({ silenced: false, severity: "WARNING", state: "FIRING" }, channel)).toBe(true);
    expect(routes({ silenced: false, severity: "CRITICAL", state: "FIRING" }, channel)).toBe(true);
    expect(routes({ silenced: false, severity: "INFO", state: "FIRING" }, channel)).toBe(false);
    expect(routes({ silenced: true, severity: "CRITICAL", state: "FIRING" }, channel)).toBe(false);
    expect(routes({ silenced: false, severity: "CRITICAL", state: "FIRING" }, { ...channel, enabled: false })).toBe(false);
    expect(routes({ silenced: false, severity: "ERROR", state: "RESOLVED" }, channel)).toBe(true);
    expect(routes({ silenced: false, severity: "ERROR", state: "RESOLVED" }, { ...channel, sendResolved: false })).toBe(false);
    expect(routes({ silenced: false, severity: "ERROR", state: "FIRING" }, { ...channel, sendResolved: false })).toBe(true);
  });
});

describe("idempotencyKey", () => {
  it("is the same for the same transition and differs otherwise", () => {
    const k = idempotencyKey({ alertId: "a", reason: DeliveryReason.FIRING, channelId: "c" });
    expect(k).toMatch(/^vigil-[0-9a-f]{40}$/);
    expect(idempotencyKey({ alertId: "a", reason: DeliveryReason.FIRING, channelId: "c" })).toBe(k);
    expect(idempotencyKey({ alertId: "a", reason: DeliveryReason.RESOLVED, channelId: "c" })).not.toBe(k);
    expect(idempotencyKey({ alertId: "a", reason: DeliveryReason.FIRING, channelId: "d" })).not.toBe(k);
    const r1 = idempotencyKey({ alertId: "a", reason: DeliveryReason.REPEAT, channelId: "c", at: new Date(1) });
    expect(idempotencyKey({ alertId: "a", reason: DeliveryReason.REPEAT, channelId: "c", at: new Date(2) })).not.toBe(r1);
  });
});
