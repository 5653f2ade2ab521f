import type { PayloadContext } from "./types";

/** Alertmanager's zero time: the endsAt of a firing alert in webhook bodies. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * The alert's labels as receivers expect them: `alertname` (the rule's name) and `severity`
 * (lower case, as in Prometheus rule files) are added when the evaluator's labels lack them.
 */
export function alertLabels(ctx: PayloadContext): Record<string, string> {
  const { labels, ruleName, severity } = ctx.notice;
  return { alertname: ruleName, severity: severity.toLowerCase(), ...labels };
}

/** A link back to Vigil that names the rule and the alert (Prometheus: the graph of the expression). */
export function generatorUrl(ctx: PayloadContext): string {
  const q = new URLSearchParams({ rule: ctx.notice.ruleId, alert: ctx.notice.alertId });
  return `${ctx.publicUrl}/graphql?${q.toString()}`;
}

export function isResolved(ctx: PayloadContext): boolean {
  return ctx.notice.state === "RESOLVED";
}

/** A resolved alert's end: the resolution time, or the time of writing when the notice has none. */
export function resolvedAt(ctx: PayloadContext): Date {
  return ctx.notice.endsAt ?? ctx.now;
}

export function jsonHeaders(): Record<string, string> {
  return { "content-type": "application/json", "user-agent": "Vigil-Notifier/1" };
}
