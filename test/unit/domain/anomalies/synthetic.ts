/**
 * Deterministic synthetic series for the detector tests: Gaussian noise around a level, 5-minute
 * steps, and the one kind of change each test is about. Nothing here imports the detectors.
 */
import { seededRandom } from "../../../../src/lib/seeded-random";

export const STEP_MS = 300_000;
export const T0 = Date.UTC(2024, 0, 1);

/** a seeded generator, so every run sees the same series */
export const rng = seededRandom;

export function gaussian(seed: number): () => number {
  const u = rng(seed);
  return () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

export interface Point {
  t: number;
  v: number;
}

/** n points of level + sd·noise + shape(i), 5 minutes apart */
export function series(n: number, shape: (i: number, noise: number) => number, seed = 7, level = 100, sd = 1): Point[] {
  const g = gaussian(seed);
  return Array.from({ length: n }, (_, i) => ({ t: T0 + i * STEP_MS, v: level + shape(i, sd * g()) }));
}

export const noise = (n: number, seed = 7) => series(n, (_, e) => e, seed);
export const spikeAt = (n: number, at: number, size: number) => series(n, (i, e) => e + (i === at ? size : 0));
export const levelShiftAt = (n: number, at: number, size: number) => series(n, (i, e) => e + (i >= at ? size : 0));
export const varianceChangeAt = (n: number, at: number, factor: number) => series(n, (i, e) => (i >= at ? factor * e : e));
export const drift = (n: number, perPoint: number) => series(n, (i, e) => e + perPoint * i);
export const constant = (n: number, value: number) => Array.from({ length: n }, (_, i) => ({ t: T0 + i * STEP_MS, v: value }));
