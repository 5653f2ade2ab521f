/**
 * Which instances a balancer may choose from: health checks and circuit breakers filter, Envoy's
 * panic threshold keeps a mostly-failing fleet from concentrating all traffic on its few survivors.
 *
 * Rules, in order:
 * 1. An instance's circuit admits calls when CLOSED, or when HALF_OPEN and `permits(id)` says a
 *    trial permit is left. OPEN never admits: panic does not override circuits either, because
 *    the breaker is a hard local decision and its trial permits are a hard limit.
 * 2. The healthy set is PASSING instances whose circuit admits. If there are none, WARNING
 *    instances whose circuit admits stand in (Envoy's "degraded" hosts, used when no healthy host
 *    is left); `reason` then says so.
 * 3. Panic (Envoy): if the healthy set is under `panicThresholdPercent` % of ALL registered
 *    instances, the candidates become every instance whose circuit admits, whatever its health
 *    (`panic: true`). Spreading load over possibly-sick instances beats piling the whole load on
 *    the few healthy ones and knocking them over too. Exactly at the threshold is not panic; a
 *    threshold of 0 disables panic.
 * 4. Deliberate difference from Envoy: panic needs at least one healthy (or warning) instance. When
 *    there is none, Envoy would still send traffic to every host; here the answer is no candidates
 *    and a reason ("all instances critical", "all circuits open", or the mix), because a registry
 *    lookup that says why nothing is usable serves its caller better than a guess.
 *
 * `permits` is called at most once per HALF_OPEN instance per call, and only to ask: the caller
 * takes the permit (circuit-breaker `acquire`) when it actually sends the call.
 */

export type Health = "PASSING" | "WARNING" | "CRITICAL";
export type CircuitState = "CLOSED" | "OPEN" | "HALF_OPEN";

export interface EligibilityInstance {
  id: string;
  health: Health;
  circuit: CircuitState;
}

export interface Eligibility<T extends EligibilityInstance> {
  candidates: T[];
  panic: boolean;
  /** set when the answer is not the plain healthy set: panic, the WARNING fallback, or nothing */
  reason?: string;
}

/** Envoy's default healthy_panic_threshold. */
export const DEFAULT_PANIC_THRESHOLD_PERCENT = 50;

export function selectEligible<T extends EligibilityInstance>(
  instances: readonly T[],
  permits: (id: string) => boolean,
  panicThresholdPercent: number = DEFAULT_PANIC_THRESHOLD_PERCENT,
): Eligibility<T> {
  const total = instances.length;
  if (total === 0) return { candidates: [], panic: false, reason: "no instances registered" };
  const threshold = Number.isFinite(panicThresholdPercent) ? Math.min(100, Math.max(0, panicThresholdPercent)) : DEFAULT_PANIC_THRESHOLD_PERCENT;

  const admitting: T[] = [];
  const passing: T[] = [];
  const warning: T[] = [];
  let open = 0;
  let halfOpenNoPermit = 0;
  let critical = 0;
  for (const instance of instances) {
    if (instance.health === "CRITICAL") critical++;
    const admits = instance.circuit === "CLOSED" || (instance.circuit === "HALF_OPEN" && permits(instance.id));
    if (!admits) {
      if (instance.circuit === "OPEN") open++;
      else halfOpenNoPermit++;
      continue;
    }
    admitting.push(instance);
    if (instance.health === "PASSING") passing.push(instance);
    else if (instance.health === "WARNING") warning.push(instance);
  }

  const healthy = passing.length > 0 ? passing : warning;
  if (healthy.length === 0) {
    // nothing non-critical is admitted, so every admitted instance is critical
    return { candidates: [], panic: false, reason: nothingReason(total, critical, open, halfOpenNoPermit, admitting.length) };
  }
  const fallback = passing.length === 0 ? `no passing instance: using ${plural(warning.length, "warning instance")}` : undefined;
  const share = (100 * healthy.length) / total;
  if (share < threshold) {
    const which = passing.length > 0 ? "healthy" : "warning";
    return {
      candidates: admitting,
      panic: true,
      reason:
        `panic: ${healthy.length} of ${plural(total, "instance")} ${which} (${pct(share)} %), below the ${pct(threshold)} % threshold; ` +
        `spreading over all ${plural(admitting.length, "instance")} whose circuit admits calls, regardless of health`,
    };
  }
  return fallback === undefined ? { candidates: healthy, panic: false } : { candidates: healthy, panic: false, reason: fallback };
}

/**
 * Why no instance is usable, given that none is both non-critical and admitted by its circuit:
 * each instance is critical (`criticalAdmitted` of them with a circuit that would admit them) or
 * has a circuit that does not admit calls (`open` + `halfOpenNoPermit`), or both.
 */
function nothingReason(total: number, critical: number, open: number, halfOpenNoPermit: number, criticalAdmitted: number): string {
  const blocked = open + halfOpenNoPermit;
  const all = plural(total, "instance");
  const split = halfOpenNoPermit === 0 ? "" : `: ${open} open, ${halfOpenNoPermit} half-open with no trial permit left`;
  if (critical === total) {
    return blocked === 0 ? `all instances critical (${all})` : `all instances critical (${all}; ${blocked} of them also with circuits not admitting calls${split})`;
  }
  if (blocked === total) {
    return critical === 0 ? `all circuits open (${all}${split})` : `all circuits open (${all}${split}; ${critical} of them also critical)`;
  }
  const halfOpen = halfOpenNoPermit === 0 ? "" : `, ${halfOpenNoPermit} half-open with no trial permit left`;
  return `no instance available, a mix: ${criticalAdmitted} critical, ${open} with circuit open${halfOpen}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** A percentage for a message: at most one decimal, no trailing ".0". */
function pct(x: number): string {
  return String(Math.round(x * 10) / 10);
}
