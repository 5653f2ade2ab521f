import {
  type CircuitState,
  type EligibilityInstance,
  type Health,
  selectEligible,
} from "../../../../src/domain/registry/engine/eligibility";

/** "P" PASSING, "W" WARNING, "C" CRITICAL; then "c" CLOSED, "o" OPEN, "h" HALF_OPEN. Ids i0, i1… */
function fleet(...specs: string[]): EligibilityInstance[] {
  const health: Record<string, Health> = { P: "PASSING", W: "WARNING", C: "CRITICAL" };
  const circuit: Record<string, CircuitState> = { c: "CLOSED", o: "OPEN", h: "HALF_OPEN" };
  return specs.map((s, i) => ({ id: `i${i}`, health: health[s[0]!]!, circuit: circuit[s[1]!]! }));
}

const ids = (xs: readonly EligibilityInstance[]) => xs.map((x) => x.id);
const noPermits = () => false;
const allPermits = () => true;

describe("selectEligible", () => {
  it("returns the passing instances with closed circuits, without a reason", () => {
    expect(selectEligible(fleet("Pc", "Pc", "Wc"), noPermits)).toEqual({ candidates: fleet("Pc", "Pc"), panic: false });
  });

  it("admits HALF_OPEN instances only while they have trial permits, asking once per half-open instance", () => {
    const asked: string[] = [];
    const permits = (id: string) => {
      asked.push(id);
      return id === "i1";
    };
    const r = selectEligible(fleet("Pc", "Ph", "Ph", "Po"), permits, 0);
    expect(ids(r.candidates)).toEqual(["i0", "i1"]);
    expect(asked).toEqual(["i1", "i2"]);
  });

  it("falls back to WARNING instances when no passing one is admitted, and says so", () => {
    const r = selectEligible(fleet("Po", "Wc", "Wc", "Cc"), noPermits);
    expect(ids(r.candidates)).toEqual(["i1", "i2"]);
    expect(r.panic).toBe(false);
    expect(r.reason).toBe("no passing instance: using 2 warning instances");
  });

  it("panics below the threshold and spreads over every instance whose circuit admits, regardless of health", () => {
    // 4 of 10 passing = 40 % < 50 %
    const r = selectEligible(fleet("Pc", "Pc", "Pc", "Pc", "Wc", "Cc", "Cc", "Ch", "Co", "Co"), allPermits);
    expect(r.panic).toBe(true);
    expect(ids(r.candidates)).toEqual(["i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"]);
    expect(r.reason).toBe(
      "panic: 4 of 10 instances healthy (40 %), below the 50 % threshold; spreading over all 8 instances whose circuit admits calls, regardless of health",
    );
  });

  it("counts instances with open circuits as unhealthy but never sends to them in panic", () => {
    const r = selectEligible(fleet("Pc", "Po", "Po", "Po"), noPermits);
    expect(r.panic).toBe(true);
    expect(ids(r.candidates)).toEqual(["i0"]);
  });

  it("does not panic exactly at the threshold, and a threshold of 0 disables panic", () => {
    expect(selectEligible(fleet("Pc", "Pc", "Cc", "Cc"), noPermits)).toEqual({ candidates: fleet("Pc", "Pc"), panic: false });
    expect(selectEligible(fleet("Pc", "Cc", "Cc", "Cc"), noPermits, 0)).toEqual({ candidates: fleet("Pc"), panic: false });
    expect(selectEligible(fleet("Pc", "Pc", "Pc", "Cc"), noPermits, 80).panic).toBe(true);
  });

  it("measures the warning fallback against the threshold too", () => {
    const r = selectEligible(fleet("Wc", "Cc", "Cc"), noPermits);
    expect(r.panic).toBe(true);
    expect(ids(r.candidates)).toEqual(["i0", "i1", "i2"]);
    expect(r.reason).toMatch(/^panic: 1 of 3 instances warning \(33\.3 %\)/);
  });

  describe("says why nothing is available", () => {
    it.each([
      ["no instances", [], "no instances registered"],
      ["all critical", ["Cc", "Cc"], "all instances critical (2 instances)"],
      ["all critical, some open too", ["Cc", "Co"], "all instances critical (2 instances; 1 of them also with circuits not admitting calls)"],
      ["all circuits open", ["Po", "Wo", "Po"], "all circuits open (3 instances)"],
      ["open or out of permits", ["Po", "Ph"], "all circuits open (2 instances: 1 open, 1 half-open with no trial permit left)"],
      ["all open, some critical", ["Po", "Co"], "all circuits open (2 instances; 1 of them also critical)"],
      ["a mix", ["Cc", "Po", "Wh"], "no instance available, a mix: 1 critical, 1 with circuit open, 1 half-open with no trial permit left"],
    ])("%s", (_name, specs, reason) => {
      expect(selectEligible(fleet(...specs), noPermits)).toEqual({ candidates: [], panic: false, reason });
    });
  });
});
