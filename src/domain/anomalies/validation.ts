import { BadUserInputError } from "../../errors";
import { MatchOp, type SeriesSelector } from "../metrics";
import { compileSelector } from "../metrics/selector";
import { AnomalyAlgorithm, type AnomalyMonitorInput, Direction } from "./types";

/**
 * Input rules of the monitor mutations, in plain code so that in-process callers get them too.
 * Every problem is BAD_USER_INPUT naming the argument path; callers validate before writing.
 */

export const MAX_MONITOR_NAME_LENGTH = 200;
/** the engine scores every point of every watched series once per monitor: bounded per tenant */
export const MAX_MONITORS_PER_TENANT = 100;

export interface MonitorSpec {
  name: string;
  selector: { name: string; matchers: Array<{ label: string; op: MatchOp; value: string }> };
  algorithm: AnomalyAlgorithm;
  threshold: number;
  direction: Direction;
  enabled: boolean;
}

const ALGORITHMS = new Set<string>(Object.values(AnomalyAlgorithm));
const DIRECTIONS = new Set<string>(Object.values(Direction));

/** The selector in its stored form (every matcher with its op), after compileSelector has checked it. */
export function normaliseSelector(selector: SeriesSelector, field: string): MonitorSpec["selector"] {
  if (selector === null || typeof selector !== "object") throw new BadUserInputError(field, "is required");
  compileSelector(selector, field);
  return {
    name: selector.name,
    matchers: (selector.matchers ?? []).map((m) => ({ label: m.label, op: m.op ?? MatchOp.EQ, value: m.value })),
  };
}

export function validateMonitorInput(input: AnomalyMonitorInput, defaultThreshold: number): MonitorSpec {
  const name = typeof input.name === "string" ? input.name.trim() : "";
  if (name.length === 0 || name.length > MAX_MONITOR_NAME_LENGTH) {
    throw new BadUserInputError("input.name", `must be 1–${MAX_MONITOR_NAME_LENGTH} characters (not only spaces)`);
  }
  const selector = normaliseSelector(input.selector, "input.selector");
  const algorithm = input.algorithm ?? AnomalyAlgorithm.AUTO;
  if (!ALGORITHMS.has(algorithm)) throw new BadUserInputError("input.algorithm", `must be one of ${[...ALGORITHMS].join(", ")}`);
  const threshold = input.threshold ?? defaultThreshold;
  if (typeof threshold !== "number" || !Number.isFinite(threshold) || threshold < 0 || threshold > 1) {
    throw new BadUserInputError("input.threshold", "must be a score from 0 to 1");
  }
  const direction = input.direction ?? Direction.BOTH;
  if (!DIRECTIONS.has(direction)) throw new BadUserInputError("input.direction", `must be one of ${[...DIRECTIONS].join(", ")}`);
  return { name, selector, algorithm, threshold, direction, enabled: input.enabled ?? true };
}
