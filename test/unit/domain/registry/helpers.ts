import { type Balancer, type Candidate, type PickContext } from "../../../../src/domain/registry/engine/balancers";
import { seededRandom } from "../../../../src/lib/seeded-random";

/** Candidates a, b, c… with the given weights and (optionally) active requests. */
export function candidates(weights: readonly number[], active: readonly number[] = []): Candidate[] {
  return weights.map((weight, i) => ({ id: String.fromCharCode(97 + i), weight, activeRequests: active[i] ?? 0 }));
}

/** Ids picked over `picks` picks, with a seeded random. */
export function sequence(balancer: Balancer, list: readonly Candidate[], picks: number, seed = 42): string[] {
  const ctx: PickContext = { random: seededRandom(seed) };
  return Array.from({ length: picks }, () => balancer.pick(list, ctx)?.id ?? "-");
}

/** Share of the picks per id, in percent. */
export function shares(picked: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of picked) out[id] = (out[id] ?? 0) + 1;
  for (const id of Object.keys(out)) out[id] = (100 * out[id]!) / picked.length;
  return out;
}

/** Every id's share is within `tolerance` percentage points of the expected one (absent = 0 %). */
export function expectShares(actual: Record<string, number>, expected: Record<string, number>, tolerance = 2): void {
  for (const id of new Set([...Object.keys(actual), ...Object.keys(expected)])) {
    const got = actual[id] ?? 0;
    const want = expected[id] ?? 0;
    if (Math.abs(got - want) > tolerance) {
      throw new Error(`share of ${id}: ${got.toFixed(2)} %, want ${want} % ± ${tolerance}: ${JSON.stringify(actual)}`);
    }
  }
}
