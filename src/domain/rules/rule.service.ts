import { randomUUID } from "node:crypto";
import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";
import { BadUserInputError, NotFoundError } from "../../errors";
import { decodeCursor, encodeCursor, pageSize } from "../../lib/cursor";
import { type Session, tenantOf } from "../auth";
import type { AuditLog } from "../tenants";
import { asKeySession, isUuid } from "../tenants/ids";
import type { RuleDataLoader } from "./data";
import { type NormalizedRule, type RuleInput, backtestOver, normalizeRuleInput, ruleOffsetMs } from "./engine";
import type { ConditionData, RuleSpec, Transition } from "./engine/types";
import { type RuleEvaluator, slotAtOrBefore } from "./evaluator";
import { RULE_COLUMNS, type RuleRecord, type RuleRow, queryRows, ruleById, toRule } from "./store";

export const MAX_CHANNELS_PER_RULE = 20;

/** A backtest evaluates at most this many times and reads at most this many samples. */
export const MAX_BACKTEST_EVALUATIONS = 11_000;
export const MAX_BACKTEST_SAMPLES = 2_000_000;

export interface RuleConnection {
  nodes: RuleRecord[];
  totalCount: number;
  hasNextPage: boolean;
  endCursor: string | null;
}

/** The next evaluation slot strictly after `now`. */
export function nextSlot(ruleId: string, intervalSeconds: number, now: number): number {
  const interval = intervalSeconds * 1000;
  return slotAtOrBefore(ruleOffsetMs(ruleId, intervalSeconds), interval, now) + interval;
}

/**
 * Alert rules: their lifecycle, reads and backtests. Every operation acts on the session's
 * tenant. Saving validates everything the engine will meet (conditions, ranges, templates) so an
 * evaluation never fails on the rule itself; channel ids must name the tenant's channels.
 */
