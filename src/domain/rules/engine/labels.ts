import { createHash } from "node:crypto";
import { type Labels, type RuleSpec } from "./types";

/** The label that marks the alert a rule raises under the ALERTING no-data policy. */
export const NO_DATA_LABEL = "vigil_nodata";
/** Labels the engine sets on every alert; rule labels may not set them. */
export const RESERVED_LABELS: ReadonlySet<string> = new Set(["alertname", "severity", NO_DATA_LABEL, "__name__"]);

const keyCache = new WeakMap<Labels, string>();

/**
 * A canonical, collision-free string for a label set: sorted names, each value length-prefixed (names
 * match [a-zA-Z_][a-zA-Z0-9_]*, so no value can forge a separator). Cached per labels object, since
 * the scheduler hands the same series objects to every evaluation.
 */
export function labelKey(labels: Labels): string {
  const hit = keyCache.get(labels);
  if (hit !== undefined) return hit;
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = "";
  for (const n of names) {
    const v = labels[n]!;
    key += `${n}=${v.length}:${v},`;
  }
  keyCache.set(labels, key);
  return key;
}

/** `{a="1", b="2"}`, sorted, for messages. */
export function formatLabels(labels: Labels): string {
  return `{${Object.keys(labels)
    .sort()
    .map((n) => `${n}=${JSON.stringify(labels[n])}`)
    .join(", ")}}`;
}

/**
 * The identity of an alert: sha256 over tenant, rule and the sorted label set, first 16 bytes in hex.
 * Stable across processes and releases (it is stored), independent of label order.
 */
export function fingerprint(tenantId: string, ruleId: string, labels: Labels): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((n) => [n, labels[n]]);
  return createHash("sha256").update(JSON.stringify([tenantId, ruleId, pairs])).digest("hex").slice(0, 32);
}

/**
 * An alert's labels, as Prometheus builds them: the group's labels, overridden by the rule's labels,
 * then `alertname` (the rule name) and `severity` (lower case, as Alertmanager routes expect).
 */
export function alertLabels(rule: RuleSpec, group: Labels): Labels {
  const out: Labels = { ...group, ...rule.labels };
  out.alertname = rule.name;
  out.severity = rule.severity.toLowerCase();
  return out;
}
