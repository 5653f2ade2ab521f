import { NO_DATA_LABEL, alertLabels, fingerprint, formatLabels, labelKey } from "./labels";
import { type ConditionOutputs, conditionOutputs } from "./outputs";
import { type ActiveOutput, type CompiledAnnotations, advance } from "./states";
import { compileTemplate } from "./templates";
import { type AlertStateRecord, type ConditionData, type ConditionSpec, type EvaluationResult, type Labels, type Operator, type RuleSpec } from "./types";

export function compare(value: number, op: Operator, threshold: number): boolean {
  switch (op) {
    case "GT":
      return value > threshold;
    case "GTE":
      return value >= threshold;
    case "LT":
      return value < threshold;
    case "LTE":
      return value <= threshold;
    case "EQ":
      return value === threshold;
    case "NEQ":
      return value !== threshold;
  }
}

/**
 * Whether a condition holds for a value. Once the identity is FIRING, a recovery threshold replaces
 * the threshold with the same operator: GT 90 recovery 80 keeps firing while value > 80 and resolves
 * at value ≤ 80; LT 10 recovery 20 keeps firing while value < 20.
 */
export function holds(cond: ConditionSpec, value: number, firing: boolean): boolean {
  if (cond.kind === "ABSENT") return true;
  const level = firing && cond.recoveryThreshold !== null ? cond.recoveryThreshold : cond.threshold!;
  return compare(value, cond.operator, level);
}

interface Identity {
  labels: Labels;
  fingerprint: string;
}

const identities = new Map<string, Identity>();
const IDENTITY_CACHE_LIMIT = 200_000;

/** The alert labels and fingerprint of a group, cached: sha256 runs once per new identity. */
function identityOf(rule: RuleSpec, ruleKey: string, groupKey: string, group: Labels): Identity {
  const k = ruleKey + groupKey;
  let id = identities.get(k);
  if (!id) {
    const labels = alertLabels(rule, group);
    id = { labels, fingerprint: fingerprint(rule.tenantId, rule.id, labels) };
    if (identities.size >= IDENTITY_CACHE_LIMIT) identities.clear();
    identities.set(k, id);
  }
  return id;
}

function unchanged(previous: readonly AlertStateRecord[], error: string | null): EvaluationResult {
  return { states: [...previous], transitions: [], refreshed: [], error };
}

/**
 * Whether the rule cannot be evaluated for lack of data: with ALL, some condition has no series
 * with a sample in its window; with ANY, every condition has none. ABSENT conditions never lack data.
 */
function lacksData(rule: RuleSpec, outs: readonly ConditionOutputs[]): boolean {
  return rule.combine === "ALL" ? outs.some((o) => !o.hasData) : outs.every((o) => !o.hasData);
}

const NO_DATA_GROUP: Labels = { [NO_DATA_LABEL]: "true" };

/**
 * Evaluates a rule at time t (epoch ms): pure and deterministic. `data` holds one entry per
 * condition, in order, and may hold more samples than the windows (they are sliced here, so
 * backtests can pass whole ranges). Conditions join on the group labels: ALL needs every condition
 * true for a group, ANY at least one. The alert's value is the first condition's value (ANY: the
 * first true condition's). See states.ts for the transitions and RULE-SEMANTICS.md for the why.
 */
export function evaluate(rule: RuleSpec, data: readonly ConditionData[], previous: readonly AlertStateRecord[], t: number): EvaluationResult {
  let templates: CompiledAnnotations;
  try {
    templates = Object.entries(rule.annotations).map(([name, text]) => [name, compileTemplate(text, `annotations.${name}`)] as const);
  } catch (err) {
    return unchanged(previous, (err as Error).message);
  }
  const outs: ConditionOutputs[] = [];
  for (let i = 0; i < rule.conditions.length; i++) {
    const o = conditionOutputs(rule.conditions[i]!, rule.groupBy, data[i] ?? { series: [] }, t);
    if (o.error) return unchanged(previous, `conditions[${i}]: ${o.error}`);
    outs.push(o);
  }
  const ruleKey = `${rule.tenantId}\0${rule.id}\0${rule.name}\0${rule.severity}\0${labelKey(rule.labels)}\0`;
  const active = new Map<string, ActiveOutput>();
  const current = new Map<string, number>();

  // No data: OK treats the rule's output as empty (alerts resolve with value null, keepFiringFor
  // still applies, as for a series that vanished in Prometheus); ALERTING adds one alert labelled
  // vigil_nodata="true" that goes through pending/for; KEEP_LAST_STATE freezes every state as it
  // is (nothing progresses, activeAt stays, so the gap counts toward `for` once data returns).
  if (lacksData(rule, outs)) {
    if (rule.noData === "KEEP_LAST_STATE") return unchanged(previous, null);
    if (rule.noData === "ALERTING") {
      const id = identityOf(rule, ruleKey, labelKey(NO_DATA_GROUP), NO_DATA_GROUP);
      active.set(id.fingerprint, { labels: id.labels, value: null });
    }
    return { ...advance(rule, templates, previous, active, current, t), error: null };
  }

  const conds = rule.conditions;
  const all = rule.combine === "ALL";
  const tracked = previous.length > 0;
  const firingFps = new Set<string>();
  for (const p of previous) if (p.state === "FIRING") firingFps.add(p.fingerprint);
  // ALL: only the first condition's groups can hold; ANY: the union of all groups, each once
  const sources = all ? 1 : outs.length;
  const seen = new Set<string>();
  for (let c = 0; c < sources; c++) {
    for (const [key, out] of outs[c]!.byKey) {
      if (sources > 1) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      const id = tracked ? identityOf(rule, ruleKey, key, out.labels) : undefined;
      const firing = id !== undefined && firingFps.has(id.fingerprint);
      let truth = all;
      let value: number | null = null;
      let first: number | undefined;
      for (let i = 0; i < conds.length; i++) {
        const o = i === c ? out : outs[i]!.byKey.get(key);
        if (o === undefined) {
          if (all) {
            truth = false;
            break;
          }
          continue;
        }
        first ??= o.value;
        const ok = holds(conds[i]!, o.value, firing);
        if (all && !ok) {
          truth = false;
          break;
        }
        if (!all && ok) {
          truth = true;
          value = o.value;
          break;
        }
      }
      if (all) value = first ?? null;
      if (!truth) {
        if (id && first !== undefined) current.set(id.fingerprint, first);
        continue;
      }
      const ident = id ?? identityOf(rule, ruleKey, key, out.labels);
      const clash = active.get(ident.fingerprint);
      if (clash) return unchanged(previous, `two outputs have the same label set ${formatLabels(ident.labels)}: use groupBy or rule labels that keep them apart`);
      active.set(ident.fingerprint, { labels: ident.labels, value });
    }
  }
  return { ...advance(rule, templates, previous, active, current, t), error: null };
}
