import type { Database } from "../../db/database";
import { mapLimit } from "../../lib/concurrency";
import type { Logger } from "../../lib/logger";
import { type HealthLog, MISSED_HEARTBEATS } from "./health-log";
import { type Probe, type ProbeResult, httpProbe } from "./health-probe";
import { INSTANCE_COLUMNS, INSTANCE_FROM, type InstanceRow, insertHealthEvents, iso, ms, queryRows } from "./store";
import { type HealthCheck, InstanceHealth } from "./types";

export interface SweepOptions {
  /** an instance CRITICAL for longer than this is removed */
  deregisterAfterSeconds: number;
  /** active checks in flight at once */
  checkConcurrency: number;
}

export interface SweepReport {
  /** instances that became CRITICAL by missed heartbeats */
  expired: number;
  /** instances removed after being CRITICAL too long */
  removed: number;
  /** active checks run */
  checked: number;
}

/** rows handled per statement; a sweep goes on until a batch comes back short */
const BATCH = 1_000;

/**
 * The registry's background pass, with time as an argument (tests pass a future `now`):
 * 1. TTL: an instance without a health check whose last heartbeat is older than its TTL becomes
 *    CRITICAL, "missed heartbeats (last at <ISO>)". Instances with a health check are judged by it.
 * 2. Removal: an instance CRITICAL for longer than deregisterAfterSeconds is deleted; its history
 *    stays, closed by a "removed" row.
 * 3. Active checks: due checks are claimed (next_check_at moved one interval on, in the same
 *    statement, so each due check runs once even with several processes sweeping), run with at
 *    most checkConcurrency in flight, and applied with flap damping.
 * Rows are taken with FOR UPDATE SKIP LOCKED: sweeps of several processes share the work.
 */
export class HealthSweep {
  private readonly stopping = new AbortController();

  constructor(
    private readonly db: Database,
    private readonly healthLog: HealthLog,
    private readonly options: SweepOptions,
    private readonly log: Logger,
    private readonly probe: Probe = httpProbe,
  ) {}

  /** Cancels the checks in flight (their results are not applied), so shutdown need not wait for them. */
  stop(): void {
    this.stopping.abort();
  }

  /**
   * One pass at time `now`. `tenantId` limits it to one tenant: for tests that share a database
   * and drive time forward (the job always sweeps every tenant).
   */
  async run(now = Date.now(), tenantId: string | null = null): Promise<SweepReport> {
    const expired = await this.untilShort((limit) => this.expire(now, tenantId, limit));
    const removed = await this.untilShort((limit) => this.remove(now, tenantId, limit));
    const checked = await this.check(now, tenantId);
    return { expired, removed, checked };
  }

