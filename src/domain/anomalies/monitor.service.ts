import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";
import { BadUserInputError, NotFoundError } from "../../errors";
import { pageSize } from "../../lib/cursor";
import { type Session, tenantOf } from "../auth";
import type { AuditLog } from "../tenants";
import { asKeySession, isUuid } from "../tenants/ids";
import type { AnomalyEngine } from "./engine";
import {
  ANOMALY_SELECT,
  type AnomalyRow,
  MONITOR_COLUMNS,
  type MonitorRow,
  decodeAnomalyCursor,
  encodeAnomalyCursor,
  monitorById,
  toAnomalyPayload,
  toMonitor,
} from "./store";
import type { AnomalyAlgorithm, AnomalyMonitorInput, AnomalyMonitorRecord, AnomalyPayload } from "./types";
import { MAX_MONITORS_PER_TENANT, type MonitorSpec, validateMonitorInput } from "./validation";

export interface AnomalyQuery {
  monitorId?: string | null;
  from?: Date | null;
  to?: Date | null;
  minScore?: number | null;
  first?: number | null;
  after?: string | null;
}

export interface AnomalyPage {
  nodes: AnomalyPayload[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** A monitor's audited fields. */
const audited = (m: MonitorSpec | AnomalyMonitorRecord) => ({
  name: m.name,
  selector: m.selector,
  algorithm: m.algorithm,
  threshold: m.threshold,
  direction: m.direction,
  enabled: m.enabled,
});

/**
 * Anomaly monitors (create, update, delete: each one transaction with an audit entry) and the
 * anomalies they recorded. Monitors are configuration like rules (RULES_* scopes); anomalies are
 * what they produce, like alerts (ALERTS_READ). After each change the engine re-reads the tenant's
 * monitors.
 */
export class AnomalyMonitorService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly engine: AnomalyEngine,
    private readonly defaultThreshold: number,
  ) {}

