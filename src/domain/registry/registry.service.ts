import { randomUUID } from "node:crypto";
import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";
import { ConflictError, NotFoundError } from "../../errors";
import { pageSize } from "../../lib/cursor";
import { type Session, tenantOf } from "../auth";
import type { AuditLog } from "../tenants";
import { asKeySession, isUuid } from "../tenants/ids";
import { initialBreakerState } from "./engine";
import { HeartbeatBatcher } from "./heartbeat-batch";
import { type HealthLog, missedHeartbeats } from "./health-log";
import { type ServicePolicyInput, mergePolicy } from "./policy";
import {
  INSTANCE_COLUMNS,
  INSTANCE_FROM,
  type InstanceRow,
  SERVICE_COLUMNS,
  type ServiceRow,
  instanceById,
  iso,
  ms,
  queryRows,
  toInstance,
  toService,
} from "./store";
import { type HealthCheck, type HealthEventPayload, InstanceHealth, type InstanceRecord, type ServiceRecord, ServiceType } from "./types";
import {
  type RegisterInstanceInput,
  type Registration,
  checkInstanceId,
  checkServiceName,
  serviceNameProblem,
  validateHeartbeat,
  validateRegistration,
} from "./validation";

/** What a new (or re-checked) instance starts as. */
export function initialHealth(check: HealthCheck | null): { health: InstanceHealth; reason: string } {
  return check === null
    ? { health: InstanceHealth.PASSING, reason: "registered" }
    : { health: InstanceHealth.WARNING, reason: "awaiting first health check" };
}

function sameCheck(a: HealthCheck | null, b: HealthCheck | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.url === b.url &&
    a.intervalSeconds === b.intervalSeconds &&
    a.timeoutSeconds === b.timeoutSeconds &&
    a.successesBeforePassing === b.successesBeforePassing &&
    a.failuresBeforeCritical === b.failuresBeforeCritical
  );
}

/**
 * The CTEs of both registration statements: `i` inserts the instance ($4–$18, see
 * registrationParams) into the service `svc` unless the instanceId is taken, `h` its history row.
 */
const INSTANCE_CTES = `i AS (INSERT INTO service_instances (tenant_id, service_id, instance_id, host, port, version, zone, weight, tags, metadata,
          ttl_seconds, health_check, health, health_reason, health_changed_at, next_check_at, breaker, registered_at, last_heartbeat_at)
        SELECT $1, svc.id, $4::text, $5::text, $6::int, $7::text, $8::text, $9::int, $10::text[], $11::jsonb, $12::int, $13::jsonb, $14::text, $15::text,
          $16::timestamptz, $17::timestamptz, $18::jsonb, $16::timestamptz, $16::timestamptz FROM svc
        ON CONFLICT (tenant_id, instance_id) DO NOTHING RETURNING *),
  h AS (INSERT INTO instance_health_events (tenant_id, service_name, instance, instance_id, previous, health, reason, at)
        SELECT i.tenant_id, $2::text, i.id, i.instance_id, NULL, i.health, i.health_reason, $16::timestamptz FROM i)`;

/**
 * insertWithService's statement: the service $2 found or created with type $3, then INSTANCE_CTES.
 * One row: the service as JSON with `created`, then the instance's columns (null when not inserted).
 */
const REGISTER_WITH_SERVICE = `WITH si AS (INSERT INTO services (tenant_id, name, type) VALUES ($1, $2, $3) ON CONFLICT (tenant_id, name) DO NOTHING RETURNING ${SERVICE_COLUMNS}),
  svc AS (SELECT ${SERVICE_COLUMNS}, true AS created FROM si
          UNION ALL
          SELECT ${SERVICE_COLUMNS}, false AS created FROM services WHERE tenant_id = $1 AND name = $2 AND NOT EXISTS (SELECT 1 FROM si)),
  ${INSTANCE_CTES}
  SELECT row_to_json(svc) AS service, i.* FROM svc LEFT JOIN i ON true`;

