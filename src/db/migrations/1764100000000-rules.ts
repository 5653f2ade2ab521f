import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Alert rules, their alerts with a transition history, and silences.
 *
 * - alert_rules.conditions holds the normalised conditions as JSON (src/domain/rules/engine/types.ts
 *   ConditionSpec[]); next_evaluation_at is the scheduler's claim: a process takes due rules with
 *   FOR UPDATE SKIP LOCKED and moves the time forward in the same transaction, so a rule is
 *   evaluated once per interval across processes.
 * - alerts keeps every alert ever raised: at most one active (PENDING or FIRING) row per
 *   (rule, fingerprint), enforced by a partial unique index; a RESOLVED row is history. An alert
 *   that resolves and becomes true again is a new row (new id, same fingerprint).
 *   keep_firing_since belongs to keepFiringForSeconds; the engine's whole per-alert state is in
 *   the row, so a restart resumes PENDING alerts with their active_at.
 * - alert_transitions is the history of each alert (from null for the first).
 */
export class Rules1764100000000 implements MigrationInterface {
  name = "Rules1764100000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE alert_rules (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        -- creation order, for cursors
        seq bigint GENERATED ALWAYS AS IDENTITY,
        name text NOT NULL,
        description text,
        severity text NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'ERROR', 'CRITICAL')),
        category text,
        conditions jsonb NOT NULL,
        combine text NOT NULL CHECK (combine IN ('ALL', 'ANY')),
        group_by jsonb,
        for_seconds integer NOT NULL,
        keep_firing_for_seconds integer NOT NULL,
        interval_seconds integer NOT NULL,
        no_data text NOT NULL CHECK (no_data IN ('OK', 'ALERTING', 'KEEP_LAST_STATE')),
        labels jsonb NOT NULL DEFAULT '{}'::jsonb,
        annotations jsonb NOT NULL DEFAULT '{}'::jsonb,
        enabled boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        last_evaluated_at timestamptz,
        last_evaluation_error text,
        next_evaluation_at timestamptz,
        PRIMARY KEY (tenant_id, id)
      )`);
    await q.query(`CREATE INDEX alert_rules_seq_idx ON alert_rules (tenant_id, seq)`);
    // the scheduler's cross-tenant scan of due rules
    await q.query(`CREATE INDEX alert_rules_due_idx ON alert_rules (next_evaluation_at) WHERE enabled`);

    await q.query(`
      CREATE TABLE alerts (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        seq bigint GENERATED ALWAYS AS IDENTITY,
        rule_id uuid NOT NULL,
        fingerprint text NOT NULL,
        state text NOT NULL CHECK (state IN ('PENDING', 'FIRING', 'RESOLVED')),
        severity text NOT NULL,
        labels jsonb NOT NULL,
        annotations jsonb NOT NULL,
        value double precision,
        active_at timestamptz NOT NULL,
        fired_at timestamptz,
        resolved_at timestamptz,
        keep_firing_since timestamptz,
        last_evaluated_at timestamptz NOT NULL,
        acknowledged_at timestamptz,
        acknowledged_by text,
        acknowledge_comment text,
        silenced boolean NOT NULL DEFAULT false,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, rule_id) REFERENCES alert_rules (tenant_id, id) ON DELETE CASCADE
      )`);
    await q.query(
      `CREATE UNIQUE INDEX alerts_active_key ON alerts (tenant_id, rule_id, fingerprint) WHERE state <> 'RESOLVED'`,
    );
    await q.query(`CREATE INDEX alerts_rule_idx ON alerts (tenant_id, rule_id, active_at)`);
    await q.query(`CREATE INDEX alerts_tenant_idx ON alerts (tenant_id, seq)`);

    await q.query(`
      CREATE TABLE alert_transitions (
        tenant_id uuid NOT NULL,
        id bigint GENERATED ALWAYS AS IDENTITY,
        alert_id uuid NOT NULL,
        at timestamptz NOT NULL,
        from_state text,
        to_state text NOT NULL,
        value double precision,
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, alert_id) REFERENCES alerts (tenant_id, id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX alert_transitions_alert_idx ON alert_transitions (tenant_id, alert_id, id)`);

    await q.query(`
      CREATE TABLE silences (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        matchers jsonb NOT NULL,
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL,
        comment text,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id),
        CHECK (ends_at > starts_at)
      )`);
    await q.query(`CREATE INDEX silences_ends_idx ON silences (tenant_id, ends_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE silences`);
    await q.query(`DROP TABLE alert_transitions`);
    await q.query(`DROP TABLE alerts`);
    await q.query(`DROP TABLE alert_rules`);
  }
}
