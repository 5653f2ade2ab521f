import { BadUserInputError } from "../../errors";
import { type MetricType } from "./types";

/**
 * Validation of ingested points, in plain code: this runs on every point of every batch, and
 * class-validator instances cost more than the checks themselves (measured: see BENCHMARKS.md).
 */

export const MAX_POINTS_PER_CALL = 10_000;
export const MAX_NAME_LENGTH = 200;
export const MAX_LABELS = 32;
export const MAX_LABEL_NAME_LENGTH = 100;
export const MAX_LABEL_VALUE_LENGTH = 1024;
export const MAX_FUTURE_MS = 10 * 60_000;
/**
 * The largest magnitude a value may have. Rollups and aggregates keep sums of squares in float8,
 * and PostgreSQL raises an overflow error instead of giving Infinity: one sample of 1e300 stalled
 * the rollup job for every tenant whose markers shared its batch. Below 1e150 a square is below
 * 1e300, and the sum of an hour's samples of a series stays finite.
 */
export const MAX_ABS_VALUE = 1e150;

export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:.-]*$/;
export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface PointInput {
  name: string;
  value: number;
  timestamp?: Date | null;
  type?: MetricType | null;
  labels?: Record<string, unknown> | null;
}

/** A valid point with its series identity: `key` is the canonical `name{k="v",...}` string. */
export interface Point {
  index: number;
  key: string;
  name: string;
  labels: Record<string, string>;
  ts: number;
  value: number;
  type: MetricType | null;
}

/** Problems with a metric name, or undefined when it is valid. */
export function metricNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || name.length === 0) return "must be a non-empty string";
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  if (!METRIC_NAME_RE.test(name)) return "must match [a-zA-Z_:][a-zA-Z0-9_:.-]*";
  return undefined;
}

export function labelNameProblem(key: string): string | undefined {
  if (key.length > MAX_LABEL_NAME_LENGTH) return `label names must be at most ${MAX_LABEL_NAME_LENGTH} characters`;
  if (!LABEL_NAME_RE.test(key)) return `label name ${JSON.stringify(key.slice(0, 40))} must match [a-zA-Z_][a-zA-Z0-9_]*`;
  return undefined;
}

/**
 * Validates labels and returns them with sorted keys, plus the canonical series key. Label
 * values are JSON-quoted in the key, so no value can make two different series collide.
 */
export function canonicalSeries(name: string, labels: Record<string, unknown> | null | undefined, field: string): { key: string; labels: Record<string, string> } {
  if (labels === null || labels === undefined) return { key: `${name}{}`, labels: {} };
  if (typeof labels !== "object" || Array.isArray(labels)) throw new BadUserInputError(field, "must be an object of string values");
  const keys = Object.keys(labels);
  if (keys.length > MAX_LABELS) throw new BadUserInputError(field, `at most ${MAX_LABELS} labels are allowed, got ${keys.length}`);
  if (keys.length > 1) keys.sort();
  const sorted: Record<string, string> = {};
  let key = `${name}{`;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const problem = labelNameProblem(k) ?? (k.startsWith("__") ? "label names starting with __ are reserved (as in Prometheus)" : undefined);
    if (problem) throw new BadUserInputError(`${field}.${k.slice(0, 100)}`, problem);
    const v = labels[k];
    if (typeof v !== "string") throw new BadUserInputError(`${field}.${k}`, "label values must be strings");
    if (v.length > MAX_LABEL_VALUE_LENGTH) throw new BadUserInputError(`${field}.${k}`, `label values must be at most ${MAX_LABEL_VALUE_LENGTH} characters`);
    sorted[k] = v;
    key += `${i ? "," : ""}${k}=${JSON.stringify(v)}`;
  }
  return { key: `${key}}`, labels: sorted };
}

/**
 * Checks every point against the input rules and returns them normalised. The first problem
 * stops the batch with BAD_USER_INPUT naming `points[i].field`; nothing is written.
 */
export function validatePoints(points: readonly PointInput[], now: number, retentionDays: number): Point[] {
  if (points.length > MAX_POINTS_PER_CALL) {
    throw new BadUserInputError("points", `at most ${MAX_POINTS_PER_CALL} points per call, got ${points.length}; split the batch`);
  }
  const oldest = now - retentionDays * 86_400_000;
  const newest = now + MAX_FUTURE_MS;
  const out: Point[] = new Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const field = `points[${i}]`;
    const nameProblem = metricNameProblem(p.name);
    if (nameProblem) throw new BadUserInputError(`${field}.name`, nameProblem);
    if (typeof p.value !== "number" || !Number.isFinite(p.value)) throw new BadUserInputError(`${field}.value`, "must be a finite number");
    if (Math.abs(p.value) > MAX_ABS_VALUE) throw new BadUserInputError(`${field}.value`, "must be at most 1e150 in magnitude");
    let ts = now;
    if (p.timestamp !== null && p.timestamp !== undefined) {
      ts = p.timestamp.getTime();
      if (ts < oldest) throw new BadUserInputError(`${field}.timestamp`, `is older than the tenant's retention of ${retentionDays} days`);
      if (ts > newest) throw new BadUserInputError(`${field}.timestamp`, "is more than 10 minutes in the future");
    }
    const { key, labels } = canonicalSeries(p.name, p.labels, `${field}.labels`);
    out[i] = { index: i, key, name: p.name, labels, ts, value: p.value, type: p.type ?? null };
  }
  return out;
}
