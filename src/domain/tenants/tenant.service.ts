import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";
import { isUniqueViolation } from "../../db/errors";
import { TenantEntity } from "../../entities";
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError } from "../../errors";
import type { Authenticator, Scope, Session } from "../auth";
import type { VigilPubSub } from "../pubsub";
import type { AuditLog } from "./audit-log";
import { asKeySession, isUuid } from "./ids";

export interface CreateTenant {
  slug: string;
  name: string;
  retentionDays?: number | null;
  maxSeries?: number | null;
  maxSamplesPerSecond?: number | null;
}

export interface UpdateTenant {
  name?: string | null;
  retentionDays?: number | null;
  maxSeries?: number | null;
  maxSamplesPerSecond?: number | null;
}

export const TENANT_DEFAULTS = { retentionDays: 30, maxSeries: 100_000, maxSamplesPerSecond: 100_000 } as const;

/**
 * Tables holding tenant-owned rows, children first. deleteTenant empties each of them for the
 * tenant in one transaction; a test checks that every table with a tenant_id column is listed.
 */
export const TENANT_OWNED_TABLES = [
  "anomaly_score_minutes",
  "anomaly_checkpoints",
  "anomalies",
  "anomaly_monitors",
  "notification_deliveries",
  "alert_rule_channels",
  "notification_channels",
  "alert_transitions",
  "alerts",
  "silences",
  "alert_rules",
  "service_calls",
  "instance_health_events",
  "service_instances",
  "services",
  "metric_rollup_pending",
  "metric_rollups_1h",
  "metric_rollups_1m",
  "metric_samples",
  "metric_series",
  "audit_entries",
  "api_keys",
] as const;

/** Fields a tenant's own TENANT_ADMIN may change; quotas and retention are the platform's. */
const SELF_SERVICE_FIELDS: ReadonlyArray<keyof UpdateTenant> = ["name"];

export class TenantService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly pubsub: VigilPubSub,
    /** this process forgets the tenant's cached sessions at commit; the others on TENANT_DELETED */
    private readonly sessions: Pick<Authenticator, "forgetTenant">,
    /** told at commit that a tenant's quotas or retention changed (this process's cached limits) */
    private readonly limitsChanged: (tenantId: string) => void = () => undefined,
  ) {}

  async create(session: Session, input: CreateTenant, requestId?: string): Promise<TenantEntity> {
    session.authorize("tenant:create");
    return this.db.transaction(async (m) => {
      await this.assertSlugFree(m, input.slug);
      const tenant = m.getRepository(TenantEntity).create({
        slug: input.slug,
        name: input.name,
        retentionDays: input.retentionDays ?? TENANT_DEFAULTS.retentionDays,
        maxSeries: input.maxSeries ?? TENANT_DEFAULTS.maxSeries,
        maxSamplesPerSecond: input.maxSamplesPerSecond ?? TENANT_DEFAULTS.maxSamplesPerSecond,
      });
      const saved = await m
        .getRepository(TenantEntity)
        .save(tenant)
        .catch((err: unknown) => {
          // Two creates racing past assertSlugFree: the unique index decides.
          if (isUniqueViolation(err)) throw new ConflictError("input.slug", `a tenant with slug ${JSON.stringify(input.slug)} already exists`);
          throw err;
        });
      await this.audit.record(m, asKeySession(session), saved.id, {
        action: "tenant.create",
        targetType: "Tenant",
        targetId: saved.id,
        details: { slug: saved.slug, name: saved.name },
      }, requestId);
      return saved;
    });
  }

  async update(session: Session, id: string, input: UpdateTenant, requestId?: string): Promise<TenantEntity> {
    const tenantId = session.authorize("tenant:update", undefined);
    if (session.kind === "tenant") {
      if (id !== tenantId) throw new NotFoundError("tenant", id);
      for (const [field, value] of Object.entries(input)) {
        if (value !== undefined && !SELF_SERVICE_FIELDS.includes(field as keyof UpdateTenant)) {
          throw new ForbiddenError(`input.${field}: only a platform admin may change it`);
        }
      }
    }
    if (!isUuid(id)) throw new NotFoundError("tenant", id);
    const changes = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined && v !== null));
    if (Object.keys(changes).length === 0) throw new BadUserInputError("input", "give at least one field to change");
    return this.db.transaction(async (m) => {
      const repo = m.getRepository(TenantEntity);
      const tenant = await repo.findOne({ where: { id }, lock: { mode: "pessimistic_write" } });
      if (!tenant) throw new NotFoundError("tenant", id);
      const before = Object.fromEntries(Object.keys(changes).map((k) => [k, tenant[k as keyof TenantEntity]]));
      Object.assign(tenant, changes, { updatedAt: new Date() });
      const saved = await repo.save(tenant);
      await this.audit.record(m, asKeySession(session), id, {
        action: "tenant.update",
        targetType: "Tenant",
        targetId: id,
        details: { before, after: changes },
      }, requestId);
      this.db.afterCommit(() => this.limitsChanged(id));
      return saved;
    });
  }

  /** Erases every row the tenant owns in one transaction, then ends its open sockets everywhere. */
  async delete(session: Session, id: string, requestId?: string): Promise<boolean> {
    session.authorize("tenant:delete");
    if (!isUuid(id)) throw new NotFoundError("tenant", id);
    await this.db.transaction(async (m) => {
      const tenant = await m.getRepository(TenantEntity).findOne({ where: { id }, lock: { mode: "pessimistic_write" } });
      if (!tenant) throw new NotFoundError("tenant", id);
      const erased: Record<string, number> = {};
      for (const table of TENANT_OWNED_TABLES) {
        const result = (await m.query(`DELETE FROM ${table} WHERE tenant_id = $1`, [id])) as [unknown, number];
        erased[table] = result[1];
      }
      await m.query(`DELETE FROM tenants WHERE id = $1`, [id]);
      await this.audit.record(m, asKeySession(session), null, {
        action: "tenant.delete",
        targetType: "Tenant",
        targetId: id,
        details: { slug: tenant.slug, erased },
      }, requestId);
      this.db.afterCommit(() => {
        this.sessions.forgetTenant(id);
        this.pubsub.publish("TENANT_DELETED", { tenantId: id });
      });
    });
    return true;
  }

  async list(session: Session): Promise<TenantEntity[]> {
    session.authorize("tenant:list");
    return this.db.read((m) => m.getRepository(TenantEntity).find({ order: { createdAt: "ASC", id: "ASC" } }));
  }

  /** A tenant key sees only its own tenant; any other id is simply not there (null). */
  async get(session: Session, id: string): Promise<TenantEntity | null> {
    const own = session.authorize("tenant:read");
    if (session.kind === "tenant" && own !== id) return null;
    if (!isUuid(id)) return null;
    return this.db.read((m) => m.getRepository(TenantEntity).findOne({ where: { id } }));
  }

  /** Who the caller is: any valid key may ask. */
  async viewer(session: Session): Promise<{ platformAdmin: boolean; tenant: TenantEntity | null; scopes: readonly Scope[] }> {
    session.authorize("tenant:read");
    const key = asKeySession(session);
    if (key.kind === "platform") return { platformAdmin: true, tenant: null, scopes: key.scopes };
    const tenant = await this.get(key, key.tenantId);
    return { platformAdmin: false, tenant, scopes: key.scopes };
  }

  private async assertSlugFree(m: EntityManager, slug: string): Promise<void> {
    const exists = await m.getRepository(TenantEntity).exists({ where: { slug } });
    if (exists) throw new ConflictError("input.slug", `a tenant with slug ${JSON.stringify(slug)} already exists`);
  }
}

