/**
 * CONSISTENT_HASH: a ring with virtual nodes over the candidate ids (see hash-ring.ts), keyed by
 * `ctx.hashKey`. The same key reaches the same instance while the set of instances is unchanged,
 * and when one of n instances leaves only its ≈ 1/n of the keys move.
 *
 * Without a hash key (`hashKey` null, undefined or "") the pick falls back to WEIGHTED random:
 * there is nothing to be consistent about, and pinning every keyless request to one instance would
 * make a hot spot. The empty string counts as "no key" for the same reason (an absent header read
 * as "").
 *
 * The ring is rebuilt only when the set of (id, weight) pairs changes; weights are part of the set
 * because they size each instance's share of the ring. A changed order alone costs an O(n) remap,
 * no rebuild. Every pick checks the set in O(n) (pointer-equal strings compare in one step), then
 * looks the key up in O(log points).
 *
 * Weight-0 candidates are not on the ring (unless all are 0, then all are, at weight 1).
 */
import { type HashRing, buildRing, ringOwner } from "./hash-ring";
import { hash32 } from "./hash";
import { type Balancer, type Candidate, type PickContext } from "./types";
import { weightOf, weightProfile, weightedIndex } from "./weights";

interface Known {
  weight: number;
  /** index in ring.members, -1 when not on the ring (weight 0) */
  rank: number;
  /** sync round in which this id was last matched, to catch duplicate ids */
  seen: number;
}

export class ConsistentHashBalancer implements Balancer {
  private ring: HashRing = buildRing([]);
  /** the previous call's list, by position: the fast path compares against it */
  private ids: string[] = [];
  private weights: number[] = [];
  private known = new Map<string, Known>();
  /** slot[rank] = index in the previous call's list of ring member `rank` */
  private slot = new Int32Array(0);
  private round = 0;
  private builds = 0;

  /** How many times the ring has been built: lets tests check rebuilds happen only on set changes. */
  get ringBuilds(): number {
    return this.builds;
  }

  pick(candidates: readonly Candidate[], ctx: PickContext): Candidate | undefined {
    if (candidates.length === 0) return undefined;
    const key = ctx.hashKey;
    if (key === null || key === undefined || key === "") {
      const profile = weightProfile(candidates);
      return candidates[weightedIndex(candidates, profile, profile.total, ctx.random)];
    }
    this.sync(candidates);
    const rank = ringOwner(this.ring, hash32(key));
    return rank < 0 ? undefined : candidates[this.slot[rank]!];
  }

  private sync(candidates: readonly Candidate[]): void {
    if (this.samePositions(candidates)) return;
    if (this.sameSet(candidates)) {
      this.remember(candidates);
      return;
    }
    this.rebuild(candidates);
  }

  private samePositions(candidates: readonly Candidate[]): boolean {
    if (candidates.length !== this.ids.length) return false;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      if (c.id !== this.ids[i] || weightOf(c) !== this.weights[i]) return false;
    }
    return true;
  }

  /** Same ids and weights in another order (and no duplicates standing in for a missing id). */
  private sameSet(candidates: readonly Candidate[]): boolean {
    if (candidates.length !== this.known.size) return false;
    const round = ++this.round;
    for (const c of candidates) {
      const k = this.known.get(c.id);
      if (k === undefined || k.weight !== weightOf(c) || k.seen === round) return false;
      k.seen = round;
    }
    return true;
  }

  /** Records the list's order: the positional snapshot and where each ring member now sits. */
  private remember(candidates: readonly Candidate[]): void {
    this.ids = candidates.map((c) => c.id);
    this.weights = candidates.map(weightOf);
    for (let i = 0; i < candidates.length; i++) {
      const rank = this.known.get(candidates[i]!.id)!.rank;
      if (rank >= 0) this.slot[rank] = i;
    }
  }

  private rebuild(candidates: readonly Candidate[]): void {
    const allZero = weightProfile(candidates).allZero;
    this.known = new Map();
    const members: Array<{ id: string; weight: number }> = [];
    for (const c of candidates) {
      // a duplicated id keeps its first entry; the snapshot below still holds every position
      if (this.known.has(c.id)) continue;
      const w = weightOf(c);
      this.known.set(c.id, { weight: w, rank: -1, seen: 0 });
      if (w > 0 || allZero) members.push({ id: c.id, weight: allZero ? 1 : w });
    }
    this.ring = buildRing(members);
    this.builds++;
    this.ring.members.forEach((id, rank) => (this.known.get(id)!.rank = rank));
    this.slot = new Int32Array(this.ring.members.length);
    // A list with a duplicated id breaks the contract but still works: the id is on the ring once,
    // at its first weight, and picks return its last position in the list.
    this.remember(candidates);
  }
}
