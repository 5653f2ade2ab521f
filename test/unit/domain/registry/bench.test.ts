import { STRATEGIES } from "../../../../src/domain/registry/engine/balancers";
import { measurePickLatency } from "../../../../src/domain/registry/engine/bench";

// Shape only: timings are never asserted (machines are noisy); the figures come from a benchmark run.
describe("measurePickLatency", () => {
  it.each(STRATEGIES)("%s returns ordered, finite figures", (strategy) => {
    const r = measurePickLatency(strategy, 20, 50);
    expect(r).toMatchObject({ strategy, candidates: 20, picks: 50 });
    for (const v of [r.firstPickUs, r.p50Us, r.p99Us, r.maxUs]) expect(Number.isFinite(v) && v >= 0).toBe(true);
    expect(r.p50Us).toBeLessThanOrEqual(r.p99Us);
    expect(r.p99Us).toBeLessThanOrEqual(r.maxUs);
  });
});
