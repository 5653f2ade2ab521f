import { createDetector, DEFAULT_THRESHOLD, DETECTOR_ALGORITHMS, type Detector, type DetectorAlgorithm, type Scored } from "../../../../src/domain/anomalies/detectors";
import { constant, drift, levelShiftAt, noise, type Point, rng, spikeAt, STEP_MS, T0, varianceChangeAt } from "./synthetic";

/**
 * The contract every detector keeps (src/domain/anomalies/detectors/types.ts), checked on the same
 * synthetic series for each algorithm: what must alarm at DEFAULT_THRESHOLD, what must not, and
 * the state that survives a restart.
 */

const N = 3000;
const AT = 2000;

function run(d: Detector, points: readonly Point[]): Scored[] {
  return points.map((p) => d.update(p.t, p.v));
}

const scoresOf = (algorithm: DetectorAlgorithm, points: readonly Point[]) => run(createDetector(algorithm), points);
const maxScore = (xs: readonly Scored[], from: number, to: number) => Math.max(...xs.slice(from, to).map((s) => s.score));
const alarms = (xs: readonly Scored[], from: number, to: number) => xs.slice(from, to).filter((s) => s.score >= DEFAULT_THRESHOLD).length;

function expectWellFormed(xs: readonly Scored[]): void {
  for (const s of xs) {
    expect(Number.isFinite(s.score)).toBe(true);
    expect(s.score).toBeGreaterThanOrEqual(0);
    expect(s.score).toBeLessThanOrEqual(1);
    expect(s.expected === null || Number.isFinite(s.expected)).toBe(true);
    expect(["UP", "DOWN"]).toContain(s.direction);
  }
}

