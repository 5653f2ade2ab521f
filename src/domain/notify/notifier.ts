import { randomUUID } from "node:crypto";
import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";
import { mapLimit } from "../../lib/concurrency";
import type { Logger } from "../../lib/logger";
import type { RetryPolicy } from "./backoff";
import { type AttemptOutcome, outcomeUpdate } from "./outcome";
import { idempotencyKey, routes } from "./routing";
import { type Sender, httpSender } from "./sender";
import { type ChannelRow, type ClaimRow, type NewDelivery, type RepeatRow, SEVERITY_ORDER, channelColumns, insertDeliveries, queryRows, toChannel } from "./store";
import { TRANSPORTS, type PayloadContext } from "./transports";
import { type AlertNotice, type ChannelKind, DeliveryReason, DeliveryStatus } from "./types";

export interface NotifierOptions {
  retry: RetryPolicy;
  /** one attempt: connect, send, response (NOTIFY_TIMEOUT_MS) */
  timeoutMs: number;
  /** attempts in flight at once, per process */
  concurrency: number;
  /** Vigil's external base URL without a trailing slash: generatorURL and externalURL */
  publicUrl: () => string;
  /** rows claimed per pass (default 100) */
  batchSize?: number;
}

/** A delivery taken by this process for one attempt, with what sending needs. */
export interface Claim {
  tenantId: string;
  id: string;
  channelId: string;
  reason: DeliveryReason;
  payload: unknown;
  idempotencyKey: string;
  /** the attempt number this claim is (attempts after the claim) */
  attempts: number;
  kind: ChannelKind;
  url: string;
  secret: string | null;
  enabled: boolean;
}

/** A claimed row is not taken again for this long beyond its timeout: the lease of a process that died mid-attempt. */
const LEASE_MARGIN_MS = 60_000;

/** rows per repeat pass; a pass goes on until a batch comes back short */
const REPEAT_BATCH = 500;

/** Notices built for testChannel: alertId and ruleId name nothing. */
const TEST_ID = "00000000-0000-0000-0000-000000000000";

/**
 * The outbox. `enqueue` writes deliveries inside the caller's transaction (the alert's state change
 * and its notifications commit together or not at all); `deliverDue` claims due rows across
 * tenants (FOR UPDATE SKIP LOCKED, so processes share the work), sends them outside any
 * transaction — the embedded database has one session, never held across a network call — and
 * records each outcome in its own statement. A row claimed by a process that dies is due again
 * when its lease ends; nothing is lost across a restart.
 */
export class Notifier {
  private readonly stopping = new AbortController();
  /** rows claimed per deliverDue pass */
  readonly batch: number;

  constructor(
    private readonly db: Database,
    private readonly options: NotifierOptions,
    private readonly log: Logger,
    private readonly sender: Sender = httpSender,
    private readonly random: () => number = Math.random,
  ) {
    this.batch = options.batchSize ?? 100;
  }

  /** Aborts attempts in flight; they are recorded as due again, for the next process. */
  stop(): void {
    this.stopping.abort();
  }

  /**
   * Called inside the evaluator's transaction (m is its EntityManager): writes one outbox row per
   * (notice, routed channel) — channels of the rule (alert_rule_channels), enabled, severity ≥
   * minSeverity, RESOLVED only with sendResolved, nothing when silenced. The payload is built now.
   */
  async enqueue(m: EntityManager, tenantId: string, notices: readonly AlertNotice[], now: Date): Promise<number> {
    const live = notices.filter((n) => !n.silenced);
    if (live.length === 0) return 0;
    const ruleIds = [...new Set(live.map((n) => n.ruleId))];
    const channels = await queryRows<ChannelRow & { rule_id: string }>(
      m,
      `SELECT rc.rule_id, ${channelColumns("c")}
         FROM alert_rule_channels rc JOIN notification_channels c ON c.tenant_id = rc.tenant_id AND c.id = rc.channel_id
        WHERE rc.tenant_id = $1 AND rc.rule_id = ANY($2::uuid[]) AND c.enabled
        ORDER BY rc.rule_id, rc.position`,
      [tenantId, ruleIds],
    );
    const rows: NewDelivery[] = [];
    for (const notice of live) {
      for (const row of channels) {
        if (row.rule_id !== notice.ruleId) continue;
        const channel = toChannel(row);
        if (!routes(notice, channel)) continue;
        const reason = notice.state === "RESOLVED" ? DeliveryReason.RESOLVED : DeliveryReason.FIRING;
        rows.push(this.newDelivery(row, notice, reason, now, idempotencyKey({ alertId: notice.alertId, reason, channelId: row.id })));
      }
    }
    await insertDeliveries(m, rows);
    return rows.length;
  }

