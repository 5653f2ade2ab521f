import type { EntityManager } from "typeorm";
import { ms, msOrNull, queryRows } from "../registry/store";
import type { AlertStateRecord, ConditionSpec, Labels, RuleSpec } from "./engine/types";
import type { AlertState, Combine, NoDataPolicy, Severity } from "./engine/types";

/** A stored rule: the engine's spec plus what the API shows. */
export interface RuleRecord extends RuleSpec {
  seq: string;
  description: string | null;
  category: string | null;
  enabled: boolean;
  channelIds: string[];
  createdAt: number;
  updatedAt: number;
  lastEvaluatedAt: number | null;
  lastEvaluationError: string | null;
  nextEvaluationAt: number | null;
}

/** A stored alert: the engine's state plus identity, history fields and acknowledgement. */
export interface AlertRecord {
  tenantId: string;
  id: string;
  seq: string;
  ruleId: string;
  fingerprint: string;
  state: AlertState;
  severity: Severity;
  labels: Labels;
  annotations: Labels;
  value: number | null;
  activeAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
  keepFiringSince: number | null;
  lastEvaluatedAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  acknowledgeComment: string | null;
  silenced: boolean;
}

export interface TransitionRecord {
  at: number;
  from: AlertState | null;
  to: AlertState;
  value: number | null;
}

export interface SilenceRecord {
  tenantId: string;
  id: string;
  matchers: Array<{ label: string; op: "EQ" | "NEQ" | "REGEX" | "NOT_REGEX"; value: string }>;
  startsAt: number;
  endsAt: number;
  comment: string | null;
  createdBy: string;
  createdAt: number;
}

export const RULE_COLUMNS = `r.tenant_id, r.id, r.seq::text AS seq, r.name, r.description, r.severity, r.category, r.conditions,
  r.combine, r.group_by, r.for_seconds, r.keep_firing_for_seconds, r.interval_seconds, r.no_data, r.labels, r.annotations,
  r.enabled, r.created_at, r.updated_at, r.last_evaluated_at, r.last_evaluation_error, r.next_evaluation_at,
  COALESCE((SELECT array_agg(c.channel_id::text ORDER BY c.position) FROM alert_rule_channels c
    WHERE c.tenant_id = r.tenant_id AND c.rule_id = r.id), '{}') AS channel_ids`;

export interface RuleRow {
  tenant_id: string;
  id: string;
  seq: string;
  name: string;
  description: string | null;
  severity: Severity;
  category: string | null;
  conditions: ConditionSpec[];
  combine: Combine;
  group_by: string[] | null;
  for_seconds: number;
  keep_firing_for_seconds: number;
  interval_seconds: number;
  no_data: NoDataPolicy;
  labels: Labels;
  annotations: Labels;
  enabled: boolean;
  created_at: Date | string;
  updated_at: Date | string;
  last_evaluated_at: Date | string | null;
  last_evaluation_error: string | null;
  next_evaluation_at: Date | string | null;
  channel_ids: string[];
}

export function toRule(row: RuleRow): RuleRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    seq: row.seq,
    name: row.name,
    description: row.description,
    severity: row.severity,
    category: row.category,
    conditions: row.conditions,
    combine: row.combine,
    groupBy: row.group_by,
    forSeconds: row.for_seconds,
    keepFiringForSeconds: row.keep_firing_for_seconds,
    intervalSeconds: row.interval_seconds,
    noData: row.no_data,
    labels: row.labels,
    annotations: row.annotations,
    enabled: row.enabled,
    channelIds: row.channel_ids ?? [],
    createdAt: ms(row.created_at),
    updatedAt: ms(row.updated_at),
    lastEvaluatedAt: msOrNull(row.last_evaluated_at),
    lastEvaluationError: row.last_evaluation_error,
    nextEvaluationAt: msOrNull(row.next_evaluation_at),
  };
}

export const ALERT_COLUMNS = `a.tenant_id, a.id, a.seq::text AS seq, a.rule_id, a.fingerprint, a.state, a.severity, a.labels, a.annotations,
  a.value, a.active_at, a.fired_at, a.resolved_at, a.keep_firing_since, a.last_evaluated_at, a.acknowledged_at,
  a.acknowledged_by, a.acknowledge_comment, a.silenced`;

export interface AlertRow {
  tenant_id: string;
  id: string;
  seq: string;
  rule_id: string;
  fingerprint: string;
  state: AlertState;
  severity: Severity;
  labels: Labels;
  annotations: Labels;
  value: number | null;
  active_at: Date | string;
  fired_at: Date | string | null;
  resolved_at: Date | string | null;
  keep_firing_since: Date | string | null;
  last_evaluated_at: Date | string;
  acknowledged_at: Date | string | null;
  acknowledged_by: string | null;
  acknowledge_comment: string | null;
  silenced: boolean;
}

export function toAlert(row: AlertRow): AlertRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    seq: row.seq,
    ruleId: row.rule_id,
    fingerprint: row.fingerprint,
    state: row.state,
    severity: row.severity,
    labels: row.labels,
    annotations: row.annotations,
    value: row.value,
    activeAt: ms(row.active_at),
    firedAt: msOrNull(row.fired_at),
    resolvedAt: msOrNull(row.resolved_at),
    keepFiringSince: msOrNull(row.keep_firing_since),
    lastEvaluatedAt: ms(row.last_evaluated_at),
    acknowledgedAt: msOrNull(row.acknowledged_at),
    acknowledgedBy: row.acknowledged_by,
    acknowledgeComment: row.acknowledge_comment,
    silenced: row.silenced,
  };
}

/** The engine's view of an active alert. */
export function toState(a: AlertRecord): AlertStateRecord {
  if (a.state === "RESOLVED") throw new Error(`alert ${a.id} is resolved: it has no engine state`);
  return {
    fingerprint: a.fingerprint,
    labels: a.labels,
    state: a.state,
    activeAt: a.activeAt,
    firedAt: a.firedAt,
    keepFiringSince: a.keepFiringSince,
    value: a.value,
    annotations: a.annotations,
  };
}

export const SILENCE_COLUMNS = `tenant_id, id, matchers, starts_at, ends_at, comment, created_by, created_at`;

export interface SilenceRow {
  tenant_id: string;
  id: string;
  matchers: SilenceRecord["matchers"];
  starts_at: Date | string;
  ends_at: Date | string;
  comment: string | null;
  created_by: string;
  created_at: Date | string;
}

export function toSilence(row: SilenceRow): SilenceRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    matchers: row.matchers,
    startsAt: ms(row.starts_at),
    endsAt: ms(row.ends_at),
    comment: row.comment,
    createdBy: row.created_by,
    createdAt: ms(row.created_at),
  };
}

export async function ruleById(m: EntityManager, tenantId: string, id: string, lock = false): Promise<RuleRecord | undefined> {
  const rows = await queryRows<RuleRow>(m, `SELECT ${RULE_COLUMNS} FROM alert_rules r WHERE r.tenant_id = $1 AND r.id = $2${lock ? " FOR UPDATE OF r" : ""}`, [
    tenantId,
    id,
  ]);
  return rows[0] && toRule(rows[0]);
}

export async function alertById(m: EntityManager, tenantId: string, id: string, lock = false): Promise<AlertRecord | undefined> {
  const rows = await queryRows<AlertRow>(m, `SELECT ${ALERT_COLUMNS} FROM alerts a WHERE a.tenant_id = $1 AND a.id = $2${lock ? " FOR UPDATE" : ""}`, [
    tenantId,
    id,
  ]);
  return rows[0] && toAlert(rows[0]);
}

export { queryRows };
