import { randomUUID } from "node:crypto";
import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";
import type { Logger } from "../../lib/logger";
import type { AlertNotice } from "../notify";
import type { VigilPubSub } from "../pubsub";
import type { RuleDataLoader } from "./data";
import { evaluate } from "./engine";
import type { AlertStateRecord, EvaluationResult, Transition } from "./engine/types";
import type { AlertEventPayload } from "./events";
import { matchesAll } from "./matchers";
import { ALERT_COLUMNS, type AlertRecord, type AlertRow, RULE_COLUMNS, type RuleRecord, type RuleRow, type SilenceRecord, queryRows, toAlert, toRule, toState } from "./store";
import { activeSilences } from "./silences";

/** The notification outbox (src/domain/notify): writes its rows inside the caller's transaction. */
export interface AlertNotifier {
  enqueue(m: EntityManager, tenantId: string, notices: readonly AlertNotice[], now: Date): Promise<number>;
}

/** The evaluation slot of a rule at or before `now`: slots are offset + k · interval. */
export function slotAtOrBefore(offsetMs: number, intervalMs: number, now: number): number {
  return Math.floor((now - offsetMs) / intervalMs) * intervalMs + offsetMs;
}

export interface EvaluationReport {
  evaluated: number;
  transitions: number;
  errors: number;
}

/** Rules claimed per batch: their data is read in two statements. */
const BATCH = 500;

/**
 * Runs due rules: claims them (FOR UPDATE SKIP LOCKED, moving next_evaluation_at on in the same
 * statement, so each slot is evaluated once across processes), reads their data in bulk, runs the
 * pure engine at the slot time, and stores what changed — alert rows, their history, outbox rows
 * — in one transaction per rule whose alerts changed. Events are published after the commit.
 * A rule that fell more than one interval behind is evaluated at its latest slot (missed slots are
 * skipped, as Prometheus does).
 */
export class RuleEvaluator {
  constructor(
    private readonly db: Database,
    private readonly data: RuleDataLoader,
    private readonly pubsub: VigilPubSub,
    private readonly notifier: AlertNotifier | null,
    private readonly offsetOf: (ruleId: string, intervalSeconds: number) => number,
    private readonly log: Logger,
  ) {}

  /** Evaluates every rule due at `now` (of one tenant when given), batch by batch. */
  async runDue(now = Date.now(), tenantId: string | null = null, stopping: () => boolean = () => false): Promise<EvaluationReport> {
    const report: EvaluationReport = { evaluated: 0, transitions: 0, errors: 0 };
    for (;;) {
      const claimed = await this.claim(now, tenantId);
      if (claimed.length === 0) break;
      const r = await this.evaluateBatch(claimed, now);
      report.evaluated += r.evaluated;
      report.transitions += r.transitions;
      report.errors += r.errors;
      if (claimed.length < BATCH || stopping()) break;
    }
    return report;
  }

  /** The earliest slot any enabled rule waits for (epoch ms), or null when none does. */
  async nextDueAt(): Promise<number | null> {
    const [row] = await this.db.query<{ at: number | null }>(
      `SELECT (extract(epoch FROM min(next_evaluation_at)) * 1000)::float8 AS at FROM alert_rules WHERE enabled`,
    );
    return row?.at ?? null;
  }