describe.each(DETECTOR_ALGORITHMS)("%s detector", (algorithm) => {
  it("scores plain noise below the threshold once warmed up", () => {
    const xs = scoresOf(algorithm, noise(N));
    expectWellFormed(xs);
    expect(alarms(xs, 500, N)).toBe(0);
    expect(xs[0]!.expected).toBeNull();
    expect(xs[N - 1]!.expected).toBeCloseTo(100, 0);
  });

  it("alarms on a spike, UP, at the spike itself", () => {
    const xs = scoresOf(algorithm, spikeAt(N, AT, 40));
    expectWellFormed(xs);
    expect(maxScore(xs, 500, AT)).toBeLessThan(DEFAULT_THRESHOLD);
    expect(xs[AT]!.score).toBeGreaterThanOrEqual(DEFAULT_THRESHOLD);
    expect(xs[AT]!.direction).toBe("UP");
  });

  it("alarms on a downward level shift, then settles instead of alarming forever", () => {
    const xs = scoresOf(algorithm, levelShiftAt(N + 2000, AT, -25));
    expectWellFormed(xs);
    expect(maxScore(xs, AT, AT + 10)).toBeGreaterThanOrEqual(DEFAULT_THRESHOLD);
    expect(xs.slice(AT, AT + 10).find((s) => s.score >= DEFAULT_THRESHOLD)!.direction).toBe("DOWN");
    expect(alarms(xs, AT + 1500, N + 2000)).toBe(0);
  });

  it("alarms on a variance change", () => {
    const xs = scoresOf(algorithm, varianceChangeAt(N, AT, 10));
    expectWellFormed(xs);
    expect(maxScore(xs, AT, AT + 300)).toBeGreaterThanOrEqual(DEFAULT_THRESHOLD);
  });

  it("follows a slow drift: no alarm in its second half", () => {
    // 0.01 standard deviations per point: 40 standard deviations over the series
    const xs = scoresOf(algorithm, drift(2 * N, 0.01));
    expectWellFormed(xs);
    expect(alarms(xs, N, 2 * N)).toBe(0);
  });

  it("handles a constant series without NaN, then flags the first change", () => {
    const points = [...constant(1000, 42), { t: T0 + 1000 * STEP_MS, v: 43 }];
    const xs = scoresOf(algorithm, points);
    expectWellFormed(xs);
    expect(maxScore(xs, 0, 1000)).toBe(0);
    expect(xs[999]!.expected).toBe(42);
    expect(xs[1000]!.score).toBeGreaterThanOrEqual(DEFAULT_THRESHOLD);
    const zeros = scoresOf(algorithm, constant(500, 0));
    expectWellFormed(zeros);
    expect(maxScore(zeros, 0, 500)).toBe(0);
  });

  it("accepts missing, repeated, backwards and non-finite timestamps", () => {
    const u = rng(3);
    let t = T0;
    const points = noise(N).map((p) => {
      const r = u();
      t += r < 0.05 ? 50 * STEP_MS : r < 0.1 ? 0 : r < 0.12 ? -STEP_MS : STEP_MS * (0.5 + u());
      return { t: r > 0.995 ? NaN : t, v: p.v };
    });
    const xs = scoresOf(algorithm, points);
    expectWellFormed(xs);
    expect(alarms(xs, 500, N)).toBeLessThanOrEqual(1);
  });

  it("skips a non-finite value without learning from it", () => {
    const points = noise(1500);
    const holed = [...points.slice(0, 1000), { t: points[1000]!.t - 1, v: NaN }, { t: points[1000]!.t - 1, v: Infinity }, ...points.slice(1000)];
    const plain = scoresOf(algorithm, points);
    const withHoles = scoresOf(algorithm, holed);
    expect(withHoles[1000]!.score).toBe(0);
    expect(withHoles[1001]!.score).toBe(0);
    expect(withHoles.slice(1002)).toEqual(plain.slice(1000));
  });

  it("resumes exactly from a JSON snapshot", () => {
    const points = levelShiftAt(N, 1700, 15);
    const a = createDetector(algorithm);
    run(a, points.slice(0, 1500));
    const snap = JSON.parse(JSON.stringify(a.snapshot())) as ReturnType<Detector["snapshot"]>;
    expect(snap.algorithm).toBe(algorithm);
    const b = createDetector(algorithm, snap);
    expect(run(b, points.slice(1500))).toEqual(run(a, points.slice(1500)));
    expect(JSON.stringify(b.snapshot())).toBe(JSON.stringify(a.snapshot()));
  });

  it("keeps its state bounded: the snapshot after 100k points is no larger than after 10k", () => {
    const d = createDetector(algorithm);
    const g = noise(100_000, 11);
    run(d, g.slice(0, 10_000));
    const at10k = JSON.stringify(d.snapshot()).length;
    run(d, g.slice(10_000));
    const at100k = JSON.stringify(d.snapshot()).length;
    expect(at100k).toBeLessThanOrEqual(at10k * 1.05);
    expect(at100k).toBeLessThan(64 * 1024);
  });

  it("ignores a snapshot of another algorithm, another version or garbage, and starts fresh", () => {
    const warm = createDetector(algorithm);
    run(warm, noise(1000));
    const snap = warm.snapshot();
    const other = DETECTOR_ALGORITHMS.find((a) => a !== algorithm)!;
    for (const bad of [
      { ...snap, algorithm: other },
      { ...snap, version: snap.version - 1 },
      { ...snap, state: null },
      { ...snap, state: { nonsense: [1, "x", null] } },
    ]) {
      const fresh = createDetector(algorithm, bad);
      expect(fresh.algorithm).toBe(algorithm);
      expect(fresh.update(T0, 100)).toEqual({ score: 0, expected: null, direction: "UP" });
    }
  });
});

describe("SEASONAL and AUTO on a daily cycle", () => {
  const DAY = 288;
  const daily = (n: number, anomalyAt?: number) =>
    noise(n, 5).map((p, i) => ({ t: p.t, v: p.v + 20 * Math.sin((2 * Math.PI * (i % DAY)) / DAY) + (anomalyAt !== undefined && i >= anomalyAt && i < anomalyAt + 12 ? 20 : 0) }));

  it.each(["SEASONAL", "AUTO"] as const)("%s learns the cycle and flags an hour at the wrong level for its time of day", (algorithm) => {
    // the anomaly is 20 above the profile at the cycle's low point: still inside the all-time range
    const at = 10 * DAY + Math.round(0.75 * DAY);
    const xs = scoresOf(algorithm, daily(14 * DAY, at));
    expectWellFormed(xs);
    expect(alarms(xs, 5 * DAY, at)).toBe(0);
    expect(maxScore(xs, at, at + 12)).toBeGreaterThanOrEqual(DEFAULT_THRESHOLD);
    const exp = xs[at - 1]!.expected!;
    expect(Math.abs(exp - (100 - 20))).toBeLessThan(4);
  });
});
