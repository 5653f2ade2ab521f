import { ConsistentHashBalancer, type Candidate } from "../../../../src/domain/registry/engine/balancers";
import { buildRing, ringOwner } from "../../../../src/domain/registry/engine/balancers/hash-ring";
import { hash32 } from "../../../../src/domain/registry/engine/balancers/hash";
import { seededRandom } from "../../../../src/lib/seeded-random";
import { expectShares, shares } from "./helpers";

const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

function instances(n: number, weight = 1): Candidate[] {
  return Array.from({ length: n }, (_, i) => ({ id: `10.0.${i}.7:8080`, weight, activeRequests: 0 }));
}

/** key → instance id for every key. */
function assign(b: ConsistentHashBalancer, list: readonly Candidate[], keys: readonly string[] = KEYS): Map<string, string> {
  const random = seededRandom(1);
  return new Map(keys.map((hashKey) => [hashKey, b.pick(list, { hashKey, random })!.id]));
}

function moved(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...before.keys()].filter((k) => before.get(k) !== after.get(k));
}

describe("CONSISTENT_HASH", () => {
  it("sends the same key to the same instance, in this balancer and in a fresh one (another process)", () => {
    const list = instances(10);
    const first = assign(new ConsistentHashBalancer(), list);
    expect(assign(new ConsistentHashBalancer(), list)).toEqual(first);
    const b = new ConsistentHashBalancer();
    assign(b, list);
    expect(assign(b, list)).toEqual(first);
  });

  it("spreads 10,000 keys evenly enough over 10 instances", () => {
    const picked = [...assign(new ConsistentHashBalancer(), instances(10)).values()];
    const expected = Object.fromEntries(instances(10).map((c) => [c.id, 10]));
    expectShares(shares(picked), expected, 3);
  });

  it("moves only the keys of a removed instance: about 1/10 of them when one of 10 leaves", () => {
    const b = new ConsistentHashBalancer();
    const list = instances(10);
    const before = assign(b, list);
    const gone = list[3]!.id;
    const after = assign(b, list.filter((c) => c.id !== gone));
    const m = moved(before, after);
    expect(m.length / KEYS.length).toBeGreaterThanOrEqual(0.08);
    expect(m.length / KEYS.length).toBeLessThanOrEqual(0.12);
    expect(m.every((k) => before.get(k) === gone)).toBe(true);
    expect(m).toHaveLength([...before.values()].filter((id) => id === gone).length);
  });

  it("moves only keys onto an instance that joins, about 1/(n+1) of them", () => {
    const b = new ConsistentHashBalancer();
    const list = instances(10);
    const before = assign(b, list);
    const joined: Candidate = { id: "10.0.99.7:8080", weight: 1, activeRequests: 0 };
    const after = assign(b, [...list, joined]);
    const m = moved(before, after);
    expect(m.every((k) => after.get(k) === joined.id)).toBe(true);
    expect(m.length / KEYS.length).toBeGreaterThan(0.06);
    expect(m.length / KEYS.length).toBeLessThan(0.13);
  });

  it("does not depend on the order of the list, and reordering does not rebuild the ring", () => {
    const b = new ConsistentHashBalancer();
    const list = instances(20);
    const before = assign(b, list);
    const reversed = [...list].reverse();
    expect(assign(b, reversed)).toEqual(before);
    expect(assign(new ConsistentHashBalancer(), reversed)).toEqual(before);
    expect(b.ringBuilds).toBe(1);
  });

  it("returns the object from the current list, and rebuilds only when the id set or a weight changes", () => {
    const b = new ConsistentHashBalancer();
    const ctx = { hashKey: "session-1", random: Math.random };
    const list = instances(5);
    b.pick(list, ctx);
    // fresh objects with new load figures: same set, no rebuild
    const fresh = list.map((c) => ({ ...c, activeRequests: 9 }));
    const picked = b.pick(fresh, ctx)!;
    expect(fresh).toContain(picked);
    expect(picked.activeRequests).toBe(9);
    expect(b.ringBuilds).toBe(1);
    b.pick(fresh.slice(1), ctx);
    expect(b.ringBuilds).toBe(2);
    b.pick(fresh.slice(1).map((c, i) => (i === 0 ? { ...c, weight: 2 } : c)), ctx);
    expect(b.ringBuilds).toBe(3);
    // the same length with another id is a different set
    b.pick([...fresh.slice(2), { id: "other", weight: 1, activeRequests: 0 }, fresh[1]!], ctx);
    expect(b.ringBuilds).toBe(4);
  });

  it("gives heavier instances a proportionally larger share of keys", () => {
    const list = [
      { id: "big", weight: 3, activeRequests: 0 },
      { id: "small-1", weight: 1, activeRequests: 0 },
      { id: "small-2", weight: 1, activeRequests: 0 },
    ];
    expectShares(shares([...assign(new ConsistentHashBalancer(), list).values()]), { big: 60, "small-1": 20, "small-2": 20 }, 4);
  });

  it("falls back to weighted random without a hash key (null, undefined or empty)", () => {
    const list = [
      { id: "a", weight: 5, activeRequests: 0 },
      { id: "b", weight: 3, activeRequests: 0 },
      { id: "c", weight: 2, activeRequests: 0 },
    ];
    for (const hashKey of [null, undefined, ""]) {
      const b = new ConsistentHashBalancer();
      const random = seededRandom(17);
      const picked = Array.from({ length: 10_000 }, () => b.pick(list, { hashKey, random })!.id);
      expectShares(shares(picked), { a: 50, b: 30, c: 20 });
      expect(b.ringBuilds).toBe(0);
    }
  });

  it("resolves two instances on one ring position the same way whatever their input order", () => {
    const ring = buildRing([
      { id: "x", weight: 1 },
      { id: "y", weight: 1 },
    ]);
    const again = buildRing([
      { id: "y", weight: 1 },
      { id: "x", weight: 1 },
    ]);
    expect(again.members).toEqual(ring.members);
    expect(Array.from(again.points)).toEqual(Array.from(ring.points));
    expect(Array.from(again.owners)).toEqual(Array.from(ring.owners));
    // the ring wraps: a key above the last point belongs to the first point's owner
    expect(ringOwner(ring, 0xffffffff)).toBe(ring.points[ring.points.length - 1] === 0xffffffff ? ring.owners[ring.points.length - 1] : ring.owners[0]);
    expect(ringOwner(buildRing([]), hash32("k"))).toBe(-1);
  });

  it("builds 200 points per instance of the smallest weight", () => {
    expect(buildRing([{ id: "a", weight: 2 }, { id: "b", weight: 4 }]).points.length).toBe(600);
    expect(buildRing([{ id: "a", weight: 2 }, { id: "b", weight: 4 }]).owners.filter((o) => o === 1).length).toBe(400);
  });
});
