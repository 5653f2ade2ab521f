import type { Database } from "../../db/database";
import { NotFoundError } from "../../errors";
import { type Session, tenantOf } from "../auth";
import type { CallMetrics } from "./call-metrics";
import { initialBreakerState, record } from "./engine";
import type { RegistryEvents } from "./events";
import type { PickSnapshots } from "./pick-snapshots";
import { effectivePolicy } from "./policy";
import { type InstanceRow, SERVICE_COLUMNS, type ServiceRow, instanceByIdSql, iso, toInstance, toService } from "./store";
import type { CallStatsRecord, InstanceRecord, ServiceEdgeRecord, ServiceRecord } from "./types";
import { type CallReportInput, validateCallReport } from "./validation";

export interface CallsOptions {
  /** CallStats and serviceGraph cover the calls of the last this many seconds */
  statsWindowSeconds: number;
  /** calls older than this are pruned */
  callHistorySeconds: number;
}

const EMPTY_STATS: CallStatsRecord = Object.freeze({ calls: 0, errorRate: 0, p50Ms: null, p95Ms: null, p99Ms: null });

/** Percentiles are percentile_cont: interpolated between the two nearest observed durations. */
const STATS_COLUMNS = `count(*)::int AS calls, avg(CASE WHEN success THEN 0 ELSE 1 END)::float8 AS "errorRate",
  percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS "p50Ms",
  percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS "p95Ms",
  percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS "p99Ms"`;

const PRUNE_BATCH = 10_000;

const LOCK_INSTANCE = instanceByIdSql(true);
const END_REQUEST = `UPDATE service_instances SET active_requests = GREATEST(active_requests - 1, 0)
  WHERE tenant_id = $1 AND id = $2 RETURNING active_requests, breaker`;
const END_REQUEST_WITH_BREAKER = `UPDATE service_instances SET active_requests = GREATEST(active_requests - 1, 0), breaker = $3::jsonb
  WHERE tenant_id = $1 AND id = $2 RETURNING active_requests, breaker`;
const INSERT_CALL = `INSERT INTO service_calls (tenant_id, service_id, instance, caller, duration_ms, success, status_code, at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz)`;

type StatsKind = "instance" | "service";

interface PendingBatch {
  tenantId: string;
  kind: StatsKind;
  now: number;
  /** id → its service id (the index leads with the service) */
  ids: Map<string, string>;
  waiters: Array<{ id: string; resolve: (s: CallStatsRecord) => void; reject: (e: unknown) => void }>;
}

/**
 * reportCall, CallStats and the observed service graph.
 *
 * reportCall ends the request pickInstance started and feeds the instance's circuit breaker, in
 * one transaction with the row locked, so processes sharing the database share one breaker window.
 * Stats are computed from the stored calls by SQL. Stats fields of a list of instances or services
 * are batched into one query per tenant and kind (DataLoader's idea, in the domain: the stats of
 * every field resolved in the same turn of the event loop are fetched together).
 */
export class CallsService {
  private pending = new Map<string, PendingBatch>();

  constructor(
    private readonly db: Database,
    private readonly events: RegistryEvents,
    private readonly metrics: CallMetrics,
    private readonly snapshots: PickSnapshots,
    private readonly options: CallsOptions,
  ) {}

  async report(session: Session, input: CallReportInput, now = Date.now()): Promise<InstanceRecord> {
    const tenantId = tenantOf(session, "registry:write");
    const call = validateCallReport(input);
    // soft state (active requests, the breaker window, call records): committed asynchronously, see CommitMode
    const instance = await this.db.transaction(async (m) => {
      // the statements of every call report, prepared (planning was as costly as running them)
      const [row] = await this.db.prepared<InstanceRow>("vigil_report_lock", LOCK_INSTANCE, [tenantId, call.instanceId], m);
      if (!row) throw new NotFoundError("instance", call.instanceId);
      const policy = effectivePolicy(row.policy);
      const breaker = row.breaker ?? initialBreakerState();
      const recorded = record(breaker, policy.circuitBreaker, now, { durationMs: call.durationMs, success: call.success });
      const breakerChanged = recorded.state !== breaker;
      const [updated] = breakerChanged
        ? await this.db.prepared<Partial<InstanceRow>>("vigil_report_end_breaker", END_REQUEST_WITH_BREAKER, [tenantId, row.id, JSON.stringify(recorded.state)], m)
        : await this.db.prepared<Partial<InstanceRow>>("vigil_report_end", END_REQUEST, [tenantId, row.id], m);
      await this.db.prepared(
        "vigil_report_call",
        INSERT_CALL,
        [tenantId, row.service_id, row.id, call.caller, call.durationMs, call.success, call.statusCode, iso(now)],
        m,
      );
      const after = toInstance({ ...row, ...updated }, now);
      const transition = recorded.transition;
      this.db.afterCommit(() => {
        this.metrics.record(tenantId, after.serviceName, after.instanceId, call.caller, call.success, call.durationMs);
        this.snapshots.note(tenantId, after.serviceName, after.id, after.activeRequests, after.breaker);
        if (transition) this.events.circuitTransition(after, transition, now);
      });
      return after;
    }, "asynchronous");
    return instance;
  }