  async list(session: Session): Promise<AnomalyMonitorRecord[]> {
    const tenantId = tenantOf(session, "rules:read");
    const rows = await this.db.query<MonitorRow>(`SELECT ${MONITOR_COLUMNS} FROM anomaly_monitors WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);
    return rows.map(toMonitor);
  }

  /** One monitor of the session's tenant, or undefined (also for ids of other tenants). */
  async get(session: Session, id: string): Promise<AnomalyMonitorRecord | undefined> {
    const tenantId = tenantOf(session, "rules:read");
    if (!isUuid(id)) return undefined;
    return this.db.read((m) => monitorById(m, tenantId, id));
  }

  async create(session: Session, input: AnomalyMonitorInput, requestId?: string): Promise<AnomalyMonitorRecord> {
    const tenantId = tenantOf(session, "rules:write");
    const spec = validateMonitorInput(input, this.defaultThreshold);
    return this.db.transaction(async (m) => {
      // serialises creations of the tenant, so that two at once cannot pass the limit together
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('vigil:anomaly-monitors:' || $1))`, [tenantId]);
      const [{ n }] = (await m.query(`SELECT count(*)::int AS n FROM anomaly_monitors WHERE tenant_id = $1`, [tenantId])) as [{ n: number }];
      if (n >= MAX_MONITORS_PER_TENANT) throw new BadUserInputError("input", `a tenant has at most ${MAX_MONITORS_PER_TENANT} anomaly monitors`);
      const [row] = (await m.query(
        `INSERT INTO anomaly_monitors (tenant_id, name, selector, algorithm, threshold, direction, enabled)
         VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7) RETURNING ${MONITOR_COLUMNS}`,
        [tenantId, spec.name, JSON.stringify(spec.selector), spec.algorithm, spec.threshold, spec.direction, spec.enabled],
      )) as MonitorRow[];
      const created = toMonitor(row!);
      await this.audit.record(m, asKeySession(session), tenantId, {
        action: "anomalyMonitor.create",
        targetType: "AnomalyMonitor",
        targetId: created.id,
        details: audited(spec),
      }, requestId);
      this.db.afterCommit(() => this.engine.monitorsChanged(tenantId));
      return created;
    });
  }

  /** Replaces every field. A new algorithm starts from new detectors (its own, shared with other monitors of it). */
  async update(session: Session, id: string, input: AnomalyMonitorInput, requestId?: string): Promise<AnomalyMonitorRecord> {
    const tenantId = tenantOf(session, "rules:write");
    const spec = validateMonitorInput(input, this.defaultThreshold);
    if (!isUuid(id)) throw new NotFoundError("anomaly monitor", id);
    return this.db.transaction(async (m) => {
      const before = await monitorById(m, tenantId, id, true);
      if (!before) throw new NotFoundError("anomaly monitor", id);
      const [row] = (await m.query(
        // through a CTE: TypeORM answers a bare UPDATE … RETURNING with [rows, count]
        `WITH u AS (UPDATE anomaly_monitors SET name = $3, selector = $4::jsonb, algorithm = $5, threshold = $6, direction = $7, enabled = $8,
                           updated_at = greatest(now(), updated_at + interval '1 millisecond')
                     WHERE tenant_id = $1 AND id = $2 RETURNING ${MONITOR_COLUMNS})
         SELECT * FROM u`,
        [tenantId, id, spec.name, JSON.stringify(spec.selector), spec.algorithm, spec.threshold, spec.direction, spec.enabled],
      )) as MonitorRow[];
      const dropped = before.algorithm === spec.algorithm ? [] : await dropUnusedAlgorithms(m, tenantId, [before.algorithm]);
      await this.audit.record(m, asKeySession(session), tenantId, {
        action: "anomalyMonitor.update",
        targetType: "AnomalyMonitor",
        targetId: id,
        details: { before: audited(before), after: audited(spec) },
      }, requestId);
      this.db.afterCommit(() => this.engine.monitorsChanged(tenantId, dropped));
      return toMonitor(row!);
    });
  }

  /** Deletes the monitor and its anomalies, and the detectors of an algorithm no other monitor of the tenant uses. */
  async delete(session: Session, id: string, requestId?: string): Promise<boolean> {
    const tenantId = tenantOf(session, "rules:delete");
    if (!isUuid(id)) throw new NotFoundError("anomaly monitor", id);
    await this.db.transaction(async (m) => {
      const before = await monitorById(m, tenantId, id, true);
      if (!before) throw new NotFoundError("anomaly monitor", id);
      const [{ n }] = (await m.query(
        `WITH d AS (DELETE FROM anomalies WHERE tenant_id = $1 AND monitor_id = $2 RETURNING 1) SELECT count(*)::int AS n FROM d`,
        [tenantId, id],
      )) as [{ n: number }];
      await m.query(`DELETE FROM anomaly_monitors WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      const dropped = await dropUnusedAlgorithms(m, tenantId, [before.algorithm]);
      await this.audit.record(m, asKeySession(session), tenantId, {
        action: "anomalyMonitor.delete",
        targetType: "AnomalyMonitor",
        targetId: id,
        details: { ...audited(before), anomaliesDeleted: n },
      }, requestId);
      this.db.afterCommit(() => this.engine.monitorsChanged(tenantId, dropped));
    });
    return true;
  }

  /** The tenant's anomalies, newest first (by timestamp), optionally of one monitor, in [from, to], with score ≥ minScore. */
  async anomalies(session: Session, q: AnomalyQuery): Promise<AnomalyPage> {
    const tenantId = tenantOf(session, "alerts:read");
    const size = pageSize(q.first);
    const where = ["a.tenant_id = $1"];
    const params: unknown[] = [tenantId];
    const param = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (q.monitorId != null) {
      // an id that names no monitor of this tenant simply matches nothing
      if (!isUuid(q.monitorId)) return { nodes: [], hasNextPage: false, endCursor: null };
      where.push(`a.monitor_id = ${param(q.monitorId)}`);
    }
    if (q.from != null) where.push(`a.ts >= ${param(q.from.getTime())}`);
    if (q.to != null) {
      if (q.from != null && q.to.getTime() < q.from.getTime()) throw new BadUserInputError("to", "must not be before from");
      where.push(`a.ts <= ${param(q.to.getTime())}`);
    }
    if (q.minScore != null) {
      if (!Number.isFinite(q.minScore) || q.minScore < 0 || q.minScore > 1) throw new BadUserInputError("minScore", "must be a score from 0 to 1");
      where.push(`a.score >= ${param(q.minScore)}`);
    }
    if (q.after != null) {
      const c = decodeAnomalyCursor(q.after);
      where.push(`(a.ts, a.id) < (${param(c.ts)}::bigint, ${param(c.id)}::bigint)`);
    }
    const rows = await this.db.query<AnomalyRow>(`${ANOMALY_SELECT} WHERE ${where.join(" AND ")} ORDER BY a.ts DESC, a.id DESC LIMIT ${size + 1}`, params);
    const nodes = rows.slice(0, size).map(toAnomalyPayload);
    const last = rows[Math.min(rows.length, size) - 1];
    return { nodes, hasNextPage: rows.length > size, endCursor: last ? encodeAnomalyCursor(Number(last.ts), last.id) : null };
  }
}

/**
 * Deletes the checkpoints and minute maxima of those algorithms that no monitor of the tenant uses
 * any more (after the monitor's change), and returns them: shared detectors go with their last user.
 */
async function dropUnusedAlgorithms(m: EntityManager, tenantId: string, candidates: AnomalyAlgorithm[]): Promise<AnomalyAlgorithm[]> {
  const used = (await m.query(`SELECT DISTINCT algorithm FROM anomaly_monitors WHERE tenant_id = $1 AND algorithm = ANY($2::text[])`, [tenantId, candidates])) as Array<{
    algorithm: AnomalyAlgorithm;
  }>;
  const unused = candidates.filter((a) => !used.some((u) => u.algorithm === a));
  if (unused.length) {
    await m.query(`DELETE FROM anomaly_checkpoints WHERE tenant_id = $1 AND algorithm = ANY($2::text[])`, [tenantId, unused]);
    await m.query(`DELETE FROM anomaly_score_minutes WHERE tenant_id = $1 AND algorithm = ANY($2::text[])`, [tenantId, unused]);
  }
  return unused;
}
