import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The service registry: services, their instances, the history of every health change, and
 * reported calls.
 *
 * - instance_id is the caller's name for an instance and unique in the tenant: heartbeat,
 *   deregisterInstance and reportCall name nothing else.
 * - breaker holds the circuit breaker's JSON state (src/domain/registry/engine/circuit-breaker.ts)
 *   and active_requests the picks not yet reported: both live in the row so that every process
 *   shares them, under SELECT … FOR UPDATE.
 * - instance_health_events keeps the service name and instance_id as text and has no foreign key,
 *   so the history outlives the instance.
 * - service_calls is written on every reportCall and pruned by age: no foreign key (each insert
 *   would pay for the check; deleteTenant empties it explicitly), and an index on `at` alone for
 *   the pruning job, which works across tenants.
 */
export class Registry1764000000000 implements MigrationInterface {
  name = "Registry1764000000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE services (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL,
        type text NOT NULL,
        -- only what configureService set; defaults are applied when read
        policy jsonb NOT NULL DEFAULT '{}'::jsonb,
        dependencies text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id),
        CONSTRAINT services_name_key UNIQUE (tenant_id, name)
      )`);

    await q.query(`
      CREATE TABLE service_instances (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        service_id uuid NOT NULL,
        instance_id text NOT NULL,
        host text NOT NULL,
        port integer NOT NULL,
        version text,
        zone text,
        weight integer NOT NULL,
        tags text[] NOT NULL DEFAULT '{}',
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        ttl_seconds integer NOT NULL,
        health_check jsonb,
        health text NOT NULL CHECK (health IN ('PASSING', 'WARNING', 'CRITICAL')),
        health_reason text,
        health_changed_at timestamptz NOT NULL,
        critical_since timestamptz,
        -- consecutive check results: > 0 successes, < 0 failures (flap damping)
        check_streak integer NOT NULL DEFAULT 0,
        next_check_at timestamptz,
        breaker jsonb NOT NULL,
        active_requests integer NOT NULL DEFAULT 0,
        registered_at timestamptz NOT NULL,
        last_heartbeat_at timestamptz,
        PRIMARY KEY (tenant_id, id),
        CONSTRAINT service_instances_instance_id_key UNIQUE (tenant_id, instance_id),
        FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX service_instances_service_idx ON service_instances (tenant_id, service_id)`);
    // the sweep's two cross-tenant scans
    await q.query(`CREATE INDEX service_instances_critical_idx ON service_instances (critical_since) WHERE critical_since IS NOT NULL`);
    await q.query(`CREATE INDEX service_instances_check_idx ON service_instances (next_check_at) WHERE health_check IS NOT NULL`);

    await q.query(`
      CREATE TABLE instance_health_events (
        tenant_id uuid NOT NULL,
        id bigint GENERATED ALWAYS AS IDENTITY,
        service_name text NOT NULL,
        instance uuid NOT NULL,
        instance_id text NOT NULL,
        previous text,
        health text NOT NULL,
        reason text,
        at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id)
      )`);
    await q.query(`CREATE INDEX instance_health_events_instance_idx ON instance_health_events (tenant_id, instance, id)`);

    await q.query(`
      CREATE TABLE service_calls (
        tenant_id uuid NOT NULL,
        id bigint GENERATED ALWAYS AS IDENTITY,
        service_id uuid NOT NULL,
        instance uuid NOT NULL,
        caller text,
        duration_ms double precision NOT NULL,
        success boolean NOT NULL,
        status_code integer,
        at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id)
      )`);
    await q.query(`CREATE INDEX service_calls_service_idx ON service_calls (tenant_id, service_id, at)`);
    await q.query(`CREATE INDEX service_calls_at_idx ON service_calls (at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE service_calls`);
    await q.query(`DROP TABLE instance_health_events`);
    await q.query(`DROP TABLE service_instances`);
    await q.query(`DROP TABLE services`);
  }
}