  private async untilShort(step: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await step(BATCH);
      total += n;
      if (n < BATCH) return total;
    }
  }

  private expire(now: number, tenantId: string | null, limit: number): Promise<number> {
    return this.db.transaction(async (m) => {
      const rows = await queryRows<InstanceRow>(
        m,
        `SELECT ${INSTANCE_COLUMNS} FROM ${INSTANCE_FROM}
          WHERE i.health_check IS NULL AND i.health <> 'CRITICAL'
            AND i.last_heartbeat_at + make_interval(secs => i.ttl_seconds) < $1::timestamptz AND ($2::uuid IS NULL OR i.tenant_id = $2)
          ORDER BY i.last_heartbeat_at LIMIT ${limit} FOR UPDATE OF i SKIP LOCKED`,
        [iso(now), tenantId],
      );
      if (rows.length === 0) return 0;
      const changes = rows.map((row) => {
        const last = row.last_heartbeat_at === null ? "never" : `last at ${iso(ms(row.last_heartbeat_at))}`;
        const next: InstanceRow = {
          ...row,
          health: InstanceHealth.CRITICAL,
          health_reason: `${MISSED_HEARTBEATS} (${last})`,
          health_changed_at: new Date(now),
          critical_since: new Date(now),
          check_streak: 0,
        };
        return { row: next, previous: row.health };
      });
      await m.query(
        `UPDATE service_instances i SET health = 'CRITICAL', health_reason = u.reason, health_changed_at = $1::timestamptz,
           critical_since = $1::timestamptz, check_streak = 0
         FROM unnest($2::uuid[], $3::uuid[], $4::text[]) AS u (tenant_id, id, reason)
         WHERE i.tenant_id = u.tenant_id AND i.id = u.id`,
        [iso(now), changes.map((c) => c.row.tenant_id), changes.map((c) => c.row.id), changes.map((c) => c.row.health_reason)],
      );
      await this.healthLog.recorded(m, changes, now);
      return rows.length;
    });
  }

  private remove(now: number, tenantId: string | null, limit: number): Promise<number> {
    const after = this.options.deregisterAfterSeconds;
    return this.db.transaction(async (m) => {
      const rows = await queryRows<InstanceRow>(
        m,
        `SELECT ${INSTANCE_COLUMNS} FROM ${INSTANCE_FROM}
          WHERE i.critical_since IS NOT NULL AND i.health = 'CRITICAL' AND i.critical_since < $1::timestamptz AND ($2::uuid IS NULL OR i.tenant_id = $2)
          ORDER BY i.critical_since LIMIT ${limit} FOR UPDATE OF i SKIP LOCKED`,
        [iso(now - after * 1000), tenantId],
      );
      if (rows.length === 0) return 0;
      await m.query(
        `DELETE FROM service_instances i USING unnest($1::uuid[], $2::uuid[]) AS u (tenant_id, id)
          WHERE i.tenant_id = u.tenant_id AND i.id = u.id`,
        [rows.map((r) => r.tenant_id), rows.map((r) => r.id)],
      );
      await insertHealthEvents(
        m,
        rows.map((r) => ({
          tenantId: r.tenant_id,
          serviceName: r.service_name,
          instance: r.id,
          instanceId: r.instance_id,
          previous: InstanceHealth.CRITICAL,
          health: InstanceHealth.CRITICAL,
          reason: `removed: critical for more than ${after} s (since ${iso(ms(r.critical_since!))})`,
          at: now,
        })),
      );
      this.log.info({ instances: rows.map((r) => ({ tenantId: r.tenant_id, service: r.service_name, instanceId: r.instance_id })) }, "removed long-critical instances");
      return rows.length;
    });
  }

  /** Claims due checks, runs them, applies the results; returns how many ran. */
  private async check(now: number, tenantId: string | null): Promise<number> {
    const claimed = await this.db.transaction((m) =>
      queryRows<{ tenant_id: string; id: string; health_check: HealthCheck }>(
        m,
        `UPDATE service_instances i SET next_check_at = $1::timestamptz + make_interval(secs => (i.health_check->>'intervalSeconds')::int)
           FROM (SELECT tenant_id, id FROM service_instances
                  WHERE health_check IS NOT NULL AND next_check_at <= $1::timestamptz AND ($2::uuid IS NULL OR tenant_id = $2)
                  ORDER BY next_check_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED) due
          WHERE i.tenant_id = due.tenant_id AND i.id = due.id
          RETURNING i.tenant_id, i.id, i.health_check`,
        [iso(now), tenantId],
      ),
    );
    await mapLimit(claimed, this.options.checkConcurrency, async (c) => {
      if (this.stopping.signal.aborted) return;
      const result = await this.probe(c.health_check.url, c.health_check.timeoutSeconds, this.stopping.signal);
      if (this.stopping.signal.aborted) return;
      await this.apply(c.tenant_id, c.id, c.health_check, result, now).catch((err: unknown) =>
        this.log.error({ err, tenantId: c.tenant_id, instance: c.id }, "could not apply a health check result"),
      );
    });
    return claimed.length;
  }

  /**
   * Flap damping: `check_streak` counts consecutive results (> 0 passes, < 0 failures). PASSING
   * after successesBeforePassing passes in a row, CRITICAL after failuresBeforeCritical failures
   * in a row; in between the health stays. A 429 is WARNING at once and restarts the streak.
   */
  private apply(tenantId: string, id: string, check: HealthCheck, result: ProbeResult, now: number): Promise<void> {
    return this.db.transaction(async (m) => {
      const [row] = await queryRows<InstanceRow>(m, `SELECT ${INSTANCE_COLUMNS} FROM ${INSTANCE_FROM} WHERE i.tenant_id = $1 AND i.id = $2 FOR UPDATE OF i`, [
        tenantId,
        id,
      ]);
      // deregistered meanwhile, or re-registered with another check: this result is stale
      if (!row || row.health_check?.url !== check.url) return;
      const streak = result.outcome === "pass" ? Math.max(row.check_streak, 0) + 1 : result.outcome === "fail" ? Math.min(row.check_streak, 0) - 1 : 0;
      await m.query(`UPDATE service_instances SET check_streak = $3 WHERE tenant_id = $1 AND id = $2`, [tenantId, id, streak]);
      const current = { ...row, check_streak: streak };
      if (result.outcome === "pass" && streak >= check.successesBeforePassing) {
        await this.healthLog.change(m, current, InstanceHealth.PASSING, `check passed: ${result.detail}`, now);
      } else if (result.outcome === "fail" && -streak >= check.failuresBeforeCritical) {
        await this.healthLog.change(m, current, InstanceHealth.CRITICAL, `check failed: ${result.detail}`, now);
      } else if (result.outcome === "warn") {
        await this.healthLog.change(m, current, InstanceHealth.WARNING, `check warning: ${result.detail}`, now);
      }
    });
  }
}
