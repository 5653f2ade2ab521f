import { BALANCERS, STRATEGIES, type Candidate, type Strategy } from "../../../../src/domain/registry/engine/balancers";
import { seededRandom } from "../../../../src/lib/seeded-random";
import { candidates, expectShares, sequence, shares } from "./helpers";

const PICKS = 10_000;

describe("the balancer registry", () => {
  it("has a fresh balancer for every strategy", () => {
    expect(Object.keys(BALANCERS).sort()).toEqual([...STRATEGIES].sort());
    for (const s of STRATEGIES) expect(BALANCERS[s]()).not.toBe(BALANCERS[s]());
  });

  it.each(STRATEGIES)("%s returns undefined for no candidates and the only one for one", (strategy) => {
    const b = BALANCERS[strategy]();
    expect(b.pick([], { random: Math.random, hashKey: "k" })).toBeUndefined();
    const only = candidates([3]);
    expect(b.pick(only, { random: Math.random, hashKey: "k" })).toBe(only[0]);
  });

  it.each(STRATEGIES)("%s never picks weight 0 while some weight is positive, over 1,000 picks", (strategy) => {
    const list = candidates([0, 2, 0, 1]);
    const b = BALANCERS[strategy]();
    const random = seededRandom(7);
    for (let i = 0; i < 1_000; i++) {
      expect(["b", "d"]).toContain(b.pick(list, { random, hashKey: `key-${i}` })!.id);
    }
  });

  it.each(STRATEGIES)("%s spreads over everyone when all weights are 0", (strategy) => {
    const list = candidates([0, 0, 0, 0]);
    const b = BALANCERS[strategy]();
    const random = seededRandom(3);
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) seen.add(b.pick(list, { random, hashKey: `key-${i}` })!.id);
    expect([...seen].sort()).toEqual(["a", "b", "c", "d"]);
  });

  it.each(STRATEGIES)("%s stays in bounds when random() returns 0 or exactly 1 (or a bad value)", (strategy) => {
    const list = candidates([1, 2, 3], [5, 5, 5]);
    for (const r of [0, 1, 0.999999999, -0.5, 7]) {
      expect(list).toContain(BALANCERS[strategy]().pick(list, { random: () => r }));
    }
  });

  it.each(STRATEGIES)("%s treats negative and non-finite weights as 0", (strategy) => {
    const list = candidates([-1, Number.NaN, Number.POSITIVE_INFINITY, 1]);
    const b = BALANCERS[strategy]();
    const random = seededRandom(11);
    for (let i = 0; i < 200; i++) expect(b.pick(list, { random, hashKey: `k${i}` })!.id).toBe("d");
  });
});

describe("ROUND_ROBIN (nginx smooth weighted)", () => {
  const rr = () => BALANCERS.ROUND_ROBIN();

  it("gives a a b a c a a for weights 5, 1, 1, period after period", () => {
    expect(sequence(rr(), candidates([5, 1, 1]), 14).join(" ")).toBe("a a b a c a a a a b a c a a");
  });

  it("rotates in list order when weights are equal", () => {
    expect(sequence(rr(), candidates([1, 1, 1]), 7).join("")).toBe("abcabca");
  });

  it("honours 5:3:2 exactly over whole periods", () => {
    const picked = sequence(rr(), candidates([5, 3, 2]), PICKS);
    expect(shares(picked)).toEqual({ a: 50, b: 30, c: 20 });
    // interleaved, not bunched: never more than two a's in a row
    expect(picked.join("")).not.toContain("aaa");
  });

  it("keeps the proportions when the list arrives in a different order each time", () => {
    const b = rr();
    const list = candidates([5, 3, 2]);
    const random = seededRandom(5);
    const picked: string[] = [];
    for (let i = 0; i < PICKS; i++) {
      const shuffled = [...list].sort(() => random() - 0.5);
      picked.push(b.pick(shuffled, { random })!.id);
    }
    expectShares(shares(picked), { a: 50, b: 30, c: 20 }, 0.1);
  });

  it("follows instances that come and go, keyed by id", () => {
    const b = rr();
    const [a, bb, c] = candidates([1, 1, 1]);
    const ctx = { random: Math.random };
    expect([b.pick([a!, bb!, c!], ctx)!.id, b.pick([a!, bb!, c!], ctx)!.id]).toEqual(["a", "b"]);
    // b leaves: the scores left behind skew the next few picks by at most one, never the ratio
    const without = Array.from({ length: 100 }, () => b.pick([a!, c!], ctx)!.id);
    expect(Math.abs(without.filter((id) => id === "a").length - 50)).toBeLessThanOrEqual(1);
    // a new instance joins at score 0 and gets its third straight away
    const d: Candidate = { id: "d", weight: 1, activeRequests: 0 };
    const next = Array.from({ length: 300 }, () => b.pick([a!, c!, d], ctx)!.id);
    expect(next.slice(0, 3)).toContain("d");
    for (const id of ["a", "c", "d"]) expect(Math.abs(next.filter((x) => x === id).length - 100)).toBeLessThanOrEqual(1);
  });
});

