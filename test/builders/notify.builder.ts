import { createHash, randomUUID } from "node:crypto";
import pino from "pino";
import { type AlertNotice, Notifier } from "../../src/domain/notify";
import type { TestServer } from "../support/server";
import { type GqlResponse, gql, gqlOk } from "../support/gql";

export const CHANNEL_FIELDS = `id name kind url hasSecret minSeverity sendResolved repeatIntervalSeconds enabled createdAt updatedAt`;
export const DELIVERY_FIELDS = `id at reason status attempts responseCode error lastAttemptAt nextAttemptAt deliveredAt idempotencyKey channel { id name kind }`;

export const CREATE_CHANNEL = `mutation($input: NotificationChannelInput!) { createChannel(input: $input) { ${CHANNEL_FIELDS} } }`;
export const UPDATE_CHANNEL = `mutation($id: ID!, $input: NotificationChannelInput!) { updateChannel(id: $id, input: $input) { ${CHANNEL_FIELDS} } }`;
export const DELETE_CHANNEL = `mutation($id: ID!) { deleteChannel(id: $id) }`;
export const TEST_CHANNEL = `mutation($id: ID!) { testChannel(id: $id) { ${DELIVERY_FIELDS} } }`;
export const CHANNELS = `{ channels { ${CHANNEL_FIELDS} } }`;
export const DELIVERIES = `query($channelId: ID, $first: Int, $after: String) { deliveries(channelId: $channelId, first: $first, after: $after) {
  nodes { ${DELIVERY_FIELDS} } pageInfo { hasNextPage endCursor } } }`;

export function createChannel(s: TestServer, key: string, input: Record<string, unknown>): Promise<GqlResponse> {
  return gql(s.url, key, CREATE_CHANNEL, { input: { name: "ops", kind: "WEBHOOK", url: "http://127.0.0.1:9/hook", ...input } });
}

export async function createChannelOk(s: TestServer, key: string, input: Record<string, unknown>): Promise<any> {
  return (await gqlOk(s.url, key, CREATE_CHANNEL, { input: { name: "ops", kind: "WEBHOOK", url: "http://127.0.0.1:9/hook", ...input } })).createChannel;
}

export async function deliveriesOk(s: TestServer, key: string, channelId?: string): Promise<any[]> {
  return (await gqlOk(s.url, key, DELIVERIES, { channelId })).deliveries.nodes;
}

/** Polls `deliveries` until `done` holds for the channel's deliveries (newest first). */
export async function waitForDeliveries(s: TestServer, key: string, channelId: string, done: (nodes: any[]) => boolean, timeoutMs = 15_000): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const nodes = await deliveriesOk(s, key, channelId);
    if (done(nodes)) return nodes;
    if (Date.now() > deadline) throw new Error(`deliveries did not reach the expected state within ${timeoutMs} ms: ${JSON.stringify(nodes)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface SeededAlert {
  ruleId: string;
  ruleName: string;
  alertId: string;
  fingerprint: string;
  firedAt: Date;
}

/**
 * A rule and one FIRING alert of it, written with SQL (the evaluator is another component), the
 * rule routed to `channelIds` in order.
 */
export async function seedFiringAlert(
  s: TestServer,
  tenantId: string,
  opts: { channelIds: string[]; severity?: string; ruleName?: string; labels?: Record<string, string>; silenced?: boolean; firedAt?: Date },
): Promise<SeededAlert> {
  const ruleName = opts.ruleName ?? `HighLatency_${randomUUID().slice(0, 6)}`;
  const severity = opts.severity ?? "CRITICAL";
  const firedAt = opts.firedAt ?? new Date();
  const labels = { alertname: ruleName, service: "api", ...opts.labels };
  const [rule] = await s.app.db.query<{ id: string }>(
    `INSERT INTO alert_rules (tenant_id, name, severity, conditions, combine, for_seconds, keep_firing_for_seconds, interval_seconds, no_data, enabled)
     VALUES ($1, $2, $3, '[]'::jsonb, 'ALL', 0, 0, 60, 'OK', true) RETURNING id`,
    [tenantId, ruleName, severity],
  );
  const fingerprint = createHash("sha256").update(JSON.stringify(labels)).digest("hex").slice(0, 16);
  const [alert] = await s.app.db.query<{ id: string }>(
    `INSERT INTO alerts (tenant_id, rule_id, fingerprint, state, severity, labels, annotations, value, active_at, fired_at, last_evaluated_at, silenced)
     VALUES ($1, $2, $3, 'FIRING', $4, $5::jsonb, $6::jsonb, 97.5, $7, $7, $7, $8) RETURNING id`,
    [tenantId, rule!.id, fingerprint, severity, JSON.stringify(labels), JSON.stringify({ summary: "p99 latency 97.5 ms" }), firedAt.toISOString(), opts.silenced ?? false],
  );
  for (const [i, channelId] of opts.channelIds.entries()) {
    await s.app.db.query(`INSERT INTO alert_rule_channels (tenant_id, rule_id, channel_id, position) VALUES ($1, $2, $3, $4)`, [tenantId, rule!.id, channelId, i]);
  }
  return { ruleId: rule!.id, ruleName, alertId: alert!.id, fingerprint, firedAt };
}

/** The notice the evaluator would hand over for `alert`'s transition. */
export function noticeOf(alert: SeededAlert, overrides: Partial<AlertNotice> = {}): AlertNotice {
  return {
    alertId: alert.alertId,
    ruleId: alert.ruleId,
    ruleName: alert.ruleName,
    fingerprint: alert.fingerprint,
    state: "FIRING",
    severity: "CRITICAL",
    labels: { alertname: alert.ruleName, service: "api" },
    annotations: { summary: "p99 latency 97.5 ms" },
    value: 97.5,
    startsAt: alert.firedAt,
    endsAt: null,
    silenced: false,
    ...overrides,
  };
}

/** Calls Notifier.enqueue inside a transaction of the server's database, as the evaluator does. */
export function enqueue(s: TestServer, tenantId: string, notices: AlertNotice[], now = new Date()): Promise<number> {
  const notifier = new Notifier(
    s.app.db,
    { retry: { maxAttempts: 10, baseMs: 100, capMs: 200 }, timeoutMs: 2_000, concurrency: 4, publicUrl: () => s.baseUrl },
    pino({ level: "silent" }),
  );
  return s.app.db.transaction((m) => notifier.enqueue(m, tenantId, notices, now));
}

/** The outbox rows of a tenant, straight from the database. */
export async function outboxRows(s: TestServer, tenantId: string): Promise<Array<{ reason: string; status: string; channel_id: string; payload: any; alert_id: string | null }>> {
  return s.app.db.query(`SELECT reason, status, channel_id, payload, alert_id FROM notification_deliveries WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);
}
