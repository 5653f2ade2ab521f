import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Notification channels, the rules that route to them, and the delivery outbox.
 *
 * - secret is the WEBHOOK signing key; it is write-only in the API and never logged.
 * - notification_deliveries is the outbox: a row is written in the same transaction as the alert
 *   state change that causes it (or by testChannel / the repeat job), then sent by a worker that
 *   claims due rows with FOR UPDATE SKIP LOCKED, retries with backoff (next_attempt_at) and records
 *   each attempt's outcome. idempotency_key is sent with every attempt (header
 *   `Idempotency-Key`), so a receiver can drop the duplicates a retry after a lost response makes.
 * - payload is the body to send, built when the row is written: what the alert looked like at
 *   that transition (a resolved notice carries the value at resolution).
 */
export class Notifications1764200000000 implements MigrationInterface {
  name = "Notifications1764200000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notification_channels (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('WEBHOOK', 'SLACK', 'ALERTMANAGER')),
        url text NOT NULL,
        secret text,
        min_severity text NOT NULL CHECK (min_severity IN ('INFO', 'WARNING', 'ERROR', 'CRITICAL')),
        send_resolved boolean NOT NULL,
        repeat_interval_seconds integer NOT NULL,
        enabled boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id)
      )`);

    await q.query(`
      CREATE TABLE alert_rule_channels (
        tenant_id uuid NOT NULL,
        rule_id uuid NOT NULL,
        channel_id uuid NOT NULL,
        position integer NOT NULL,
        PRIMARY KEY (tenant_id, rule_id, channel_id),
        FOREIGN KEY (tenant_id, rule_id) REFERENCES alert_rules (tenant_id, id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, channel_id) REFERENCES notification_channels (tenant_id, id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX alert_rule_channels_channel_idx ON alert_rule_channels (tenant_id, channel_id)`);

    await q.query(`
      CREATE TABLE notification_deliveries (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        channel_id uuid NOT NULL,
        alert_id uuid,
        -- FIRING, RESOLVED, REPEAT or TEST: why this delivery exists
        reason text NOT NULL,
        payload jsonb NOT NULL,
        idempotency_key text NOT NULL,
        status text NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        response_code integer,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_attempt_at timestamptz,
        delivered_at timestamptz,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, channel_id) REFERENCES notification_channels (tenant_id, id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, alert_id) REFERENCES alerts (tenant_id, id) ON DELETE SET NULL (alert_id)
      )`);
    // the worker's cross-tenant scan of due deliveries
    await q.query(
      `CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at) WHERE status = 'PENDING'`,
    );
    await q.query(`CREATE INDEX notification_deliveries_channel_idx ON notification_deliveries (tenant_id, channel_id, created_at)`);
    await q.query(`CREATE INDEX notification_deliveries_alert_idx ON notification_deliveries (tenant_id, alert_id, channel_id)`);
    await q.query(`CREATE INDEX notification_deliveries_tenant_idx ON notification_deliveries (tenant_id, created_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notification_deliveries`);
    await q.query(`DROP TABLE alert_rule_channels`);
    await q.query(`DROP TABLE notification_channels`);
  }
}
