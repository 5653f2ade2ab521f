import { performance } from "node:perf_hooks";
import { createDetector, type Detector, type DetectorAlgorithm } from "../src/domain/anomalies/detectors";

/**
 * Pure throughput of the streaming detectors, in this process, with no I/O: the points are made
 * before the clock starts, so only `Detector.update` is timed. The series look like a monitored
 * gauge: a daily cycle sampled every 5 minutes, Gaussian noise, a few spikes and a level shift
 * (a deterministic generator, so runs are comparable). Called by `npm run bench:anomaly`.
 */

export interface ThroughputOptions {
  /** how many series the points are spread over, round-robin (default 1: one detector) */
  series?: number;
  /** untimed points pushed first, so the JIT has compiled the hot path (default 20,000) */
  warmupPoints?: number;
}

export interface ThroughputResult {
  pointsPerSecond: number;
  points: number;
  series: number;
  seconds: number;
}

const STEP_MS = 300_000;
const DAY_POINTS = 288;

/** A deterministic, realistic-looking gauge (mulberry32 noise): `n` values of series number `seed`. */
export function realisticSeries(n: number, seed = 1): Float64Array {
  let a = (seed * 0x9e3779b9) >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
  const out = new Float64Array(n);
  const base = 40 + 10 * (seed % 5);
  for (let i = 0; i < n; i++) {
    const daily = 15 * Math.sin((2 * Math.PI * (i % DAY_POINTS)) / DAY_POINTS);
    const shift = i > n * 0.7 ? 12 : 0;
    const spike = uniform() < 0.0005 ? 60 : 0;
    out[i] = Math.round((base + daily + shift + spike + 3 * gauss()) * 1000) / 1000;
  }
  return out;
}

/** Points per second through `algorithm`'s update, over `points` points spread over `options.series` series. */
export function measureDetectorThroughput(algorithm: DetectorAlgorithm, points: number, options: ThroughputOptions = {}): ThroughputResult {
  const seriesCount = Math.max(1, Math.floor(options.series ?? 1));
  const perSeries = Math.max(1, Math.ceil(points / seriesCount));
  const data = Array.from({ length: Math.min(seriesCount, 16) }, (_, k) => realisticSeries(perSeries, k + 1));
  const detectors: Detector[] = Array.from({ length: seriesCount }, () => createDetector(algorithm));
  const t0Ms = Date.UTC(2024, 0, 1);

  const warm = createDetector(algorithm);
  const warmData = realisticSeries(options.warmupPoints ?? 20_000, 99);
  for (let i = 0; i < warmData.length; i++) warm.update(t0Ms + i * STEP_MS, warmData[i]!);

  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < perSeries; i++) {
    const ts = t0Ms + i * STEP_MS;
    for (let k = 0; k < seriesCount; k++) sink += detectors[k]!.update(ts, data[k % data.length]![i]!).score;
  }
  const seconds = (performance.now() - start) / 1000;
  if (Number.isNaN(sink)) throw new Error(`${algorithm} produced a NaN score`);
  const done = perSeries * seriesCount;
  return { pointsPerSecond: done / seconds, points: done, series: seriesCount, seconds };
}
