import type { EntityManager } from "typeorm";
import { rowsOf } from "../../db/database";
import { type BreakerState, currentState, initialBreakerState } from "./engine";
import { effectivePolicy } from "./policy";
import {
  type CircuitState,
  type HealthCheck,
  type InstanceHealth,
  type InstanceRecord,
  type ServiceRecord,
  type ServiceType,
  type StoredPolicy,
} from "./types";

/**
 * Row shapes and SQL shared by the registry's services. Parameterised SQL rather than entities on
 * purpose: picks, heartbeats and call reports are hot paths that lock one row (FOR UPDATE) and
 * update it in place, and the sweep updates many rows in one statement; jsonb state and epoch
 * conversions are plainer in SQL than through the ORM.
 */

export interface InstanceRow {
  tenant_id: string;
  id: string;
  service_id: string;
  service_name: string;
  policy: StoredPolicy | null;
  instance_id: string;
  host: string;
  port: number;
  version: string | null;
  zone: string | null;
  weight: number;
  tags: string[];
  metadata: Record<string, unknown>;
  ttl_seconds: number;
  health_check: HealthCheck | null;
  health: InstanceHealth;
  health_reason: string | null;
  health_changed_at: Date | string;
  critical_since: Date | string | null;
  check_streak: number;
  next_check_at: Date | string | null;
  breaker: BreakerState | null;
  active_requests: number;
  registered_at: Date | string;
  last_heartbeat_at: Date | string | null;
}

export interface ServiceRow {
  tenant_id: string;
  id: string;
  name: string;
  type: ServiceType;
  policy: StoredPolicy | null;
  dependencies: string[];
  created_at: Date | string;
  updated_at: Date | string;
}

/** Instance columns plus the service's name and policy; use with `FROM service_instances i JOIN services s`. */
export const INSTANCE_COLUMNS = `i.tenant_id, i.id, i.service_id, s.name AS service_name, s.policy, i.instance_id, i.host, i.port,
  i.version, i.zone, i.weight, i.tags, i.metadata, i.ttl_seconds, i.health_check, i.health, i.health_reason,
  i.health_changed_at, i.critical_since, i.check_streak, i.next_check_at, i.breaker, i.active_requests,
  i.registered_at, i.last_heartbeat_at`;

export const INSTANCE_FROM = `service_instances i JOIN services s ON s.tenant_id = i.tenant_id AND s.id = i.service_id`;

export const SERVICE_COLUMNS = `tenant_id, id, name, type, policy, dependencies, created_at, updated_at`;

export function ms(value: Date | string | number): number {
  return value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(value);
}

export function msOrNull(value: Date | string | number | null | undefined): number | null {
  return value === null || value === undefined ? null : ms(value);
}

export function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

export function toInstance(row: InstanceRow, now: number): InstanceRecord {
  const breaker = row.breaker ?? initialBreakerState();
  const policy = effectivePolicy(row.policy);
  return {
    tenantId: row.tenant_id,
    id: row.id,
    serviceId: row.service_id,
    serviceName: row.service_name,
    instanceId: row.instance_id,
    host: row.host,
    port: row.port,
    version: row.version,
    zone: row.zone,
    weight: row.weight,
    tags: row.tags ?? [],
    metadata: row.metadata ?? {},
    ttlSeconds: row.ttl_seconds,
    healthCheck: row.health_check,
    health: row.health,
    healthReason: row.health_reason,
    healthChangedAt: ms(row.health_changed_at),
    criticalSince: msOrNull(row.critical_since),
    circuit: currentState(breaker, policy.circuitBreaker, now) as CircuitState,
    breaker,
    activeRequests: row.active_requests,
    registeredAt: ms(row.registered_at),
    lastHeartbeatAt: msOrNull(row.last_heartbeat_at),
  };
}

export function toService(row: ServiceRow): ServiceRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    name: row.name,
    type: row.type,
    policy: effectivePolicy(row.policy),
    dependencies: row.dependencies ?? [],
    createdAt: ms(row.created_at),
    updatedAt: ms(row.updated_at),
  };
}

export async function queryRows<T>(m: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  return rowsOf<T>(await m.query(sql, params));
}

/** An instance with its service's name and policy by (tenant $1, instanceId $2), locked FOR UPDATE with `lock`. */
export function instanceByIdSql(lock: boolean): string {
  return `SELECT ${INSTANCE_COLUMNS} FROM ${INSTANCE_FROM} WHERE i.tenant_id = $1 AND i.instance_id = $2${lock ? " FOR UPDATE OF i" : ""}`;
}

export async function instanceById(m: EntityManager, tenantId: string, instanceId: string, lock: boolean): Promise<InstanceRow | undefined> {
  const rows = await queryRows<InstanceRow>(m, instanceByIdSql(lock), [tenantId, instanceId]);
  return rows[0];
}

export interface HealthChange {
  tenantId: string;
  serviceName: string;
  instance: string;
  instanceId: string;
  previous: InstanceHealth | null;
  health: InstanceHealth;
  reason: string | null;
  at: number;
}

/** Appends health history rows, in one statement. */
export async function insertHealthEvents(m: EntityManager, changes: readonly HealthChange[]): Promise<void> {
  if (changes.length === 0) return;
  await m.query(
    `INSERT INTO instance_health_events (tenant_id, service_name, instance, instance_id, previous, health, reason, at)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])`,
    [
      changes.map((c) => c.tenantId),
      changes.map((c) => c.serviceName),
      changes.map((c) => c.instance),
      changes.map((c) => c.instanceId),
      changes.map((c) => c.previous),
      changes.map((c) => c.health),
      changes.map((c) => c.reason),
      changes.map((c) => iso(c.at)),
    ],
  );
}