  private async claim(now: number, tenantId: string | null): Promise<Array<{ rule: RuleRecord; t: number }>> {
    return this.db.transaction(async (m) => {
      const rows = await queryRows<RuleRow>(
        m,
        `SELECT ${RULE_COLUMNS} FROM alert_rules r
          WHERE r.enabled AND r.next_evaluation_at <= $1 ${tenantId ? "AND r.tenant_id = $2" : ""}
          ORDER BY r.next_evaluation_at LIMIT ${BATCH} FOR UPDATE OF r SKIP LOCKED`,
        tenantId ? [new Date(now), tenantId] : [new Date(now)],
      );
      if (rows.length === 0) return [];
      const claimed = rows.map((row) => {
        const rule = toRule(row);
        const interval = rule.intervalSeconds * 1000;
        const t = slotAtOrBefore(this.offsetOf(rule.id, rule.intervalSeconds), interval, now);
        return { rule, t, next: t + interval };
      });
      await m.query(
        `UPDATE alert_rules r SET next_evaluation_at = to_timestamp(u.next / 1000.0)
           FROM unnest($1::uuid[], $2::uuid[], $3::float8[]) AS u(tenant_id, id, next)
          WHERE r.tenant_id = u.tenant_id AND r.id = u.id`,
        [claimed.map((c) => c.rule.tenantId), claimed.map((c) => c.rule.id), claimed.map((c) => c.next)],
      );
      return claimed;
    });
  }

  private async evaluateBatch(batch: ReadonlyArray<{ rule: RuleRecord; t: number }>, now: number): Promise<EvaluationReport> {
    const report: EvaluationReport = { evaluated: batch.length, transitions: 0, errors: 0 };
    const [loaded, previous, silences] = await Promise.all([
      this.data.load(batch),
      this.activeAlerts(batch.map((b) => b.rule)),
      this.silencesOf([...new Set(batch.map((b) => b.rule.tenantId))], now),
    ]);
    const outcomes: Array<{ tenantId: string; id: string; t: number; error: string | null }> = [];
    for (const [i, { rule, t }] of batch.entries()) {
      const input = loaded[i]!;
      const prior = previous.get(`${rule.tenantId}/${rule.id}`) ?? [];
      let error = input.error;
      if (input.data) {
        const result = evaluate(rule, input.data, prior.map(toState), t);
        error = result.error;
        if (result.error === null) {
          try {
            report.transitions += await this.apply(rule, prior, result, t, silences.get(rule.tenantId) ?? []);
          } catch (err) {
            this.log.error({ err, ruleId: rule.id }, "storing a rule evaluation failed");
            error = "storing the evaluation failed";
          }
        }
      }
      if (error !== null) report.errors++;
      outcomes.push({ tenantId: rule.tenantId, id: rule.id, t, error });
    }
    await this.db.query(
      `UPDATE alert_rules r SET last_evaluated_at = to_timestamp(u.t / 1000.0), last_evaluation_error = u.error
         FROM unnest($1::uuid[], $2::uuid[], $3::float8[], $4::text[]) AS u(tenant_id, id, t, error)
        WHERE r.tenant_id = u.tenant_id AND r.id = u.id`,
      [outcomes.map((o) => o.tenantId), outcomes.map((o) => o.id), outcomes.map((o) => o.t), outcomes.map((o) => o.error)],
    );
    return report;
  }