export class RuleService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly data: RuleDataLoader,
    private readonly evaluator: RuleEvaluator,
  ) {}

  async list(session: Session, first: number | null, after: string | null, enabled: boolean | null): Promise<RuleConnection> {
    const tenantId = tenantOf(session, "rules:read");
    const size = pageSize(first);
    const afterSeq = after ? decodeCursor(after) : "0";
    const filter = enabled === null ? "" : ` AND r.enabled = ${enabled ? "true" : "false"}`;
    const [{ n }] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM alert_rules r WHERE r.tenant_id = $1${filter}`, [tenantId]);
    const rows = await this.db.query<RuleRow>(
      `SELECT ${RULE_COLUMNS} FROM alert_rules r WHERE r.tenant_id = $1 AND r.seq > $2${filter} ORDER BY r.seq LIMIT ${size + 1}`,
      [tenantId, afterSeq],
    );
    const nodes = rows.slice(0, size).map(toRule);
    return { nodes, totalCount: n, hasNextPage: rows.length > size, endCursor: nodes.length ? encodeCursor(nodes[nodes.length - 1]!.seq) : null };
  }

  async get(session: Session, id: string): Promise<RuleRecord | null> {
    const tenantId = tenantOf(session, "rules:read");
    if (!isUuid(id)) return null;
    return (await this.db.read((m) => ruleById(m, tenantId, id))) ?? null;
  }

  /** For field resolvers that already hold a tenant's alert or delivery: the rule, or null. */
  async getFor(tenantId: string, id: string): Promise<RuleRecord | null> {
    return (await this.db.read((m) => ruleById(m, tenantId, id))) ?? null;
  }

  async create(session: Session, input: RuleInput, requestId?: string, now = Date.now()): Promise<RuleRecord> {
    const tenantId = tenantOf(session, "rules:write");
    const rule = this.normalize(input);
    return this.db.transaction(async (m) => {
      const id = randomUUID();
      await this.assertChannels(m, tenantId, rule.channelIds);
      await m.query(
        `INSERT INTO alert_rules (tenant_id, id, name, description, severity, category, conditions, combine, group_by, for_seconds,
                                  keep_firing_for_seconds, interval_seconds, no_data, labels, annotations, enabled, created_at, updated_at,
                                  next_evaluation_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $18)`,
        [tenantId, id, ...this.columns(rule), new Date(now), rule.enabled ? new Date(nextSlot(id, rule.intervalSeconds, now)) : null],
      );
      await this.writeChannels(m, tenantId, id, rule.channelIds);
      await this.audit.record(m, asKeySession(session), tenantId, { action: "rule.create", targetType: "AlertRule", targetId: id, details: { name: rule.name } }, requestId);
      return (await ruleById(m, tenantId, id))!;
    });
  }

  async update(session: Session, id: string, input: RuleInput, requestId?: string, now = Date.now()): Promise<RuleRecord> {
    const tenantId = tenantOf(session, "rules:write");
    const rule = this.normalize(input);
    return this.db.transaction(async (m) => {
      const before = await this.owned(m, tenantId, id);
      await this.assertChannels(m, tenantId, rule.channelIds);
      const next = !rule.enabled ? null : before.enabled && before.intervalSeconds === rule.intervalSeconds && before.nextEvaluationAt !== null ? before.nextEvaluationAt : nextSlot(id, rule.intervalSeconds, now);
      await m.query(
        `UPDATE alert_rules SET name = $3, description = $4, severity = $5, category = $6, conditions = $7, combine = $8, group_by = $9,
                for_seconds = $10, keep_firing_for_seconds = $11, interval_seconds = $12, no_data = $13, labels = $14, annotations = $15,
                enabled = $16, updated_at = $17, next_evaluation_at = $18
          WHERE tenant_id = $1 AND id = $2`,
        [tenantId, id, ...this.columns(rule), new Date(now), next === null ? null : new Date(next)],
      );
      await m.query(`DELETE FROM alert_rule_channels WHERE tenant_id = $1 AND rule_id = $2`, [tenantId, id]);
      await this.writeChannels(m, tenantId, id, rule.channelIds);
      if (before.enabled && !rule.enabled) await this.evaluator.retire(m, before, now);
      await this.audit.record(m, asKeySession(session), tenantId, { action: "rule.update", targetType: "AlertRule", targetId: id, details: { name: rule.name } }, requestId);
      return (await ruleById(m, tenantId, id))!;
    });
  }

  /** Deletes the rule with its alerts and their history; receivers of its firing alerts get no resolved notice. */
  async delete(session: Session, id: string, requestId?: string): Promise<boolean> {
    const tenantId = tenantOf(session, "rules:delete");
    return this.db.transaction(async (m) => {
      const before = await this.owned(m, tenantId, id);
      await m.query(`DELETE FROM alert_rules WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      await this.audit.record(m, asKeySession(session), tenantId, { action: "rule.delete", targetType: "AlertRule", targetId: id, details: { name: before.name } }, requestId);
      return true;
    });
  }

  /**
   * Disabling stops evaluation and retires the rule's active alerts (PENDING dropped, FIRING
   * resolved and notified): nothing is left firing that no evaluation will ever resolve.
   */
  async setEnabled(session: Session, id: string, enabled: boolean, requestId?: string, now = Date.now()): Promise<RuleRecord> {
    const tenantId = tenantOf(session, "rules:write");
    return this.db.transaction(async (m) => {
      const before = await this.owned(m, tenantId, id);
      if (before.enabled !== enabled) {
        const next = enabled ? new Date(nextSlot(id, before.intervalSeconds, now)) : null;
        await m.query(`UPDATE alert_rules SET enabled = $3, next_evaluation_at = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2`, [
          tenantId,
          id,
          enabled,
          next,
          new Date(now),
        ]);
        if (!enabled) await this.evaluator.retire(m, before, now);
        await this.audit.record(m, asKeySession(session), tenantId, { action: enabled ? "rule.enable" : "rule.disable", targetType: "AlertRule", targetId: id }, requestId);
      }
      return (await ruleById(m, tenantId, id))!;
    });
  }

  /**
   * Replays an unsaved rule over stored samples at every interval slot in [from, to], starting
   * from no alerts, and returns the transitions it would have made. Writes nothing.
   */
  async backtest(session: Session, input: RuleInput, from: Date, to: Date): Promise<{ evaluations: number; transitions: Transition[] }> {
    const tenantId = tenantOf(session, "rules:read");
    const rule = this.normalize(input);
    const lo = from.getTime();
    const hi = to.getTime();
    if (!(hi >= lo)) throw new BadUserInputError("to", "must not be before from");
    const interval = rule.intervalSeconds * 1000;
    const evaluations = Math.floor((hi - lo) / interval) + 1;
    if (evaluations > MAX_BACKTEST_EVALUATIONS) {
      throw new BadUserInputError("to", `the range holds ${evaluations} evaluations at ${rule.intervalSeconds} s; a backtest makes at most ${MAX_BACKTEST_EVALUATIONS}`);
    }
    const spec: RuleSpec = { ...rule, id: "backtest", tenantId };
    const maxWindow = Math.max(...rule.conditions.map((c) => c.windowSeconds)) * 1000;
    // one load over the whole range: each condition's window at `hi` widened to reach back to `lo`
    const widened: RuleSpec = { ...spec, conditions: spec.conditions.map((c) => ({ ...c, windowSeconds: (hi - lo + maxWindow) / 1000 })) };
    const [loaded] = await this.data.load([{ rule: widened, t: hi }]);
    if (loaded!.error !== null) throw new BadUserInputError("input.conditions", loaded!.error);
    const data: ConditionData[] = loaded!.data;
    const samples = data.reduce((n, c) => n + c.series.reduce((k, s) => k + s.samples.length, 0), 0);
    if (samples > MAX_BACKTEST_SAMPLES) {
      throw new BadUserInputError("from", `the range holds ${samples} samples; a backtest reads at most ${MAX_BACKTEST_SAMPLES}: narrow the range or the selectors`);
    }
    // evaluation times start at `from`: a draft has no scheduling offset of its own
    const r = backtestOver(spec, data, lo, hi, { offsetMs: lo % interval });
    return { evaluations: r.evaluations, transitions: r.transitions };
  }

  private normalize(input: RuleInput): NormalizedRule {
    const rule = normalizeRuleInput(input, "input");
    if (rule.channelIds.length > MAX_CHANNELS_PER_RULE) throw new BadUserInputError("input.channelIds", `must list at most ${MAX_CHANNELS_PER_RULE} channels`);
    return { ...rule, channelIds: rule.channelIds.map((id) => id.toLowerCase()) };
  }

  private columns(rule: NormalizedRule): unknown[] {
    return [
      rule.name,
      rule.description,
      rule.severity,
      rule.category,
      JSON.stringify(rule.conditions),
      rule.combine,
      rule.groupBy === null ? null : JSON.stringify(rule.groupBy),
      rule.forSeconds,
      rule.keepFiringForSeconds,
      rule.intervalSeconds,
      rule.noData,
      JSON.stringify(rule.labels),
      JSON.stringify(rule.annotations),
      rule.enabled,
    ];
  }

  private async owned(m: EntityManager, tenantId: string, id: string): Promise<RuleRecord> {
    const rule = isUuid(id) ? await ruleById(m, tenantId, id, true) : undefined;
    if (!rule) throw new NotFoundError("rule", id);
    return rule;
  }

  private async assertChannels(m: EntityManager, tenantId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const seen = new Set<string>();
    ids.forEach((id, i) => {
      if (seen.has(id.toLowerCase())) throw new BadUserInputError(`input.channelIds[${i}]`, "is listed twice");
      seen.add(id.toLowerCase());
    });
    const valid = ids.filter(isUuid);
    const found = new Set(
      (await queryRows<{ id: string }>(m, `SELECT id::text AS id FROM notification_channels WHERE tenant_id = $1 AND id = ANY($2::uuid[])`, [tenantId, valid])).map(
        (r) => r.id,
      ),
    );
    const missing = ids.findIndex((id) => !found.has(id.toLowerCase()));
    if (missing >= 0) throw new BadUserInputError(`input.channelIds[${missing}]`, `no notification channel ${JSON.stringify(ids[missing])} in this tenant`);
  }

  private async writeChannels(m: EntityManager, tenantId: string, ruleId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await m.query(
      `INSERT INTO alert_rule_channels (tenant_id, rule_id, channel_id, position)
       SELECT $1, $2, c, p FROM unnest($3::uuid[]) WITH ORDINALITY AS u(c, p)`,
      [tenantId, ruleId, ids],
    );
  }
}