  instanceStats(session: Session, instance: Pick<InstanceRecord, "id" | "serviceId">, now = Date.now()): Promise<CallStatsRecord> {
    return this.load(tenantOf(session, "registry:read"), "instance", instance.id, instance.serviceId, now);
  }

  serviceStats(session: Session, serviceId: string, now = Date.now()): Promise<CallStatsRecord> {
    return this.load(tenantOf(session, "registry:read"), "service", serviceId, serviceId, now);
  }

  /**
   * Nodes: every service of the tenant. Edges: calls observed caller → service over the stats
   * window; calls reported without a caller make no edge. Declared dependencies are not edges.
   */
  async graph(session: Session, now = Date.now()): Promise<{ nodes: ServiceRecord[]; edges: ServiceEdgeRecord[] }> {
    const tenantId = tenantOf(session, "registry:read");
    const nodes = await this.db.query<ServiceRow>(`SELECT ${SERVICE_COLUMNS} FROM services WHERE tenant_id = $1 ORDER BY name`, [tenantId]);
    const edges = await this.db.query<ServiceEdgeRecord>(
      `SELECT c.caller AS "from", s.name AS "to", count(*)::int AS calls,
              avg(CASE WHEN c.success THEN 0 ELSE 1 END)::float8 AS "errorRate",
              percentile_cont(0.95) WITHIN GROUP (ORDER BY c.duration_ms) AS "p95Ms"
         FROM service_calls c JOIN services s ON s.tenant_id = c.tenant_id AND s.id = c.service_id
        WHERE c.tenant_id = $1 AND c.at >= $2::timestamptz AND c.caller IS NOT NULL
        GROUP BY c.caller, s.name ORDER BY 1, 2`,
      [tenantId, iso(now - this.options.statsWindowSeconds * 1000)],
    );
    return { nodes: nodes.map(toService), edges };
  }

  /**
   * Deletes calls older than the history window (in batches), and health history older than each
   * tenant's retentionDays. Returns the calls deleted.
   */
  async prune(now = Date.now()): Promise<number> {
    const cutoff = iso(now - this.options.callHistorySeconds * 1000);
    let total = 0;
    for (;;) {
      const n = await this.db.transaction(async (m) => {
        const result = (await m.query(
          `DELETE FROM service_calls WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM service_calls WHERE at < $1::timestamptz LIMIT ${PRUNE_BATCH})`,
          [cutoff],
        )) as [unknown, number];
        return result[1];
      });
      total += n;
      if (n < PRUNE_BATCH) break;
    }
    await this.db.query(
      `DELETE FROM instance_health_events e USING tenants t
        WHERE e.tenant_id = t.id AND e.at < $1::timestamptz - t.retention_days * interval '1 day'`,
      [iso(now)],
    );
    return total;
  }

  private load(tenantId: string, kind: StatsKind, id: string, serviceId: string, now: number): Promise<CallStatsRecord> {
    const key = `${tenantId}:${kind}`;
    let batch = this.pending.get(key);
    if (!batch) {
      const created: PendingBatch = { tenantId, kind, now, ids: new Map(), waiters: [] };
      this.pending.set(key, (batch = created));
      setImmediate(() => {
        this.pending.delete(key);
        this.run(created).catch((err: unknown) => created.waiters.forEach((w) => w.reject(err)));
      });
    }
    batch.ids.set(id, serviceId);
    return new Promise((resolve, reject) => batch.waiters.push({ id, resolve, reject }));
  }

  private async run(batch: PendingBatch): Promise<void> {
    const serviceIds = [...new Set(batch.ids.values())];
    const since = iso(batch.now - this.options.statsWindowSeconds * 1000);
    const rows =
      batch.kind === "service"
        ? await this.db.query<CallStatsRecord & { key: string }>(
            `SELECT service_id::text AS key, ${STATS_COLUMNS} FROM service_calls
              WHERE tenant_id = $1 AND service_id = ANY($2::uuid[]) AND at >= $3::timestamptz GROUP BY service_id`,
            [batch.tenantId, serviceIds, since],
          )
        : await this.db.query<CallStatsRecord & { key: string }>(
            `SELECT instance::text AS key, ${STATS_COLUMNS} FROM service_calls
              WHERE tenant_id = $1 AND service_id = ANY($2::uuid[]) AND instance = ANY($3::uuid[]) AND at >= $4::timestamptz GROUP BY instance`,
            [batch.tenantId, serviceIds, [...batch.ids.keys()], since],
          );
    const byKey = new Map(rows.map(({ key, ...stats }) => [key, stats]));
    for (const w of batch.waiters) w.resolve(byKey.get(w.id) ?? EMPTY_STATS);
  }
}