/**
 * registerNew's statement: the service $2 if it exists with type $3 (null: any type), then
 * INSTANCE_CTES and the audit entry ($19 actor, $20 request id) with the details `register` records
 * for a new instance of an existing service. No row when nothing was inserted.
 */
const REGISTER_NEW = `WITH svc AS (SELECT id, name, policy FROM services WHERE tenant_id = $1 AND name = $2 AND ($3::text IS NULL OR type = $3::text)),
  ${INSTANCE_CTES},
  a AS (INSERT INTO audit_entries (tenant_id, actor, action, target_type, target_id, details, request_id)
        SELECT i.tenant_id, $19::text, 'instance.register', 'ServiceInstance', i.instance_id,
          jsonb_build_object('service', $2::text, 'host', $5::text, 'port', $6::int, 'created', true, 'serviceCreated', false), $20::text
        FROM i RETURNING id, at, details)
  SELECT i.*, svc.name AS service_name, svc.policy, a.id AS audit_id, a.at AS audit_at, a.details AS audit_details FROM i CROSS JOIN svc CROSS JOIN a`;

/** $1–$18 of the registration statements; $3 is the service's type (its meaning differs between them). */
function registrationParams(tenantId: string, type: string | null, instanceId: string, reg: Registration, now: number): unknown[] {
  const { health, reason } = initialHealth(reg.healthCheck);
  const at = iso(now);
  return [
    tenantId, reg.service, type, instanceId, reg.host, reg.port, reg.version, reg.zone, reg.weight, reg.tags,
    JSON.stringify(reg.metadata), reg.ttlSeconds, reg.healthCheck ? JSON.stringify(reg.healthCheck) : null, health, reason, at,
    reg.healthCheck ? at : null, JSON.stringify(initialBreakerState()),
  ];
}

/**
 * Registration, heartbeats, deregistration and service policies, and the registry's reads.
 * Every operation acts on the session's tenant (tenantOf: platform admin keys are FORBIDDEN).
 * registerInstance, deregisterInstance and configureService are audited; heartbeats are not
 * (too frequent: they would drown the log).
 */
