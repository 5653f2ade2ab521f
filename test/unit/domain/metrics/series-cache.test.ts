import { SeriesIdCache } from "../../../../src/domain/metrics/series-cache";

describe("SeriesIdCache", () => {
  it("keeps entries per tenant: the same key of two tenants is two entries", () => {
    const c = new SeriesIdCache<string>(10);
    c.set("t1", "m{}", "1");
    c.set("t2", "m{}", "2");
    expect(c.get("t1", "m{}")).toBe("1");
    expect(c.get("t2", "m{}")).toBe("2");
    expect(c.get("t3", "m{}")).toBeUndefined();
  });

  it("holds at most max entries, keeps those used since the last turn and drops those unused for two", () => {
    const c = new SeriesIdCache<number>(4); // a generation turns at 2 entries
    c.set("t", "k0", 0);
    c.set("t", "k1", 1); // turn: old {k0 k1}
    c.set("t", "k2", 2);
    expect(c.get("t", "k0")).toBe(0); // promoted: young {k2 k0} turns, {k0 k1} is dropped
    expect(c.get("t", "k1")).toBeUndefined();
    c.set("t", "k3", 3);
    c.set("t", "k4", 4); // turn: old {k3 k4}, {k2 k0} is dropped
    expect(c.get("t", "k2")).toBeUndefined();
    expect(c.get("t", "k0")).toBeUndefined();
    expect(c.get("t", "k3")).toBe(3);
    for (let i = 0; i < 100; i++) {
      c.set("t", `n${i}`, i);
      expect(c.size).toBeLessThanOrEqual(4);
    }
  });

  it("setting a key again does not count twice", () => {
    const c = new SeriesIdCache<number>(4);
    c.set("t", "a", 1);
    c.set("t", "a", 2);
    c.set("t", "b", 3); // the second distinct key turns the generation
    c.set("t", "c", 4);
    expect(c.get("t", "a")).toBe(2);
  });

  it("forgets a tenant in both generations, and only that tenant", () => {
    const c = new SeriesIdCache<number>(4);
    c.set("t1", "a", 1);
    c.set("t2", "a", 2); // turns: both old
    c.set("t1", "b", 3);
    c.forgetTenant("t1");
    expect(c.get("t1", "a")).toBeUndefined();
    expect(c.get("t1", "b")).toBeUndefined();
    expect(c.get("t2", "a")).toBe(2);
  });
});