describe("LEAST_CONNECTIONS", () => {
  it("picks the fewest active requests", () => {
    const list = candidates([1, 1, 1, 1], [7, 3, 9, 4]);
    expect(new Set(sequence(BALANCERS.LEAST_CONNECTIONS(), list, 100))).toEqual(new Set(["b"]));
  });

  it("breaks ties uniformly at random", () => {
    const list = candidates([1, 1, 1, 1], [2, 5, 2, 2]);
    expectShares(shares(sequence(BALANCERS.LEAST_CONNECTIONS(), list, PICKS)), { a: 33.33, c: 33.33, d: 33.33 });
  });

  it("skips a weight-0 candidate even when it is the least loaded", () => {
    const list = candidates([0, 1, 1], [0, 4, 3]);
    expect(new Set(sequence(BALANCERS.LEAST_CONNECTIONS(), list, 100))).toEqual(new Set(["c"]));
  });
});

describe("WEIGHTED", () => {
  it("picks in proportion to weight (5:3:2 within ±2 points over 10,000 picks)", () => {
    expectShares(shares(sequence(BALANCERS.WEIGHTED(), candidates([5, 3, 2]), PICKS)), { a: 50, b: 30, c: 20 });
  });

  it("handles fractional weights", () => {
    expectShares(shares(sequence(BALANCERS.WEIGHTED(), candidates([0.25, 0.75]), PICKS, 9)), { a: 25, b: 75 });
  });
});

describe("RANDOM", () => {
  it("is uniform and ignores non-zero weights", () => {
    expectShares(shares(sequence(BALANCERS.RANDOM(), candidates([1, 10, 100, 1000]), PICKS)), { a: 25, b: 25, c: 25, d: 25 });
  });

  it("is uniform over the positive-weight candidates only", () => {
    expectShares(shares(sequence(BALANCERS.RANDOM(), candidates([1, 0, 1, 0, 1]), PICKS)), { a: 33.33, c: 33.33, e: 33.33 });
  });
});

describe("POWER_OF_TWO (Envoy least request, two choices)", () => {
  it("prefers the less loaded of two distinct random candidates", () => {
    // with two distinct uniform draws the least loaded of four wins 3 of the 6 pairs, the next 2,
    // the next 1 and the most loaded none
    const list = candidates([1, 1, 1, 1], [0, 10, 20, 30]);
    expectShares(shares(sequence(BALANCERS.POWER_OF_TWO(), list, PICKS)), { a: 50, b: 33.33, c: 16.67, d: 0 });
  });

  it("always takes the less loaded of two candidates (draws are distinct)", () => {
    const list = candidates([1, 1], [4, 1]);
    expect(new Set(sequence(BALANCERS.POWER_OF_TWO(), list, 1_000))).toEqual(new Set(["b"]));
  });

  it("draws by weight when weights differ (equal loads: the first draw wins)", () => {
    expectShares(shares(sequence(BALANCERS.POWER_OF_TWO(), candidates([5, 3, 2], [1, 1, 1]), PICKS)), { a: 50, b: 30, c: 20 });
  });

  it("with unequal weights still never returns the most loaded of two", () => {
    const list = candidates([1, 9], [3, 8]);
    expect(new Set(sequence(BALANCERS.POWER_OF_TWO(), list, 1_000))).toEqual(new Set(["a"]));
  });
});

describe("seeded picks are reproducible", () => {
  it.each(["WEIGHTED", "RANDOM", "POWER_OF_TWO", "LEAST_CONNECTIONS"] as Strategy[])("%s", (strategy) => {
    const list = candidates([3, 1, 2, 4], [1, 1, 0, 2]);
    expect(sequence(BALANCERS[strategy](), list, 200, 99)).toEqual(sequence(BALANCERS[strategy](), list, 200, 99));
  });
});
