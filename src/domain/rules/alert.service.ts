import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";
import { BadUserInputError, NotFoundError } from "../../errors";
import { decodeCursor, encodeCursor, pageSize } from "../../lib/cursor";
import { type Session, tenantOf } from "../auth";
import type { AuditLog } from "../tenants";
import { asKeySession, isUuid } from "../tenants/ids";
import type { AlertState, MatchOp, Severity } from "./engine/types";
import { type Matcher, matchesAll, validateMatchers } from "./matchers";
import {
  ALERT_COLUMNS,
  type AlertRecord,
  type AlertRow,
  SILENCE_COLUMNS,
  type SilenceRecord,
  type SilenceRow,
  type TransitionRecord,
  alertById,
  queryRows,
  toAlert,
  toSilence,
} from "./store";
import { SEVERITY_RANK } from "./types";

export interface AlertFilter {
  states?: readonly AlertState[] | null;
  minSeverity?: Severity | null;
  ruleId?: string | null;
  matchers?: ReadonlyArray<{ label: string; op?: MatchOp | null; value: string }> | null;
}

/** A filter checked once, with its matchers compiled. */
export interface CheckedFilter {
  states: ReadonlySet<AlertState> | null;
  minRank: number;
  ruleId: string | null;
  matchers: Matcher[];
}

export interface SilenceInput {
  matchers: ReadonlyArray<{ label: string; op?: MatchOp | null; value: string }>;
  startsAt?: Date | null;
  endsAt: Date;
  comment?: string | null;
}

export const MAX_SILENCE_COMMENT = 1_000;
export const MAX_ACK_COMMENT = 1_000;

export function checkFilter(filter: AlertFilter | null | undefined, field = "filter"): CheckedFilter {
  const f = filter ?? {};
  if (f.ruleId != null && !isUuid(f.ruleId)) throw new BadUserInputError(`${field}.ruleId`, "is not a rule id");
  return {
    states: f.states && f.states.length > 0 ? new Set(f.states) : null,
    minRank: f.minSeverity ? SEVERITY_RANK[f.minSeverity] : 0,
    ruleId: f.ruleId?.toLowerCase() ?? null,
    matchers: validateMatchers(f.matchers ?? [], `${field}.matchers`, false),
  };
}

export function passes(filter: CheckedFilter, alert: AlertRecord): boolean {
  return (
    (filter.states === null || filter.states.has(alert.state)) &&
    SEVERITY_RANK[alert.severity] >= filter.minRank &&
    (filter.ruleId === null || alert.ruleId === filter.ruleId) &&
    matchesAll(filter.matchers, alert.labels)
  );
}

/**
 * Alerts (reads, history, acknowledgements) and silences. Silences stop notifications, not
 * state: an alert a silence matches still moves through its states and shows `silenced`.
 */