  /**
   * Stores one evaluation's result. Untouched alerts (the common case of a rule that stays quiet)
   * cost nothing; a rule whose alerts only refreshed their value costs one statement.
   */
  async apply(rule: RuleRecord, prior: readonly AlertRecord[], result: EvaluationResult, t: number, silences: readonly SilenceRecord[]): Promise<number> {
    if (result.transitions.length === 0 && result.refreshed.length === 0) return 0;
    const byFingerprint = new Map(prior.map((a) => [a.fingerprint, a]));
    const silenced = (labels: Record<string, string>) => silences.some((s) => s.startsAt <= t && t < s.endsAt && matchesAll(s.matchers, labels));
    const events: AlertEventPayload[] = [];
    const notices: AlertNotice[] = [];
    await this.db.transaction(async (m) => {
      const touched = new Set<string>();
      for (const tr of result.transitions) {
        const before = tr.from === null ? undefined : byFingerprint.get(tr.fingerprint);
        const alert = before && tr.from !== "RESOLVED" ? await this.move(m, rule, before, tr, result, silenced(tr.labels)) : await this.insert(m, rule, tr, result, silenced(tr.labels));
        touched.add(tr.fingerprint);
        byFingerprint.set(tr.fingerprint, alert);
        await m.query(`INSERT INTO alert_transitions (tenant_id, alert_id, at, from_state, to_state, value) VALUES ($1, $2, $3, $4, $5, $6)`, [
          rule.tenantId,
          alert.id,
          new Date(tr.at),
          tr.from,
          tr.to,
          tr.value,
        ]);
        events.push({ alert, previousState: tr.from, state: tr.to, at: tr.at });
        const notice = noticeOf(rule, alert, tr);
        if (notice) notices.push(notice);
      }
      const refreshed = result.refreshed.filter((s) => !touched.has(s.fingerprint));
      if (refreshed.length > 0) {
        await m.query(
          `UPDATE alerts a SET value = u.value, annotations = u.annotations, keep_firing_since = to_timestamp(u.kfs / 1000.0),
                  last_evaluated_at = $3, silenced = u.silenced
             FROM unnest($2::text[], $4::float8[], $5::jsonb[], $6::float8[], $7::bool[]) AS u(fingerprint, value, annotations, kfs, silenced)
            WHERE a.tenant_id = $1 AND a.rule_id = $8 AND a.fingerprint = u.fingerprint AND a.state <> 'RESOLVED'`,
          [
            rule.tenantId,
            refreshed.map((s) => s.fingerprint),
            new Date(t),
            refreshed.map((s) => s.value),
            refreshed.map((s) => JSON.stringify(s.annotations)),
            refreshed.map((s) => s.keepFiringSince),
            refreshed.map((s) => silenced(s.labels)),
            rule.id,
          ],
        );
      }
      // the outbox runs on the wall clock: a delivery is due when it is written, whatever slot made it
      if (notices.length > 0 && this.notifier) await this.notifier.enqueue(m, rule.tenantId, notices, new Date());
      this.db.afterCommit(() => {
        for (const e of events) void this.pubsub.publish("ALERT_EVENTS", rule.tenantId, e);
      });
    });
    return events.length;
  }

  private async insert(m: EntityManager, rule: RuleRecord, tr: Transition, result: EvaluationResult, silenced: boolean): Promise<AlertRecord> {
    const state = stateAfter(result, tr);
    const rows = await queryRows<AlertRow>(
      m,
      `INSERT INTO alerts AS a (tenant_id, id, rule_id, fingerprint, state, severity, labels, annotations, value, active_at, fired_at,
                              resolved_at, keep_firing_since, last_evaluated_at, silenced)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
       RETURNING ${ALERT_COLUMNS}`,
      [
        rule.tenantId,
        randomUUID(),
        rule.id,
        tr.fingerprint,
        tr.to,
        rule.severity,
        JSON.stringify(tr.labels),
        JSON.stringify(tr.annotations),
        tr.value,
        new Date(state?.activeAt ?? tr.at),
        tr.to === "FIRING" ? new Date(state?.firedAt ?? tr.at) : null,
        tr.to === "RESOLVED" ? new Date(tr.at) : null,
        state?.keepFiringSince == null ? null : new Date(state.keepFiringSince),
        new Date(tr.at),
        silenced,
      ],
    );
    return toAlert(rows[0]!);
  }

  private async move(m: EntityManager, rule: RuleRecord, before: AlertRecord, tr: Transition, result: EvaluationResult, silenced: boolean): Promise<AlertRecord> {
    const state = stateAfter(result, tr);
    const rows = await queryRows<AlertRow>(
      m,
      `UPDATE alerts a SET state = $3, value = $4, annotations = $5, fired_at = COALESCE(a.fired_at, $6), resolved_at = $7,
              keep_firing_since = $8, last_evaluated_at = $9, silenced = $10
        WHERE a.tenant_id = $1 AND a.id = $2
        RETURNING ${ALERT_COLUMNS}`,
      [
        rule.tenantId,
        before.id,
        tr.to,
        tr.value,
        JSON.stringify(tr.annotations),
        tr.to === "FIRING" ? new Date(state?.firedAt ?? tr.at) : null,
        tr.to === "RESOLVED" ? new Date(tr.at) : null,
        state?.keepFiringSince == null ? null : new Date(state.keepFiringSince),
        new Date(tr.at),
        silenced,
      ],
    );
    return toAlert(rows[0]!);
  }

