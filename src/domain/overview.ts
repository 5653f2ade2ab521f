import type { Database } from "../db/database";
import { type Session, tenantOf } from "./auth";
import type { InstanceHealth } from "./registry/types";
import { SEVERITY_RANK, type Severity } from "./rules/types";

export interface TenantUsage {
  series: number;
  /** samples stored, as of the last rollup pass (ROLLUP_INTERVAL_MS): counted from the hour rollups */
  samples: number;
  rules: number;
  firingAlerts: number;
  instances: number;
}

export interface Overview {
  firingAlerts: Array<{ severity: Severity; count: number }>;
  pendingAlerts: number;
  series: number;
  samplesLastHour: number;
  anomaliesLastHour: number;
  /** the tenant id, for the `instances(health)` field */
  tenantId: string;
}

const HOUR_MS = 3_600_000;

/**
 * A tenant's figures at a glance, across domains: one statement each, all indexed by tenant.
 * Sample counts come from the rollups (an exact count would scan every sample), so they trail
 * ingest by up to one rollup pass.
 */
export class OverviewService {
  constructor(private readonly db: Database) {}

  /** For the Tenant.usage field: the caller already holds the tenant (its own, or any as platform admin). */
  async usage(tenantId: string): Promise<TenantUsage> {
    const [row] = await this.db.query<TenantUsage>(
      `SELECT (SELECT count(*) FROM metric_series WHERE tenant_id = $1)::int AS series,
              (SELECT COALESCE(sum(sample_count), 0) FROM metric_rollups_1h WHERE tenant_id = $1)::float8 AS samples,
              (SELECT count(*) FROM alert_rules WHERE tenant_id = $1)::int AS rules,
              (SELECT count(*) FROM alerts WHERE tenant_id = $1 AND state = 'FIRING')::int AS "firingAlerts",
              (SELECT count(*) FROM service_instances WHERE tenant_id = $1)::int AS instances`,
      [tenantId],
    );
    return row!;
  }

  async overview(session: Session, now = Date.now()): Promise<Overview> {
    const tenantId = tenantOf(session, "tenant:read");
    const [counts, firing] = await Promise.all([
      this.db.query<{ pending: number; series: number; samples: number; anomalies: number }>(
        `SELECT (SELECT count(*) FROM alerts WHERE tenant_id = $1 AND state = 'PENDING')::int AS pending,
                (SELECT count(*) FROM metric_series WHERE tenant_id = $1)::int AS series,
                (SELECT COALESCE(sum(sample_count), 0) FROM metric_rollups_1m WHERE tenant_id = $1 AND bucket >= $2)::float8 AS samples,
                (SELECT count(*) FROM anomalies WHERE tenant_id = $1 AND ts >= $2)::int AS anomalies`,
        [tenantId, now - HOUR_MS],
      ),
      this.db.query<{ severity: Severity; count: number }>(
        `SELECT severity, count(*)::int AS count FROM alerts WHERE tenant_id = $1 AND state = 'FIRING' GROUP BY severity`,
        [tenantId],
      ),
    ]);
    const bySeverity = new Map(firing.map((r) => [r.severity, r.count]));
    const c = counts[0]!;
    return {
      tenantId,
      // every severity, most severe first, zeros included: a dashboard draws them all
      firingAlerts: (Object.keys(SEVERITY_RANK) as Severity[]).reverse().map((severity) => ({ severity, count: bySeverity.get(severity) ?? 0 })),
      pendingAlerts: c.pending,
      series: c.series,
      samplesLastHour: c.samples,
      anomaliesLastHour: c.anomalies,
    };
  }

  /** The tenant's registered instances, of one health when given. */
  async instances(tenantId: string, health: InstanceHealth | null): Promise<number> {
    const [row] = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM service_instances WHERE tenant_id = $1${health ? " AND health = $2" : ""}`,
      health ? [tenantId, health] : [tenantId],
    );
    return row!.n;
  }
}
