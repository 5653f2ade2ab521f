import { BadUserInputError } from "../../errors";
import { type BreakerPolicy, DEFAULT_BREAKER_POLICY, DEFAULT_PANIC_THRESHOLD_PERCENT } from "./engine";
import { type EffectivePolicy, LoadBalancingStrategy, type RetryPolicy, type StoredPolicy } from "./types";
import { serviceNameProblem } from "./validation";

/**
 * Service policies: defaults, the merge of configureService's input over what is stored, and its
 * validation. Only what was configured is stored (services.policy); defaults are applied on every
 * read, so a service that never set a field follows the default.
 */

export const DEFAULT_STRATEGY = LoadBalancingStrategy.ROUND_ROBIN;
/** Stored and returned for clients to apply; Vigil does not proxy calls. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2_000 });
export const MAX_DEPENDENCIES = 100;

export interface CircuitBreakerPolicyInput {
  failureRateThreshold?: number | null;
  slowCallDurationMs?: number | null;
  slowCallRateThreshold?: number | null;
  windowSize?: number | null;
  minimumCalls?: number | null;
  openStateSeconds?: number | null;
  halfOpenCalls?: number | null;
}

export interface RetryPolicyInput {
  maxAttempts?: number | null;
  baseDelayMs?: number | null;
  maxDelayMs?: number | null;
}

export interface ServicePolicyInput {
  strategy?: LoadBalancingStrategy | null;
  circuitBreaker?: CircuitBreakerPolicyInput | null;
  retry?: RetryPolicyInput | null;
  timeoutMs?: number | null;
  dependencies?: readonly string[] | null;
  panicThresholdPercent?: number | null;
}

export function effectivePolicy(stored: StoredPolicy | null | undefined): EffectivePolicy {
  const s = stored ?? {};
  return {
    strategy: s.strategy ?? DEFAULT_STRATEGY,
    circuitBreaker: { ...DEFAULT_BREAKER_POLICY, ...s.circuitBreaker },
    retry: { ...DEFAULT_RETRY_POLICY, ...s.retry },
    timeoutMs: s.timeoutMs ?? null,
    panicThresholdPercent: s.panicThresholdPercent ?? DEFAULT_PANIC_THRESHOLD_PERCENT,
  };
}

type Range = { min: number; max: number; integer: boolean; minExclusive?: boolean };

const BREAKER_RANGES: Record<keyof BreakerPolicy, Range> = {
  // Resilience4j's own bounds: a threshold of 0 would open the circuit with no failure at all
  failureRateThreshold: { min: 0, max: 100, integer: false, minExclusive: true },
  slowCallRateThreshold: { min: 0, max: 100, integer: false, minExclusive: true },
  slowCallDurationMs: { min: 1, max: 86_400_000, integer: true },
  windowSize: { min: 1, max: 10_000, integer: true },
  minimumCalls: { min: 1, max: 10_000, integer: true },
  openStateSeconds: { min: 1, max: 86_400, integer: true },
  halfOpenCalls: { min: 1, max: 1_000, integer: true },
};

const RETRY_RANGES: Record<keyof RetryPolicy, Range> = {
  maxAttempts: { min: 1, max: 10, integer: true },
  baseDelayMs: { min: 0, max: 3_600_000, integer: true },
  maxDelayMs: { min: 0, max: 3_600_000, integer: true },
};

const TIMEOUT_RANGE: Range = { min: 1, max: 600_000, integer: true };
const PANIC_RANGE: Range = { min: 0, max: 100, integer: false };

export function checkRange(field: string, value: unknown, r: Range): number {
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (!r.integer || Number.isInteger(value)) &&
    (r.minExclusive ? value > r.min : value >= r.min) &&
    value <= r.max;
  if (!ok) {
    const kind = r.integer ? "an integer" : "a number";
    const low = r.minExclusive ? `more than ${r.min}` : `from ${r.min}`;
    throw new BadUserInputError(field, `must be ${kind} ${low} ${r.minExclusive ? "and at most" : "to"} ${r.max}`);
  }
  return value;
}

/**
 * Applies `input` to the stored overrides like a JSON merge patch (RFC 7396): a field given
 * replaces, a field given as null goes back to its default, a field left out stays as it is.
 * Validates every given value and the merged result; throws BAD_USER_INPUT naming
 * `policy.<path>` and changes nothing on error.
 */