  /**
   * Resolves every active alert of a rule that stops being evaluated (disabled): PENDING ones are
   * dropped, FIRING ones resolve with no value and are notified. Joins the caller's transaction.
   */
  async retire(m: EntityManager, rule: RuleRecord, now: number): Promise<void> {
    const prior = (
      await queryRows<AlertRow>(m, `SELECT ${ALERT_COLUMNS} FROM alerts a WHERE a.tenant_id = $1 AND a.rule_id = $2 AND a.state <> 'RESOLVED' FOR UPDATE`, [
        rule.tenantId,
        rule.id,
      ])
    ).map(toAlert);
    if (prior.length === 0) return;
    const transitions: Transition[] = prior.map((a) => ({
      fingerprint: a.fingerprint,
      labels: a.labels,
      from: a.state,
      to: "RESOLVED",
      at: now,
      value: null,
      annotations: a.annotations,
    }));
    const silences = await activeSilences(this.db, [rule.tenantId], now);
    await this.apply(rule, prior, { states: [], transitions, refreshed: [], error: null }, now, silences);
  }

  /** Active (PENDING or FIRING) alerts of the rules, by "tenant/rule". */
  private async activeAlerts(rules: readonly RuleRecord[]): Promise<Map<string, AlertRecord[]>> {
    const rows = await this.db.query<AlertRow>(
      `SELECT ${ALERT_COLUMNS} FROM alerts a JOIN unnest($1::uuid[], $2::uuid[]) AS u(tenant_id, rule_id)
          ON a.tenant_id = u.tenant_id AND a.rule_id = u.rule_id
        WHERE a.state <> 'RESOLVED'`,
      [rules.map((r) => r.tenantId), rules.map((r) => r.id)],
    );
    const out = new Map<string, AlertRecord[]>();
    for (const row of rows) {
      const a = toAlert(row);
      const key = `${a.tenantId}/${a.ruleId}`;
      out.set(key, [...(out.get(key) ?? []), a]);
    }
    return out;
  }

  private async silencesOf(tenantIds: readonly string[], now: number): Promise<Map<string, SilenceRecord[]>> {
    const all = await activeSilences(this.db, tenantIds, now);
    const out = new Map<string, SilenceRecord[]>();
    for (const s of all) out.set(s.tenantId, [...(out.get(s.tenantId) ?? []), s]);
    return out;
  }
}

function stateAfter(result: EvaluationResult, tr: Transition): AlertStateRecord | undefined {
  return tr.to === "RESOLVED" ? undefined : result.states.find((s) => s.fingerprint === tr.fingerprint);
}

/** Transitions that notify: into FIRING, and FIRING → RESOLVED. A dropped PENDING never does. */
function noticeOf(rule: RuleRecord, alert: AlertRecord, tr: Transition): AlertNotice | null {
  const firing = tr.to === "FIRING";
  const resolved = tr.to === "RESOLVED" && tr.from === "FIRING";
  if (!firing && !resolved) return null;
  return {
    alertId: alert.id,
    ruleId: rule.id,
    ruleName: rule.name,
    fingerprint: alert.fingerprint,
    state: firing ? "FIRING" : "RESOLVED",
    severity: alert.severity,
    labels: alert.labels,
    annotations: alert.annotations,
    value: alert.value,
    startsAt: new Date(alert.firedAt ?? alert.activeAt),
    endsAt: resolved ? new Date(tr.at) : null,
    silenced: alert.silenced,
  };
}

