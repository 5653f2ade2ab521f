import type { EntityManager } from "typeorm";
import type { Severity } from "../rules/types";
import { type ChannelKind, type ChannelRecord, type DeliveryReason, type DeliveryRecord, type DeliveryStatus } from "./types";

/**
 * Row shapes and SQL shared by the channel service and the notifier. Parameterised SQL rather than
 * entities, as in the registry: the outbox is claimed with UPDATE … FOR UPDATE SKIP LOCKED and
 * written in bulk with unnest, which TypeORM's repositories do not express.
 */

export interface ChannelRow {
  tenant_id: string;
  id: string;
  name: string;
  kind: ChannelKind;
  url: string;
  secret: string | null;
  min_severity: Severity;
  send_resolved: boolean;
  repeat_interval_seconds: number;
  enabled: boolean;
  created_at: Date | string;
  updated_at: Date | string;
}

const CHANNEL_COLUMN_NAMES = [
  "tenant_id", "id", "name", "kind", "url", "secret", "min_severity", "send_resolved", "repeat_interval_seconds", "enabled", "created_at", "updated_at",
] as const;

/** The columns of ChannelRow, optionally qualified by a table alias. */
export function channelColumns(alias?: string): string {
  return CHANNEL_COLUMN_NAMES.map((c) => (alias ? `${alias}.${c}` : c)).join(", ");
}

/** Delivery columns (d) with its channel's (c); use with DELIVERY_FROM. */
export const DELIVERY_COLUMNS = `d.tenant_id, d.id, d.channel_id, d.alert_id, d.reason, d.idempotency_key, d.status, d.attempts, d.next_attempt_at,
  d.response_code, d.error, d.created_at, d.last_attempt_at, d.delivered_at,
  c.name AS c_name, c.kind AS c_kind, c.url AS c_url, c.secret AS c_secret, c.min_severity AS c_min_severity,
  c.send_resolved AS c_send_resolved, c.repeat_interval_seconds AS c_repeat_interval_seconds, c.enabled AS c_enabled,
  c.created_at AS c_created_at, c.updated_at AS c_updated_at`;

export const DELIVERY_FROM = `notification_deliveries d JOIN notification_channels c ON c.tenant_id = d.tenant_id AND c.id = d.channel_id`;

export interface DeliveryRow {
  tenant_id: string;
  id: string;
  channel_id: string;
  alert_id: string | null;
  reason: DeliveryReason;
  idempotency_key: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | string | null;
  response_code: number | null;
  error: string | null;
  created_at: Date | string;
  last_attempt_at: Date | string | null;
  delivered_at: Date | string | null;
  c_name: string;
  c_kind: ChannelKind;
  c_url: string;
  c_secret: string | null;
  c_min_severity: Severity;
  c_send_resolved: boolean;
  c_repeat_interval_seconds: number;
  c_enabled: boolean;
  c_created_at: Date | string;
  c_updated_at: Date | string;
}

export function date(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

export function dateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : date(value);
}

export function toChannel(row: ChannelRow): ChannelRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    name: row.name,
    kind: row.kind,
    url: row.url,
    hasSecret: row.secret !== null,
    minSeverity: row.min_severity,
    sendResolved: row.send_resolved,
    repeatIntervalSeconds: row.repeat_interval_seconds,
    enabled: row.enabled,
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
  };
}

export function toDelivery(row: DeliveryRow): DeliveryRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    channel: toChannel({
      tenant_id: row.tenant_id,
      id: row.channel_id,
      name: row.c_name,
      kind: row.c_kind,
      url: row.c_url,
      secret: row.c_secret,
      min_severity: row.c_min_severity,
      send_resolved: row.c_send_resolved,
      repeat_interval_seconds: row.c_repeat_interval_seconds,
      enabled: row.c_enabled,
      created_at: row.c_created_at,
      updated_at: row.c_updated_at,
    }),
    alertId: row.alert_id,
    reason: row.reason,
    idempotencyKey: row.idempotency_key,
    status: row.status,
    attempts: row.attempts,
    responseCode: row.response_code,
    error: row.error,
    createdAt: date(row.created_at),
    lastAttemptAt: dateOrNull(row.last_attempt_at),
    nextAttemptAt: dateOrNull(row.next_attempt_at),
    deliveredAt: dateOrNull(row.delivered_at),
  };
}

/**
 * Rows of a query through TypeORM: UPDATE and DELETE come back as [rows, rowCount] on both
 * drivers, SELECT and INSERT as rows.
 */
export async function queryRows<T>(m: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  const result: unknown = await m.query(sql, params);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === "number") return result[0] as T[];
  return result as T[];
}

/** A new outbox row. `attempts`/`nextAttemptAt` let testChannel write a row already claimed by its caller. */
export interface NewDelivery {
  tenantId: string;
  id: string;
  channelId: string;
  alertId: string | null;
  reason: DeliveryReason;
  payload: unknown;
  idempotencyKey: string;
  createdAt: Date;
  nextAttemptAt: Date;
  attempts: number;
}

/** Inserts outbox rows in one statement. */
export async function insertDeliveries(m: EntityManager, rows: readonly NewDelivery[]): Promise<void> {
  if (rows.length === 0) return;
  await m.query(
    `INSERT INTO notification_deliveries (tenant_id, id, channel_id, alert_id, reason, payload, idempotency_key, status, attempts,
       next_attempt_at, created_at, last_attempt_at)
     SELECT u.tenant_id, u.id, u.channel_id, u.alert_id, u.reason, u.payload::jsonb, u.idempotency_key, 'PENDING', u.attempts,
       u.next_attempt_at, u.created_at, CASE WHEN u.attempts > 0 THEN u.created_at END
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::int[], $9::timestamptz[], $10::timestamptz[])
         AS u (tenant_id, id, channel_id, alert_id, reason, payload, idempotency_key, attempts, next_attempt_at, created_at)`,
    [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.id),
      rows.map((r) => r.channelId),
      rows.map((r) => r.alertId),
      rows.map((r) => r.reason),
      rows.map((r) => JSON.stringify(r.payload)),
      rows.map((r) => r.idempotencyKey),
      rows.map((r) => r.attempts),
      rows.map((r) => r.nextAttemptAt.toISOString()),
      rows.map((r) => r.createdAt.toISOString()),
    ],
  );
}

/** Severities in rank order, as SQL: array_position compares them. */
export const SEVERITY_ORDER = `ARRAY['INFO', 'WARNING', 'ERROR', 'CRITICAL']`;

/** A firing alert due for a repeat, with its rule's name (and the channel's columns). */
export interface RepeatRow {
  alert_id: string;
  rule_id: string;
  rule_name: string;
  fingerprint: string;
  alert_severity: Severity;
  labels: Record<string, string> | null;
  annotations: Record<string, string> | null;
  value: number | null;
  starts_at: Date | string;
}

/** A claimed delivery with what sending it needs of its channel. */
export interface ClaimRow {
  tenant_id: string;
  id: string;
  channel_id: string;
  reason: DeliveryReason;
  payload: unknown;
  idempotency_key: string;
  attempts: number;
  kind: ChannelKind;
  url: string;
  secret: string | null;
  enabled: boolean;
}
