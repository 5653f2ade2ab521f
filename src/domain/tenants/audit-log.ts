import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";
import { AuditEntryEntity, PlatformAuditEntryEntity } from "../../entities";
import { decodeCursor, encodeCursor, pageSize } from "../../lib/cursor";
import type { PlatformSession, Session, TenantSession } from "../auth";
import { isUuid } from "./ids";
import type { AuditEventPayload, VigilPubSub } from "../pubsub";

export interface AuditRecord {
  action: string;
  targetType?: string;
  targetId?: string;
  details?: Record<string, unknown>;
}

export interface AuditPage {
  nodes: AuditEventPayload[];
  hasNextPage: boolean;
  endCursor: string | null;
}

function toPayload(e: AuditEntryEntity | PlatformAuditEntryEntity): AuditEventPayload {
  return {
    id: String(e.id),
    at: new Date(e.at).toISOString(),
    actor: e.actor,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    details: e.details,
  };
}

const INSERT_TENANT_ENTRY = `INSERT INTO audit_entries (tenant_id, actor, action, target_type, target_id, details, request_id)
  VALUES ($7, $1, $2, $3, $4, $5::jsonb, $6) RETURNING id, at`;
const INSERT_PLATFORM_ENTRY = `INSERT INTO platform_audit_entries (actor, action, target_type, target_id, details, request_id)
  VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING id, at`;

/**
 * Writes audit entries inside the caller's transaction and publishes them once it commits.
 * A platform admin's action goes to the platform log and, when it concerns a tenant that still
 * exists, to that tenant's log as well, so tenant admins see what was done to them.
 */
export class AuditLog {
  constructor(
    private readonly db: Database,
    private readonly pubsub: VigilPubSub,
  ) {}

  async record(
    m: EntityManager,
    session: PlatformSession | TenantSession,
    tenantId: string | null,
    entry: AuditRecord,
    requestId?: string,
  ): Promise<void> {
    const base = {
      actor: session.actor,
      action: entry.action,
      targetType: entry.targetType ?? null,
      targetId: entry.targetId ?? null,
      details: entry.details ?? null,
      requestId: requestId ?? null,
    };
    if (session.kind === "platform") {
      const saved = await this.insert(m, null, base);
      this.db.afterCommit(() => this.pubsub.publish("AUDIT_EVENTS", "platform", saved));
    }
    if (tenantId) {
      const saved = await this.insert(m, tenantId, base);
      this.db.afterCommit(() => this.pubsub.publish("AUDIT_EVENTS", tenantId, saved));
    }
  }

  /**
   * Publishes a tenant's entry that the caller wrote itself, in its own statement (a hot path that
   * writes in one statement), once its transaction commits, or at once outside one.
   */
  published(tenantId: string, entry: AuditEventPayload): void {
    this.db.afterCommit(() => this.pubsub.publish("AUDIT_EVENTS", tenantId, entry));
  }

  private async insert(m: EntityManager, tenantId: string | null, v: Omit<AuditEventPayload, "id" | "at"> & { requestId: string | null }): Promise<AuditEventPayload> {
    const params = [v.actor, v.action, v.targetType, v.targetId, v.details === null ? null : JSON.stringify(v.details), v.requestId];
    // prepared: every registration and configuration writes one of these
    const rows = await (tenantId
      ? this.db.prepared<{ id: string; at: Date }>("vigil_audit_insert", INSERT_TENANT_ENTRY, [...params, tenantId], m)
      : this.db.prepared<{ id: string; at: Date }>("vigil_platform_audit_insert", INSERT_PLATFORM_ENTRY, params, m));
    const row = rows[0]!;
    const { requestId: _omit, ...rest } = v;
    return { ...rest, id: String(row.id), at: new Date(row.at).toISOString() };
  }

  /**
   * A tenant admin reads its tenant's log; a platform admin reads the platform log, or a tenant's
   * when it names one.
   */
  async listFor(
    session: Session,
    args: { tenantId?: string | null; first?: number | null; after?: string | null; action?: string | null },
  ): Promise<AuditPage> {
    const tenantId = session.authorize("audit:read", args.tenantId) ?? null;
    if (tenantId !== null && !isUuid(tenantId)) return { nodes: [], hasNextPage: false, endCursor: null };
    return this.list(tenantId, args);
  }

  /** Newest first. tenantId null reads the platform log. */
  private async list(
    tenantId: string | null,
    args: { first?: number | null; after?: string | null; action?: string | null },
  ): Promise<AuditPage> {
    const limit = pageSize(args.first);
    const before = args.after ? decodeCursor(args.after) : undefined;
    return this.db.read(async (m) => {
      const qb = tenantId
        ? m.getRepository(AuditEntryEntity).createQueryBuilder("e").where("e.tenantId = :tenantId", { tenantId })
        : m.getRepository(PlatformAuditEntryEntity).createQueryBuilder("e").where("true");
      if (args.action) qb.andWhere("e.action = :action", { action: args.action });
      if (before) qb.andWhere("e.id < :before", { before });
      const rows = await qb.orderBy("e.id", "DESC").limit(limit + 1).getMany();
      const page = rows.slice(0, limit).map(toPayload);
      return {
        nodes: page,
        hasNextPage: rows.length > limit,
        endCursor: page.length ? encodeCursor(page[page.length - 1]!.id) : null,
      };
    });
  }
}
