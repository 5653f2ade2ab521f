/**
 * A latency probe for the balancers, for a benchmark script to call (tests never time anything:
 * machines are noisy). The one file of the engine that reads a clock; the engine's index does not export it.
 *
 * Setup: `n` candidates with weights 1–5 and 0–49 active requests, a seeded generator, and a
 * distinct hash key per pick (so CONSISTENT_HASH really hashes). Each pick is timed on its own with
 * process.hrtime.bigint (whose ~50 ns overhead is included). The first pick is reported apart
 * because it includes one-off work (the consistent-hash ring build); then `warmup` picks let the
 * JIT settle before the measured `picks`.
 */
import { BALANCERS } from "./balancers";
import { type Candidate, type PickContext, type Strategy } from "./balancers/types";
import { seededRandom } from "../../../lib/seeded-random";

export interface PickLatency {
  strategy: Strategy;
  candidates: number;
  picks: number;
  /** microseconds */
  firstPickUs: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export function measurePickLatency(strategy: Strategy, n: number, picks: number, seed = 1): PickLatency {
  const random = seededRandom(seed);
  const candidates: Candidate[] = Array.from({ length: n }, (_, i) => ({
    id: `instance-${i.toString(16).padStart(8, "0")}-${Math.floor(random() * 1e9)}`,
    weight: 1 + Math.floor(random() * 5),
    activeRequests: Math.floor(random() * 50),
  }));
  const keys = Array.from({ length: Math.max(1, Math.min(picks, 10_000)) }, (_, i) => `user-${i}`);
  const balancer = BALANCERS[strategy]();
  const ctx: PickContext = { hashKey: keys[0], random };

  const t0 = process.hrtime.bigint();
  balancer.pick(candidates, ctx);
  const firstPickUs = Number(process.hrtime.bigint() - t0) / 1_000;

  const warmup = Math.min(picks, 2_000);
  for (let i = 0; i < warmup; i++) {
    ctx.hashKey = keys[i % keys.length];
    balancer.pick(candidates, ctx);
  }
  const samples = new Float64Array(picks);
  for (let i = 0; i < picks; i++) {
    ctx.hashKey = keys[i % keys.length];
    const start = process.hrtime.bigint();
    const picked = balancer.pick(candidates, ctx);
    samples[i] = Number(process.hrtime.bigint() - start) / 1_000;
    // as a caller would: the picked instance gets busier (keeps LEAST_CONNECTIONS and P2C moving)
    if (picked) picked.activeRequests = (picked.activeRequests + 1) % 50;
  }
  samples.sort();
  const at = (p: number) => (picks === 0 ? 0 : samples[Math.min(picks - 1, Math.ceil((p * picks) / 100) - 1)]!);
  return { strategy, candidates: n, picks, firstPickUs, p50Us: at(50), p99Us: at(99), maxUs: picks === 0 ? 0 : samples[picks - 1]! };
}