export class RegistryService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly healthLog: HealthLog,
  ) {
    this.beats = new HeartbeatBatcher(db);
  }

  private readonly beats: HeartbeatBatcher;

  async register(session: Session, input: RegisterInstanceInput, requestId?: string, now = Date.now()): Promise<InstanceRecord> {
    const tenantId = tenantOf(session, "registry:write");
    const reg = validateRegistration(input);
    const instanceId = reg.instanceId ?? randomUUID();
    const added = await this.registerNew(session, tenantId, instanceId, reg, requestId, now);
    if (added) return added;
    return this.db.transaction(async (m) => {
      // One statement in the common case (service found or created, instance inserted with its
      // history row); the separate steps when it could not tell (a service created concurrently).
      const together = await this.insertWithService(m, tenantId, instanceId, reg, now);
      const { service, created: serviceCreated } = together?.service ?? (await this.ensureService(m, tenantId, reg.service, reg.type));
      // Insert first: a new instance costs one statement; an existing one (the insert did nothing)
      // is then read and locked.
      let row = together ? together.row : await this.insertInstance(m, tenantId, service, instanceId, reg, now);
      const created = row !== undefined;
      row ??= await instanceById(m, tenantId, instanceId, true);
      if (row === undefined) throw new Error(`instance ${instanceId} neither inserted nor found`);
      if (row.service_id !== service.id) {
        throw new ConflictError("input.instanceId", `instance ${JSON.stringify(instanceId)} is registered under service ${JSON.stringify(row.service_name)}`);
      }
      if (!created) row = await this.reregister(m, row, reg, now);
      await this.audit.record(m, asKeySession(session), tenantId, {
        action: "instance.register",
        targetType: "ServiceInstance",
        targetId: instanceId,
        details: { service: reg.service, host: reg.host, port: reg.port, created, serviceCreated },
      }, requestId);
      return toInstance(row, now);
    });
  }

  /**
   * The common registration — a new instance of a service that exists with the type asked (or no
   * type asked) — in one statement without BEGIN and COMMIT: the instance, its history row and its
   * audit entry are written together or not at all (one statement is atomic). One round trip
   * instead of four. Undefined, with nothing written, in every other case (the service is missing
   * or of another type, the instanceId is taken): the transaction in `register` handles those.
   */
  private async registerNew(session: Session, tenantId: string, instanceId: string, reg: Registration, requestId: string | undefined, now: number): Promise<InstanceRecord | undefined> {
    const actor = asKeySession(session).actor;
    const [found] = await this.db.prepared<InstanceRow & { audit_id: string; audit_at: Date; audit_details: Record<string, unknown> }>(
      "vigil_register_new",
      REGISTER_NEW,
      [...registrationParams(tenantId, reg.type, instanceId, reg, now), actor, requestId ?? null],
    );
    if (!found) return undefined;
    const { audit_id, audit_at, audit_details, ...row } = found;
    this.healthLog.published([{ row, previous: null }], now);
    this.audit.published(tenantId, {
      id: String(audit_id),
      at: new Date(audit_at).toISOString(),
      actor,
      action: "instance.register",
      targetType: "ServiceInstance",
      targetId: instanceId,
      details: audit_details,
    });
    return toInstance(row, now);
  }

  async heartbeat(session: Session, instanceId: string, health: InstanceHealth | null | undefined, note: string | null | undefined, now = Date.now()): Promise<InstanceRecord> {
    const tenantId = tenantOf(session, "registry:write");
    validateHeartbeat(instanceId, health, note);
    if (health == null) {
      // The common heartbeat changes nothing but the time: coalesced with the other plain heartbeats
      // of this turn of the event loop into one statement (heartbeat-batch.ts) instead of a
      // transaction each (bench:registry measured 2,220 of those per second on raw SQL).
      const row = await this.beats.beat(tenantId, instanceId, now);
      if (!row) throw new NotFoundError("instance", instanceId);
      if (!missedHeartbeats(row)) return toInstance(row, now);
      // critical by missed heartbeats: the health change below needs the row locked
    }
    return this.db.transaction(async (m) => {
      const found = await instanceById(m, tenantId, instanceId, true);
      if (!found) throw new NotFoundError("instance", instanceId);
      await m.query(`UPDATE service_instances SET last_heartbeat_at = $3::timestamptz WHERE tenant_id = $1 AND id = $2`, [tenantId, found.id, iso(now)]);
      let row: InstanceRow = { ...found, last_heartbeat_at: new Date(now) };
      if (health != null) row = await this.healthLog.change(m, row, health, note ?? "set by heartbeat", now);
      else if (missedHeartbeats(row)) row = await this.healthLog.change(m, row, InstanceHealth.PASSING, "heartbeat resumed", now);
      return toInstance(row, now);
    });
  }

  async deregister(session: Session, instanceId: string, requestId?: string, now = Date.now()): Promise<boolean> {
    const tenantId = tenantOf(session, "registry:write");
    checkInstanceId("instanceId", instanceId);
    await this.db.transaction(async (m) => {
      const row = await instanceById(m, tenantId, instanceId, true);
      if (!row) throw new NotFoundError("instance", instanceId);
      await m.query(`DELETE FROM service_instances WHERE tenant_id = $1 AND id = $2`, [tenantId, row.id]);
      await m.query(
        `INSERT INTO instance_health_events (tenant_id, service_name, instance, instance_id, previous, health, reason, at)
         VALUES ($1, $2, $3, $4, $5, $5, 'deregistered', $6::timestamptz)`,
        [tenantId, row.service_name, row.id, row.instance_id, row.health, iso(now)],
      );
      await this.audit.record(m, asKeySession(session), tenantId, {
        action: "instance.deregister",
        targetType: "ServiceInstance",
        targetId: instanceId,
        details: { service: row.service_name, host: row.host, port: row.port },
      }, requestId);
    });
    return true;
  }

  /** Creates the service (type OTHER) if missing, then merges the policy over what is stored. */
  async configureService(session: Session, name: string, input: ServicePolicyInput, requestId?: string): Promise<ServiceRecord> {
    const tenantId = tenantOf(session, "registry:write");
    checkServiceName("name", name);
    return this.db.transaction(async (m) => {
      const { service, created } = await this.ensureService(m, tenantId, name, null);
      const merged = mergePolicy(name, service.policy ?? {}, service.dependencies, input);
      const [row] = await queryRows<ServiceRow>(
        m,
        `UPDATE services SET policy = $3::jsonb, dependencies = $4::text[], updated_at = now()
         WHERE tenant_id = $1 AND id = $2 RETURNING ${SERVICE_COLUMNS}`,
        [tenantId, service.id, JSON.stringify(merged.policy), merged.dependencies],
      );
      await this.audit.record(m, asKeySession(session), tenantId, {
        action: "service.configure",
        targetType: "Service",
        targetId: service.id,
        details: { name, created, policy: merged.policy, dependencies: merged.dependencies },
      }, requestId);
      return toService(row!);
    });
  }

  async services(session: Session): Promise<ServiceRecord[]> {
    const tenantId = tenantOf(session, "registry:read");
    const rows = await this.db.query<ServiceRow>(`SELECT ${SERVICE_COLUMNS} FROM services WHERE tenant_id = $1 ORDER BY name`, [tenantId]);
    return rows.map(toService);
  }

  /** null for a name that is not a service of the caller's tenant (an invalid name included). */
  async service(session: Session, name: string): Promise<ServiceRecord | null> {
    const tenantId = tenantOf(session, "registry:read");
    if (serviceNameProblem(name)) return null;
    const rows = await this.db.query<ServiceRow>(`SELECT ${SERVICE_COLUMNS} FROM services WHERE tenant_id = $1 AND name = $2`, [tenantId, name]);
    return rows[0] ? toService(rows[0]) : null;
  }

  async serviceById(session: Session, id: string): Promise<ServiceRecord | null> {
    const tenantId = tenantOf(session, "registry:read");
    if (!isUuid(id)) return null;
    const rows = await this.db.query<ServiceRow>(`SELECT ${SERVICE_COLUMNS} FROM services WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
    return rows[0] ? toService(rows[0]) : null;
  }

  /** The service's instances by instanceId, optionally only those of the given healths. */
  async instances(session: Session, serviceId: string, health: readonly InstanceHealth[] | null | undefined, now = Date.now()): Promise<InstanceRecord[]> {
    const tenantId = tenantOf(session, "registry:read");
    const filter = health?.length ? ` AND i.health = ANY($3::text[])` : "";
    const rows = await this.db.query<InstanceRow>(
      `SELECT ${INSTANCE_COLUMNS} FROM ${INSTANCE_FROM} WHERE i.tenant_id = $1 AND i.service_id = $2${filter} ORDER BY i.instance_id`,
      health?.length ? [tenantId, serviceId, [...health]] : [tenantId, serviceId],
    );
    return rows.map((r) => toInstance(r, now));
  }

  /** Declared dependencies that exist as services, in declared order. */
  async dependencies(session: Session, service: ServiceRecord): Promise<ServiceRecord[]> {
    const tenantId = tenantOf(session, "registry:read");
    if (service.dependencies.length === 0) return [];
    const rows = await this.db.query<ServiceRow>(`SELECT ${SERVICE_COLUMNS} FROM services WHERE tenant_id = $1 AND name = ANY($2::text[])`, [
      tenantId,
      service.dependencies,
    ]);
    const byName = new Map(rows.map((r) => [r.name, toService(r)]));
    return service.dependencies.flatMap((n) => byName.get(n) ?? []);
  }

  /** The instance's health changes, newest first (`first`: 1–500, default 50). */
  async healthHistory(session: Session, instance: InstanceRecord, first: number | null | undefined): Promise<HealthEventPayload[]> {
    const tenantId = tenantOf(session, "registry:read");
    const limit = pageSize(first);
    const rows = await this.db.query<{ previous: InstanceHealth | null; health: InstanceHealth; reason: string | null; at: Date | string }>(
      `SELECT previous, health, reason, at FROM instance_health_events WHERE tenant_id = $1 AND instance = $2 ORDER BY id DESC LIMIT $3`,
      [tenantId, instance.id, limit],
    );
    return rows.map((r) => ({ instance, previous: r.previous, health: r.health, reason: r.reason, at: iso(ms(r.at)) }));
  }

  /**
   * The service row, created on first use; a registration that names a type sets it. One statement
   * in the common case. The row is not locked: services are never deleted, instances reference
   * them by key (the foreign key's share lock suffices), and locking it would serialise every
   * registration of the service.
   */
  private async ensureService(m: EntityManager, tenantId: string, name: string, type: ServiceType | null): Promise<{ service: ServiceRow; created: boolean }> {
    const [found] = await queryRows<ServiceRow & { created: boolean }>(
      m,
      `WITH ins AS (INSERT INTO services (tenant_id, name, type) VALUES ($1, $2, $3)
                    ON CONFLICT (tenant_id, name) DO NOTHING RETURNING ${SERVICE_COLUMNS})
       SELECT ${SERVICE_COLUMNS}, true AS created FROM ins
       UNION ALL
       SELECT ${SERVICE_COLUMNS}, false AS created FROM services WHERE tenant_id = $1 AND name = $2 AND NOT EXISTS (SELECT 1 FROM ins)`,
      [tenantId, name, type ?? ServiceType.OTHER],
    );
    // A concurrent first registration committed the service after this statement's snapshot: read it now.
    const row = found ?? (await queryRows<ServiceRow>(m, `SELECT ${SERVICE_COLUMNS}, false AS created FROM services WHERE tenant_id = $1 AND name = $2`, [tenantId, name]))[0];
    if (!row) throw new Error(`service ${name} neither inserted nor found`);
    const created = (row as Partial<{ created: boolean }>).created === true;
    delete (row as Partial<{ created: boolean }>).created;
    if (!created && type !== null && row.type !== type) {
      await m.query(`UPDATE services SET type = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`, [tenantId, row.id, type]);
      row.type = type;
    }
    return { service: row, created };
  }

  /**
   * ensureService and insertInstance in one statement: the service row (created, or found and its
   * type set when the registration names another) and the new instance, undefined when the id
   * exists already. Undefined altogether when the service was created by a concurrent
   * registration after this statement's snapshot: the caller then takes the separate steps.
   */
  private async insertWithService(
    m: EntityManager,
    tenantId: string,
    instanceId: string,
    reg: Registration,
    now: number,
  ): Promise<{ service: { service: ServiceRow; created: boolean }; row: InstanceRow | undefined } | undefined> {
    // prepared: planning this statement cost about as much as running it (PostgreSQL's log, bench:registry)
    const [found] = await this.db.prepared<Omit<InstanceRow, "service_name" | "policy"> & { service: ServiceRow & { created: boolean } }>(
      "vigil_register",
      REGISTER_WITH_SERVICE,
      registrationParams(tenantId, reg.type ?? ServiceType.OTHER, instanceId, reg, now),
      m,
    );
    if (!found) return undefined;
    const { service: json, ...instance } = found;
    const { created, ...service } = json;
    if (!created && reg.type !== null && service.type !== reg.type) {
      await m.query(`UPDATE services SET type = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`, [tenantId, service.id, reg.type]);
      service.type = reg.type;
    }
    if (instance.id == null) return { service: { service, created }, row: undefined };
    const row: InstanceRow = { ...instance, service_name: service.name, policy: service.policy };
    this.healthLog.published([{ row, previous: null }], now);
    return { service: { service, created }, row };
  }

  /** Inserts a new instance, or returns undefined when the id was taken meanwhile. */
  private async insertInstance(m: EntityManager, tenantId: string, service: ServiceRow, instanceId: string, reg: Registration, now: number): Promise<InstanceRow | undefined> {
    const { health, reason } = initialHealth(reg.healthCheck);
    const at = iso(now);
    // The history row of the registration goes in the same statement (one round trip less).
    const [row] = await queryRows<InstanceRow>(
      m,
      `WITH i AS (INSERT INTO service_instances (tenant_id, service_id, instance_id, host, port, version, zone, weight, tags, metadata,
         ttl_seconds, health_check, health, health_reason, health_changed_at, next_check_at, breaker, registered_at, last_heartbeat_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text[], $10::jsonb, $11, $12::jsonb, $13, $14, $15::timestamptz, $16::timestamptz, $17::jsonb,
         $15::timestamptz, $15::timestamptz)
       ON CONFLICT (tenant_id, instance_id) DO NOTHING RETURNING *),
       h AS (INSERT INTO instance_health_events (tenant_id, service_name, instance, instance_id, previous, health, reason, at)
             SELECT i.tenant_id, $18::text, i.id, i.instance_id, NULL, i.health, i.health_reason, $15::timestamptz FROM i)
       SELECT * FROM i`,
      [
        tenantId, service.id, instanceId, reg.host, reg.port, reg.version, reg.zone, reg.weight, reg.tags, JSON.stringify(reg.metadata),
        reg.ttlSeconds, reg.healthCheck ? JSON.stringify(reg.healthCheck) : null, health, reason, at, reg.healthCheck ? at : null,
        JSON.stringify(initialBreakerState()), service.name,
      ],
    );
    if (!row) return undefined;
    const full: InstanceRow = { ...row, service_name: service.name, policy: service.policy };
    this.healthLog.published([{ row: full, previous: null }], now);
    return full;
  }

  /**
   * Registering an existing instanceId again updates its definition and counts as a heartbeat.
   * Health is kept, except: a changed health check starts over as a new registration would, and
   * an instance CRITICAL by missed heartbeats is PASSING again ("re-registered").
   */
  private async reregister(m: EntityManager, row: InstanceRow, reg: Registration, now: number): Promise<InstanceRow> {
    const checkChanged = !sameCheck(row.health_check, reg.healthCheck);
    const [updated] = await queryRows<Partial<InstanceRow>>(
      m,
      `UPDATE service_instances SET host = $3, port = $4, version = $5, zone = $6, weight = $7, tags = $8::text[], metadata = $9::jsonb,
         ttl_seconds = $10, health_check = $11::jsonb, last_heartbeat_at = $12::timestamptz
         ${checkChanged ? ", check_streak = 0, next_check_at = $13::timestamptz" : ""}
       WHERE tenant_id = $1 AND id = $2 RETURNING *`,
      [
        row.tenant_id, row.id, reg.host, reg.port, reg.version, reg.zone, reg.weight, reg.tags, JSON.stringify(reg.metadata), reg.ttlSeconds,
        reg.healthCheck ? JSON.stringify(reg.healthCheck) : null, iso(now), ...(checkChanged ? [reg.healthCheck ? iso(now) : null] : []),
      ],
    );
    const next: InstanceRow = { ...row, ...updated };
    if (checkChanged) {
      const initial = initialHealth(reg.healthCheck);
      return this.healthLog.change(m, next, initial.health, initial.reason, now);
    }
    if (reg.healthCheck === null && missedHeartbeats(next)) return this.healthLog.change(m, next, InstanceHealth.PASSING, "re-registered", now);
    return next;
  }
}
