import { ChannelKind } from "../../../../src/domain/notify";
import { validateChannel } from "../../../../src/domain/notify/validation";
import { Severity } from "../../../../src/domain/rules/types";
import { BadUserInputError } from "../../../../src/errors";

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof BadUserInputError) return e.field;
    throw e;
  }
  return undefined;
}

const base = { name: "ops", kind: ChannelKind.WEBHOOK, url: "https://hooks.example.com/x" };

describe("validateChannel", () => {
  it("applies defaults on create", () => {
    expect(validateChannel(base)).toEqual({ ...base, secret: null, minSeverity: Severity.INFO, sendResolved: true, repeatIntervalSeconds: 14_400, enabled: true });
    expect(validateChannel({ ...base, kind: ChannelKind.ALERTMANAGER }).repeatIntervalSeconds).toBe(300);
  });

  it("keeps stored values and the secret on update; an empty secret clears it; another kind drops it", () => {
    const current = { ...validateChannel({ ...base, secret: "k", minSeverity: Severity.ERROR, repeatIntervalSeconds: 600 }) };
    expect(current.secret).toBe("k");
    const kept = validateChannel(base, current);
    expect(kept).toMatchObject({ secret: undefined, minSeverity: Severity.ERROR, repeatIntervalSeconds: 600 });
    expect(validateChannel({ ...base, secret: "" }, current).secret).toBeNull();
    expect(validateChannel({ ...base, secret: "new" }, current).secret).toBe("new");
    expect(validateChannel({ ...base, kind: ChannelKind.SLACK }, current).secret).toBeNull();
  });

  it("names the offending field", () => {
    expect(fieldOf(() => validateChannel({ ...base, url: "ftp://x" }))).toBe("input.url");
    expect(fieldOf(() => validateChannel({ ...base, url: "http://a#frag" }))).toBe("input.url");
    expect(fieldOf(() => validateChannel({ ...base, name: "" }))).toBe("input.name");
    expect(fieldOf(() => validateChannel({ ...base, kind: "SMS" as ChannelKind }))).toBe("input.kind");
    expect(fieldOf(() => validateChannel({ ...base, minSeverity: "LOUD" as Severity }))).toBe("input.minSeverity");
    expect(fieldOf(() => validateChannel({ ...base, repeatIntervalSeconds: 1.5 }))).toBe("input.repeatIntervalSeconds");
    expect(fieldOf(() => validateChannel({ ...base, kind: ChannelKind.ALERTMANAGER, secret: "x" }))).toBe("input.secret");
    expect(fieldOf(() => validateChannel({ ...base, kind: ChannelKind.ALERTMANAGER, secret: "" }))).toBeUndefined();
  });
});
