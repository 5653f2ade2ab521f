import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Tenants, keys and audit. Every tenant-owned table has tenant_id first in its primary key and
 * indexes so the schema can be distributed by tenant later (Citus).
 */
export class Foundation1763800000000 implements MigrationInterface {
  name = "Foundation1763800000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug text NOT NULL UNIQUE,
        name text NOT NULL,
        retention_days integer NOT NULL CHECK (retention_days > 0),
        max_series integer NOT NULL CHECK (max_series > 0),
        max_samples_per_second integer NOT NULL CHECK (max_samples_per_second > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE api_keys (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL,
        prefix text NOT NULL,
        secret_hash bytea NOT NULL,
        scopes text[] NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz,
        PRIMARY KEY (tenant_id, id)
      )`);
    // Authentication finds a key by its prefix before the tenant is known.
    await q.query(`CREATE UNIQUE INDEX api_keys_prefix_key ON api_keys (prefix)`);
    await q.query(`
      CREATE TABLE platform_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        prefix text NOT NULL UNIQUE,
        secret_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE audit_entries (
        tenant_id uuid NOT NULL,
        id bigint GENERATED ALWAYS AS IDENTITY,
        at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        action text NOT NULL,
        target_type text,
        target_id text,
        details jsonb,
        request_id text,
        PRIMARY KEY (tenant_id, id)
      )`);
    await q.query(`CREATE INDEX audit_entries_action_idx ON audit_entries (tenant_id, action, id)`);
    await q.query(`
      CREATE TABLE platform_audit_entries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        action text NOT NULL,
        target_type text,
        target_id text,
        details jsonb,
        request_id text
      )`);
    await q.query(`CREATE INDEX platform_audit_entries_action_idx ON platform_audit_entries (action, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE platform_audit_entries`);
    await q.query(`DROP TABLE audit_entries`);
    await q.query(`DROP TABLE platform_keys`);
    await q.query(`DROP TABLE api_keys`);
    await q.query(`DROP TABLE tenants`);
  }
}