  /**
   * Job: for FIRING, unsilenced alerts whose last delivery to a routed channel is older than that
   * channel's repeatIntervalSeconds, enqueue a REPEAT. An alert never delivered to a channel
   * (silenced until now, or routed later) counts from when it started firing. One process at a
   * time (a transaction-scoped advisory lock), so two processes never repeat the same alert.
   * `tenantId` limits the pass to one tenant: for tests that share a database and move time forward.
   */
  async enqueueRepeats(now: number = Date.now(), tenantId: string | null = null): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.db.transaction(async (m) => {
        const [lock] = await queryRows<{ ok: boolean }>(m, `SELECT pg_try_advisory_xact_lock(hashtext('vigil:notify-repeats')) AS ok`, []);
        if (!lock?.ok) return 0;
        const due = await queryRows<ChannelRow & RepeatRow>(
          m,
          `SELECT ${channelColumns("c")}, a.id AS alert_id, a.rule_id, r.name AS rule_name,
                  a.fingerprint, a.severity AS alert_severity, a.labels, a.annotations, a.value, coalesce(a.fired_at, a.active_at) AS starts_at
             FROM alerts a
             JOIN alert_rules r ON r.tenant_id = a.tenant_id AND r.id = a.rule_id
             JOIN alert_rule_channels rc ON rc.tenant_id = a.tenant_id AND rc.rule_id = a.rule_id
             JOIN notification_channels c ON c.tenant_id = rc.tenant_id AND c.id = rc.channel_id
            WHERE a.state <> 'RESOLVED' AND a.state = 'FIRING' AND NOT a.silenced AND c.enabled AND ($2::uuid IS NULL OR a.tenant_id = $2)
              AND array_position(${SEVERITY_ORDER}, a.severity) >= array_position(${SEVERITY_ORDER}, c.min_severity)
              AND coalesce((SELECT max(d.created_at) FROM notification_deliveries d
                             WHERE d.tenant_id = a.tenant_id AND d.alert_id = a.id AND d.channel_id = c.id AND d.reason IN ('FIRING', 'REPEAT')),
                           a.fired_at, a.active_at) + make_interval(secs => c.repeat_interval_seconds) <= $1::timestamptz
            ORDER BY a.tenant_id, a.id, rc.position
            LIMIT ${REPEAT_BATCH}`,
          [new Date(now).toISOString(), tenantId],
        );
        const at = new Date(now);
        const rows = due.map((r) =>
          this.newDelivery(
            r,
            {
              alertId: r.alert_id,
              ruleId: r.rule_id,
              ruleName: r.rule_name,
              fingerprint: r.fingerprint,
              state: "FIRING",
              severity: r.alert_severity,
              labels: r.labels ?? {},
              annotations: r.annotations ?? {},
              value: r.value,
              startsAt: new Date(r.starts_at),
              endsAt: null,
            },
            DeliveryReason.REPEAT,
            at,
            idempotencyKey({ alertId: r.alert_id, reason: DeliveryReason.REPEAT, channelId: r.id, at }),
          ),
        );
        await insertDeliveries(m, rows);
        return rows.length;
      });
      total += n;
      if (n < REPEAT_BATCH) return total;
    }
  }

  /**
   * Job: claims due PENDING rows (FOR UPDATE SKIP LOCKED, cross-tenant), sends each (bounded
   * concurrency), records the outcome. Returns how many were attempted. `tenantId` limits the pass
   * to one tenant (tests that share a database).
   */
  async deliverDue(now: number = Date.now(), tenantId: string | null = null): Promise<number> {
    if (this.stopping.signal.aborted) return 0;
    const claimed = await this.claim(now, tenantId);
    await mapLimit(claimed, this.options.concurrency, (c) => this.attempt(c, now));
    return claimed.length;
  }

  /**
   * testChannel's row: a TEST delivery with a sample alert, written inside the caller's transaction
   * already claimed (attempts 1, leased), so that no worker takes it while the caller sends it with
   * `attempt` once the transaction has committed.
   */
  async enqueueTest(m: EntityManager, channel: ChannelRow, now: Date): Promise<Claim> {
    const id = randomUUID();
    const notice: PayloadContext["notice"] = {
      alertId: TEST_ID,
      ruleId: TEST_ID,
      ruleName: "VigilTestNotification",
      fingerprint: "0000000000000000",
      state: "FIRING",
      severity: "INFO",
      labels: { alertname: "VigilTestNotification", severity: "info", channel: channel.name },
      annotations: {
        summary: "Test notification from Vigil",
        description: `Sent by testChannel to check the channel ${JSON.stringify(channel.name)}. No alert is firing.`,
      },
      value: null,
      startsAt: now,
      endsAt: null,
    };
    const row = this.newDelivery(channel, notice, DeliveryReason.TEST, now, `vigil-test-${id}`, id);
    row.attempts = 1;
    row.nextAttemptAt = new Date(now.getTime() + this.leaseMs());
    await insertDeliveries(m, [row]);
    return {
      tenantId: channel.tenant_id,
      id,
      channelId: channel.id,
      reason: DeliveryReason.TEST,
      payload: row.payload,
      idempotencyKey: row.idempotencyKey,
      attempts: 1,
      kind: channel.kind,
      url: channel.url,
      secret: channel.secret,
      enabled: channel.enabled,
    };
  }

  /** Sends one claimed delivery and records the outcome. Never throws. */
  async attempt(claim: Claim, now: number): Promise<void> {
    const started = Date.now();
    let outcome: AttemptOutcome;
    if (!claim.enabled && claim.reason !== DeliveryReason.TEST) {
      outcome = { kind: "skipped", error: "not sent: the channel was disabled" };
    } else {
      try {
        const request = TRANSPORTS[claim.kind].request({ url: claim.url, secret: claim.secret }, claim.payload);
        outcome = await this.sender(request, {
          idempotencyKey: claim.idempotencyKey,
          timeoutMs: this.options.timeoutMs,
          cancel: this.stopping.signal,
          redact: claim.secret ? [claim.secret] : [],
        });
      } catch (err) {
        this.log.error({ err, tenantId: claim.tenantId, delivery: claim.id }, "could not build a notification request");
        outcome = { kind: "fail", status: null, error: "could not build the request" };
      }
    }
    const finished = now + (Date.now() - started);
    await this.record(claim, outcome, finished).catch((err: unknown) =>
      this.log.error({ err, tenantId: claim.tenantId, delivery: claim.id }, "could not record a delivery attempt"),
    );
  }

  private leaseMs(): number {
    return this.options.timeoutMs + LEASE_MARGIN_MS;
  }

  private newDelivery(
    channel: ChannelRow,
    notice: PayloadContext["notice"],
    reason: DeliveryReason,
    now: Date,
    key: string,
    id: string = randomUUID(),
  ): NewDelivery {
    const payload = TRANSPORTS[channel.kind].payload({
      notice,
      channelName: channel.name,
      repeatIntervalSeconds: channel.repeat_interval_seconds,
      publicUrl: this.options.publicUrl(),
      now,
    });
    return {
      tenantId: channel.tenant_id,
      id,
      channelId: channel.id,
      alertId: reason === DeliveryReason.TEST ? null : notice.alertId,
      reason,
      payload,
      idempotencyKey: key,
      createdAt: now,
      nextAttemptAt: now,
      attempts: 0,
    };
  }

  /** Takes due rows: one more attempt each, leased until the attempt must have ended. */
  private claim(now: number, tenantId: string | null): Promise<Claim[]> {
    return this.db.transaction(async (m) => {
      const rows = await queryRows<ClaimRow>(
        m,
        `UPDATE notification_deliveries d
            SET attempts = d.attempts + 1, last_attempt_at = $1::timestamptz, next_attempt_at = $1::timestamptz + make_interval(secs => $2::double precision)
           FROM (SELECT tenant_id, id FROM notification_deliveries
                  WHERE status = 'PENDING' AND next_attempt_at <= $1::timestamptz AND ($3::uuid IS NULL OR tenant_id = $3)
                  ORDER BY next_attempt_at LIMIT ${this.batch} FOR UPDATE SKIP LOCKED) due,
                notification_channels c
          WHERE d.tenant_id = due.tenant_id AND d.id = due.id AND c.tenant_id = d.tenant_id AND c.id = d.channel_id
          RETURNING d.tenant_id, d.id, d.channel_id, d.reason, d.payload, d.idempotency_key, d.attempts, c.kind, c.url, c.secret, c.enabled`,
        [new Date(now).toISOString(), this.leaseMs() / 1000, tenantId],
      );
      return rows.map((r) => ({
        tenantId: r.tenant_id,
        id: r.id,
        channelId: r.channel_id,
        reason: r.reason,
        payload: r.payload,
        idempotencyKey: r.idempotency_key,
        attempts: r.attempts,
        kind: r.kind,
        url: r.url,
        secret: r.secret,
        enabled: r.enabled,
      }));
    });
  }

  /**
   * Writes an attempt's outcome, only if the row is still this claim's (a process whose lease ran
   * out must not overwrite the outcome of the one that took the row over).
   */
  private async record(claim: Claim, outcome: AttemptOutcome, at: number): Promise<void> {
    const u = outcomeUpdate(claim.attempts, outcome, at, this.options.retry, this.random);
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    await this.db.query(
      `UPDATE notification_deliveries
          SET status = $3, attempts = $4, response_code = $5, error = $6, next_attempt_at = $7::timestamptz, delivered_at = $8::timestamptz
        WHERE tenant_id = $1 AND id = $2 AND status = 'PENDING' AND attempts = $9`,
      [claim.tenantId, claim.id, u.status, u.attempts, u.responseCode, u.error, iso(u.nextAttemptAt), iso(u.deliveredAt), claim.attempts],
    );
    const fields = { tenantId: claim.tenantId, delivery: claim.id, channel: claim.channelId, kind: claim.kind, attempts: u.attempts, responseCode: u.responseCode, error: u.error };
    if (u.status === DeliveryStatus.DELIVERED) this.log.debug(fields, "notification delivered");
    else if (u.status === DeliveryStatus.FAILED) this.log.warn(fields, "notification failed");
    else if (outcome.kind === "retry") this.log.info({ ...fields, nextAttemptAt: iso(u.nextAttemptAt) }, "notification attempt failed; will retry");
  }
}
