import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";
import { BadUserInputError, NotFoundError } from "../../errors";
import { pageSize } from "../../lib/cursor";
import { type Session, tenantOf } from "../auth";
import type { AuditLog } from "../tenants";
import { asKeySession, isUuid } from "../tenants/ids";
import type { Notifier } from "./notifier";
import { type ChannelRow, DELIVERY_COLUMNS, DELIVERY_FROM, type DeliveryRow, channelColumns, queryRows, toChannel, toDelivery } from "./store";
import type { ChannelRecord, DeliveryRecord } from "./types";
import { type ChannelInput, type ChannelValues, validateChannel } from "./validation";

export interface DeliveryPage {
  nodes: DeliveryRecord[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** What the audit log keeps of a channel: never the secret, and only the URL's host (a Slack URL's path is a credential). */
function auditView(v: ChannelValues & { hasSecret: boolean }): Record<string, unknown> {
  return {
    name: v.name,
    kind: v.kind,
    host: new URL(v.url).host,
    minSeverity: v.minSeverity,
    sendResolved: v.sendResolved,
    repeatIntervalSeconds: v.repeatIntervalSeconds,
    enabled: v.enabled,
    hasSecret: v.hasSecret,
  };
}

function valuesOf(row: ChannelRow): ChannelValues {
  return {
    name: row.name,
    kind: row.kind,
    url: row.url,
    secret: row.secret,
    minSeverity: row.min_severity,
    sendResolved: row.send_resolved,
    repeatIntervalSeconds: row.repeat_interval_seconds,
    enabled: row.enabled,
  };
}

/** Delivery cursors: base64url of `d:<created_at ms>:<id>`, for keyset pages newest first. */
function encodeCursor(d: DeliveryRecord): string {
  return Buffer.from(`d:${d.createdAt.getTime()}:${d.id}`).toString("base64url");
}

function decodeCursor(cursor: string): { at: Date; id: string } {
  const m = /^d:(\d{1,15}):([0-9a-f-]{36})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!m || !isUuid(m[2]!)) throw new BadUserInputError("after", "not a cursor returned by this API");
  return { at: new Date(Number(m[1])), id: m[2]! };
}

/**
 * Notification channels and their deliveries. Every operation acts on the session's tenant
 * (tenantOf: platform admin keys are FORBIDDEN); an id of another tenant is NOT_FOUND. Reads need
 * rules:read, createChannel/updateChannel/testChannel rules:write, deleteChannel rules:delete.
 * Mutations are one transaction each, audited without the secret.
 */