export function mergePolicy(
  serviceName: string,
  stored: StoredPolicy,
  storedDependencies: readonly string[],
  input: ServicePolicyInput,
): { policy: StoredPolicy; dependencies: string[] } {
  const next: StoredPolicy = structuredClone(stored);

  if (input.strategy === null) delete next.strategy;
  else if (input.strategy !== undefined) {
    if (!Object.values(LoadBalancingStrategy).includes(input.strategy)) throw new BadUserInputError("policy.strategy", "unknown strategy");
    next.strategy = input.strategy;
  }

  if (input.circuitBreaker === null) delete next.circuitBreaker;
  else if (input.circuitBreaker !== undefined) {
    next.circuitBreaker = patch(next.circuitBreaker ?? {}, input.circuitBreaker, BREAKER_RANGES, "policy.circuitBreaker");
    if (Object.keys(next.circuitBreaker).length === 0) delete next.circuitBreaker;
  }

  if (input.retry === null) delete next.retry;
  else if (input.retry !== undefined) {
    next.retry = patch(next.retry ?? {}, input.retry, RETRY_RANGES, "policy.retry");
    if (Object.keys(next.retry).length === 0) delete next.retry;
  }

  if (input.timeoutMs === null) delete next.timeoutMs;
  else if (input.timeoutMs !== undefined) next.timeoutMs = checkRange("policy.timeoutMs", input.timeoutMs, TIMEOUT_RANGE);

  if (input.panicThresholdPercent === null) delete next.panicThresholdPercent;
  else if (input.panicThresholdPercent !== undefined) {
    next.panicThresholdPercent = checkRange("policy.panicThresholdPercent", input.panicThresholdPercent, PANIC_RANGE);
  }

  const retry = effectivePolicy(next).retry;
  if (retry.baseDelayMs > retry.maxDelayMs) {
    const field = input.retry?.maxDelayMs != null ? "policy.retry.maxDelayMs" : "policy.retry.baseDelayMs";
    throw new BadUserInputError(field, `baseDelayMs (${retry.baseDelayMs}) must not exceed maxDelayMs (${retry.maxDelayMs})`);
  }

  let dependencies = [...storedDependencies];
  if (input.dependencies === null) dependencies = [];
  else if (input.dependencies !== undefined) dependencies = validateDependencies(serviceName, input.dependencies);
  return { policy: next, dependencies };
}

function patch<K extends string>(
  base: Partial<Record<K, number>>,
  input: Partial<Record<K, number | null>>,
  ranges: Record<K, Range>,
  path: string,
): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = { ...base };
  for (const key of Object.keys(ranges) as K[]) {
    const value = input[key];
    if (value === undefined) continue;
    if (value === null) delete out[key];
    else out[key] = checkRange(`${path}.${key}`, value, ranges[key]);
  }
  return out;
}

function validateDependencies(serviceName: string, names: readonly string[]): string[] {
  if (names.length > MAX_DEPENDENCIES) {
    throw new BadUserInputError("policy.dependencies", `at most ${MAX_DEPENDENCIES} dependencies, got ${names.length}`);
  }
  names.forEach((name, i) => {
    const problem = serviceNameProblem(name);
    if (problem) throw new BadUserInputError(`policy.dependencies[${i}]`, problem);
    if (name === serviceName) throw new BadUserInputError(`policy.dependencies[${i}]`, "a service cannot depend on itself");
  });
  return [...new Set(names)];
}
