import { type Scored } from "./types";
import { clamp01 } from "./stats";

/** A Scored whose score is clamped to [0, 1] (NaN → 0) and whose expected is finite or null. */
export function scored(score: number, expected: number | null, value: number): Scored {
  const e = expected !== null && Number.isFinite(expected) ? expected : null;
  return { score: clamp01(Number.isNaN(score) ? 0 : score), expected: e, direction: e !== null && value < e ? "DOWN" : "UP" };
}

/** What a detector answers for a point it cannot use (a non-finite value): no alarm, nothing learnt. */
export function unusable(expected: number | null): Scored {
  return { score: 0, expected: expected !== null && Number.isFinite(expected) ? expected : null, direction: "UP" };
}