export class ChannelService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly notifier: Notifier,
  ) {}

  async list(session: Session): Promise<ChannelRecord[]> {
    const tenantId = tenantOf(session, "rules:read");
    const rows = await this.db.query<ChannelRow>(`SELECT ${channelColumns()} FROM notification_channels WHERE tenant_id = $1 ORDER BY name, id`, [tenantId]);
    return rows.map(toChannel);
  }

  async create(session: Session, input: ChannelInput, requestId?: string): Promise<ChannelRecord> {
    const tenantId = tenantOf(session, "rules:write");
    const v = validateChannel(input);
    return this.db.transaction(async (m) => {
      const [row] = await queryRows<ChannelRow>(
        m,
        `INSERT INTO notification_channels (tenant_id, name, kind, url, secret, min_severity, send_resolved, repeat_interval_seconds, enabled)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${channelColumns()}`,
        [tenantId, v.name, v.kind, v.url, v.secret ?? null, v.minSeverity, v.sendResolved, v.repeatIntervalSeconds, v.enabled],
      );
      const channel = toChannel(row!);
      await this.audit.record(m, asKeySession(session), tenantId, {
        action: "channel.create",
        targetType: "NotificationChannel",
        targetId: channel.id,
        details: auditView({ ...v, hasSecret: channel.hasSecret }),
      }, requestId);
      return channel;
    });
  }

  /**
   * Replaces the channel's settings; optional fields left out (or null) keep theirs, and so does
   * the secret ("" clears it). Pending deliveries go to the new URL; if the kind changes they are
   * FAILED, their payloads being of the old kind.
   */
  async update(session: Session, id: string, input: ChannelInput, requestId?: string): Promise<ChannelRecord> {
    const tenantId = tenantOf(session, "rules:write");
    if (!isUuid(id)) throw new NotFoundError("channel", id);
    return this.db.transaction(async (m) => {
      const current = await this.channelRow(m, tenantId, id, true);
      const v = validateChannel(input, valuesOf(current));
      const [row] = await queryRows<ChannelRow>(
        m,
        `UPDATE notification_channels SET name = $3, kind = $4, url = $5, secret = CASE WHEN $10 THEN secret ELSE $6 END, min_severity = $7,
           send_resolved = $8, repeat_interval_seconds = $9, enabled = $11, updated_at = now()
         WHERE tenant_id = $1 AND id = $2 RETURNING ${channelColumns()}`,
        [tenantId, id, v.name, v.kind, v.url, v.secret ?? null, v.minSeverity, v.sendResolved, v.repeatIntervalSeconds, v.secret === undefined, v.enabled],
      );
      const channel = toChannel(row!);
      if (current.kind !== v.kind) {
        // their payloads were built for the old kind: another receiver would refuse them
        await m.query(
          `UPDATE notification_deliveries SET status = 'FAILED', next_attempt_at = NULL, error = 'not sent: the channel changed kind'
            WHERE tenant_id = $1 AND channel_id = $2 AND status = 'PENDING'`,
          [tenantId, id],
        );
      }
      await this.audit.record(m, asKeySession(session), tenantId, {
        action: "channel.update",
        targetType: "NotificationChannel",
        targetId: id,
        details: {
          before: auditView({ ...valuesOf(current), hasSecret: current.secret !== null }),
          after: auditView({ ...v, hasSecret: channel.hasSecret }),
          secret: v.secret === undefined ? "kept" : v.secret === null ? (current.secret === null ? "none" : "cleared") : "set",
        },
      }, requestId);
      return channel;
    });
  }

  /** Deletes the channel, its routes from rules and its deliveries (pending ones are not sent). */
  async delete(session: Session, id: string, requestId?: string): Promise<boolean> {
    const tenantId = tenantOf(session, "rules:delete");
    if (!isUuid(id)) throw new NotFoundError("channel", id);
    await this.db.transaction(async (m) => {
      const current = await this.channelRow(m, tenantId, id, true);
      await m.query(`DELETE FROM notification_channels WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      await this.audit.record(m, asKeySession(session), tenantId, {
        action: "channel.delete",
        targetType: "NotificationChannel",
        targetId: id,
        details: auditView({ ...valuesOf(current), hasSecret: current.secret !== null }),
      }, requestId);
    });
    return true;
  }

  /**
   * Sends a sample alert (FIRING, severity INFO, alertname VigilTestNotification) through the
   * channel, even a disabled one, and answers after the first attempt with its outcome. A
   * retryable failure leaves the delivery PENDING: the worker retries it like any other.
   */
  async test(session: Session, id: string, requestId?: string, now = Date.now()): Promise<DeliveryRecord> {
    const tenantId = tenantOf(session, "rules:write");
    if (!isUuid(id)) throw new NotFoundError("channel", id);
    const claim = await this.db.transaction(async (m) => {
      const channel = await this.channelRow(m, tenantId, id, false);
      const c = await this.notifier.enqueueTest(m, channel, new Date(now));
      await this.audit.record(m, asKeySession(session), tenantId, {
        action: "channel.test",
        targetType: "NotificationChannel",
        targetId: id,
        details: { delivery: c.id, name: channel.name, kind: channel.kind },
      }, requestId);
      return c;
    });
    await this.notifier.attempt(claim, now);
    const [row] = await this.db.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM ${DELIVERY_FROM} WHERE d.tenant_id = $1 AND d.id = $2`, [tenantId, claim.id]);
    // deleted meanwhile (with its channel): the answer is the channel's absence
    if (!row) throw new NotFoundError("channel", id);
    return toDelivery(row);
  }

  /** Newest first (`first`: 1–500, default 50); `channelId` of another tenant is NOT_FOUND. */
  async deliveries(session: Session, args: { channelId?: string | null; first?: number | null; after?: string | null }): Promise<DeliveryPage> {
    const tenantId = tenantOf(session, "rules:read");
    const limit = pageSize(args.first);
    const after = args.after ? decodeCursor(args.after) : null;
    if (args.channelId != null) {
      if (!isUuid(args.channelId)) throw new NotFoundError("channel", args.channelId);
      const [found] = await this.db.query(`SELECT 1 FROM notification_channels WHERE tenant_id = $1 AND id = $2`, [tenantId, args.channelId]);
      if (!found) throw new NotFoundError("channel", args.channelId);
    }
    const rows = await this.db.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM ${DELIVERY_FROM}
        WHERE d.tenant_id = $1 AND ($2::uuid IS NULL OR d.channel_id = $2)
          AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3::timestamptz, $4::uuid))
        ORDER BY d.created_at DESC, d.id DESC LIMIT ${limit + 1}`,
      [tenantId, args.channelId ?? null, after?.at.toISOString() ?? null, after?.id ?? null],
    );
    const nodes = rows.slice(0, limit).map(toDelivery);
    const hasNextPage = rows.length > limit;
    return { nodes, hasNextPage, endCursor: nodes.length ? encodeCursor(nodes[nodes.length - 1]!) : null };
  }

  private async channelRow(m: EntityManager, tenantId: string, id: string, lock: boolean): Promise<ChannelRow> {
    const [row] = await queryRows<ChannelRow>(
      m,
      `SELECT ${channelColumns()} FROM notification_channels WHERE tenant_id = $1 AND id = $2${lock ? " FOR UPDATE" : " FOR SHARE"}`,
      [tenantId, id],
    );
    if (!row) throw new NotFoundError("channel", id);
    return row;
  }
}