export class AlertService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
  ) {}

  /**
   * The tenant's alerts, newest first. States, severity and rule filter in SQL; label matchers
   * (which may be regexes) on the rows, so a page may be read in several steps.
   */
  async list(session: Session, filter: AlertFilter | null, first: number | null, after: string | null) {
    const tenantId = tenantOf(session, "alerts:read");
    const size = pageSize(first);
    const f = checkFilter(filter);
    const where = ["a.tenant_id = $1"];
    const params: unknown[] = [tenantId];
    if (f.states) {
      params.push([...f.states]);
      where.push(`a.state = ANY($${params.length}::text[])`);
    }
    if (f.minRank > 0) {
      params.push(Object.entries(SEVERITY_RANK).filter(([, r]) => r >= f.minRank).map(([s]) => s));
      where.push(`a.severity = ANY($${params.length}::text[])`);
    }
    if (f.ruleId) {
      params.push(f.ruleId);
      where.push(`a.rule_id = $${params.length}`);
    }
    const sql = where.join(" AND ");
    if (f.matchers.length === 0) {
      const [{ n }] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM alerts a WHERE ${sql}`, params);
      const cursor = after ? decodeCursor(after) : null;
      const rows = await this.db.query<AlertRow>(
        `SELECT ${ALERT_COLUMNS} FROM alerts a WHERE ${sql}${cursor ? ` AND a.seq < $${params.length + 1}` : ""} ORDER BY a.seq DESC LIMIT ${size + 1}`,
        cursor ? [...params, cursor] : params,
      );
      const nodes = rows.slice(0, size).map(toAlert);
      return { nodes, totalCount: n, hasNextPage: rows.length > size, endCursor: nodes.length ? encodeCursor(nodes[nodes.length - 1]!.seq) : null };
    }
    const all = (await this.db.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts a WHERE ${sql} ORDER BY a.seq DESC`, params)).map(toAlert).filter((a) => passes(f, a));
    const cursor = after ? BigInt(decodeCursor(after)) : null;
    const rest = cursor === null ? all : all.filter((a) => BigInt(a.seq) < cursor);
    const nodes = rest.slice(0, size);
    return { nodes, totalCount: all.length, hasNextPage: rest.length > size, endCursor: nodes.length ? encodeCursor(nodes[nodes.length - 1]!.seq) : null };
  }

  async get(session: Session, id: string): Promise<AlertRecord | null> {
    const tenantId = tenantOf(session, "alerts:read");
    if (!isUuid(id)) return null;
    return (await this.db.read((m) => alertById(m, tenantId, id))) ?? null;
  }

  /** A rule's alerts, newest first, at most 500 (the rule's `alerts` field). */
  async ofRule(session: Session, ruleTenantId: string, ruleId: string, states: readonly AlertState[] | null): Promise<AlertRecord[]> {
    const tenantId = tenantOf(session, "alerts:read");
    if (tenantId !== ruleTenantId) return [];
    const filtered = states !== null && states.length > 0;
    const rows = await this.db.query<AlertRow>(
      `SELECT ${ALERT_COLUMNS} FROM alerts a WHERE a.tenant_id = $1 AND a.rule_id = $2 ${filtered ? "AND a.state = ANY($3::text[])" : ""}
        ORDER BY a.seq DESC LIMIT 500`,
      filtered ? [tenantId, ruleId, states] : [tenantId, ruleId],
    );
    return rows.map(toAlert);
  }

  async getFor(tenantId: string, id: string): Promise<AlertRecord | null> {
    return (await this.db.read((m) => alertById(m, tenantId, id))) ?? null;
  }

  /** An alert's transitions, oldest first. */
  async history(tenantId: string, alertId: string): Promise<TransitionRecord[]> {
    const rows = await this.db.query<{ at: Date | string; from_state: AlertState | null; to_state: AlertState; value: number | null }>(
      `SELECT at, from_state, to_state, value FROM alert_transitions WHERE tenant_id = $1 AND alert_id = $2 ORDER BY id`,
      [tenantId, alertId],
    );
    return rows.map((r) => ({ at: new Date(r.at).getTime(), from: r.from_state, to: r.to_state, value: r.value }));
  }

  /** Records who acknowledged and when; the alert's state does not change. */
  async acknowledge(session: Session, id: string, comment: string | null, requestId?: string, now = Date.now()): Promise<AlertRecord> {
    const tenantId = tenantOf(session, "alerts:write");
    if (comment != null && comment.length > MAX_ACK_COMMENT) throw new BadUserInputError("comment", `must be at most ${MAX_ACK_COMMENT} characters`);
    const actor = asKeySession(session).actor;
    return this.db.transaction(async (m) => {
      const rows = isUuid(id)
        ? await queryRows<AlertRow>(
            m,
            `UPDATE alerts a SET acknowledged_at = $3, acknowledged_by = $4, acknowledge_comment = $5 WHERE a.tenant_id = $1 AND a.id = $2 RETURNING ${ALERT_COLUMNS}`,
            [tenantId, id, new Date(now), actor, comment ?? null],
          )
        : [];
      if (rows.length === 0) throw new NotFoundError("alert", id);
      await this.audit.record(m, asKeySession(session), tenantId, { action: "alert.acknowledge", targetType: "Alert", targetId: id, details: comment ? { comment } : undefined }, requestId);
      return toAlert(rows[0]!);
    });
  }

  /** Silences, newest first; `active`: only those in effect now (true) or only the others (false). */
  async silences(session: Session, active: boolean | null, now = Date.now()): Promise<SilenceRecord[]> {
    const tenantId = tenantOf(session, "alerts:read");
    const filter = active === null ? "" : active ? " AND starts_at <= $2 AND ends_at > $2" : " AND (starts_at > $2 OR ends_at <= $2)";
    const rows = await this.db.query<SilenceRow>(
      `SELECT ${SILENCE_COLUMNS} FROM silences WHERE tenant_id = $1${filter} ORDER BY created_at DESC, id LIMIT 1000`,
      active === null ? [tenantId] : [tenantId, new Date(now)],
    );
    return rows.map(toSilence);
  }

  async createSilence(session: Session, input: SilenceInput, requestId?: string, now = Date.now()): Promise<SilenceRecord> {
    const tenantId = tenantOf(session, "alerts:write");
    const matchers = validateMatchers(input.matchers, "input.matchers", true);
    const startsAt = input.startsAt ? input.startsAt.getTime() : now;
    const endsAt = input.endsAt.getTime();
    if (!Number.isFinite(startsAt)) throw new BadUserInputError("input.startsAt", "is not a valid time");
    if (!Number.isFinite(endsAt)) throw new BadUserInputError("input.endsAt", "is not a valid time");
    if (endsAt <= startsAt) throw new BadUserInputError("input.endsAt", "must be after startsAt");
    if (endsAt <= now) throw new BadUserInputError("input.endsAt", "must be in the future");
    if (input.comment != null && input.comment.length > MAX_SILENCE_COMMENT) throw new BadUserInputError("input.comment", `must be at most ${MAX_SILENCE_COMMENT} characters`);
    const actor = asKeySession(session).actor;
    return this.db.transaction(async (m) => {
      const rows = await queryRows<SilenceRow>(
        m,
        `INSERT INTO silences (tenant_id, matchers, starts_at, ends_at, comment, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING ${SILENCE_COLUMNS}`,
        [tenantId, JSON.stringify(matchers), new Date(startsAt), new Date(endsAt), input.comment ?? null, actor, new Date(now)],
      );
      const silence = toSilence(rows[0]!);
      await this.markSilenced(m, tenantId, now);
      await this.audit.record(m, asKeySession(session), tenantId, { action: "silence.create", targetType: "Silence", targetId: silence.id, details: { matchers } }, requestId);
      return silence;
    });
  }

  /** Ends a silence now (it stays listed, as Alertmanager keeps expired silences). */
  async expireSilence(session: Session, id: string, requestId?: string, now = Date.now()): Promise<SilenceRecord> {
    const tenantId = tenantOf(session, "alerts:write");
    return this.db.transaction(async (m) => {
      const found = isUuid(id) ? await queryRows<SilenceRow>(m, `SELECT ${SILENCE_COLUMNS} FROM silences WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id]) : [];
      if (found.length === 0) throw new NotFoundError("silence", id);
      let silence = toSilence(found[0]!);
      if (silence.endsAt > now) {
        // a silence that has not started yet ends where it starts: it never takes effect
        const endsAt = Math.max(now, silence.startsAt + 1);
        const rows = await queryRows<SilenceRow>(m, `UPDATE silences SET ends_at = $3 WHERE tenant_id = $1 AND id = $2 RETURNING ${SILENCE_COLUMNS}`, [
          tenantId,
          id,
          new Date(endsAt),
        ]);
        silence = toSilence(rows[0]!);
        await this.markSilenced(m, tenantId, now);
      }
      await this.audit.record(m, asKeySession(session), tenantId, { action: "silence.expire", targetType: "Silence", targetId: id }, requestId);
      return silence;
    });
  }

  /** Sets `silenced` on the tenant's active alerts from the silences in effect now (the evaluator keeps it current after). */
  private async markSilenced(m: EntityManager, tenantId: string, now: number): Promise<void> {
    const silences = (await queryRows<SilenceRow>(m, `SELECT ${SILENCE_COLUMNS} FROM silences WHERE tenant_id = $1 AND ends_at > $2`, [tenantId, new Date(now)])).map(toSilence);
    const active = (await queryRows<AlertRow>(m, `SELECT ${ALERT_COLUMNS} FROM alerts a WHERE a.tenant_id = $1 AND a.state <> 'RESOLVED'`, [tenantId])).map(toAlert);
    const inEffect = silences.filter((s) => s.startsAt <= now && now < s.endsAt);
    const changed = active.filter((a) => a.silenced !== inEffect.some((s) => matchesAll(s.matchers, a.labels)));
    if (changed.length === 0) return;
    await m.query(`UPDATE alerts SET silenced = NOT silenced WHERE tenant_id = $1 AND id = ANY($2::uuid[])`, [tenantId, changed.map((a) => a.id)]);
  }
}
