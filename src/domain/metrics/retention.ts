import type { Database } from "../../db/database";
import { DAY_MS, type Partitions } from "../../db/partitions";
import { HOUR_MS, MINUTE_MS } from "./rollups";

export interface RetentionReport {
  droppedPartitions: string[];
  deletedSamples: number;
}

/**
 * Enforces each tenant's retentionDays. Day partitions older than every tenant's retention are
 * dropped whole; what is left older than a tenant's own cutoff (a shorter retention, or the
 * partial day at the edge) is deleted row by row in that tenant's transaction. Rollups follow:
 * rows wholly before the cutoff go, and the minute and hour that straddle it are recomputed.
 */
export class Retention {
  constructor(
    private readonly db: Database,
    private readonly partitions: Partitions,
  ) {}

  async run(now = Date.now()): Promise<RetentionReport> {
    const tenants = await this.db.query<{ id: string; days: number }>(`SELECT id, retention_days AS days FROM tenants ORDER BY id`);
    const report: RetentionReport = { droppedPartitions: [], deletedSamples: 0 };
    if (tenants.length === 0) return report;
    const longest = Math.max(...tenants.map((t) => t.days));
    report.droppedPartitions = await this.partitions.dropEndingBefore(now - longest * DAY_MS);
    for (const t of tenants) report.deletedSamples += await this.applyTo(t.id, now - t.days * DAY_MS);
    return report;
  }

  private applyTo(tenantId: string, cutoff: number): Promise<number> {
    const minute = cutoff - (cutoff % MINUTE_MS);
    const hour = cutoff - (cutoff % HOUR_MS);
    return this.db.transaction(async (m) => {
      const [, deleted] = (await m.query(`DELETE FROM metric_samples WHERE tenant_id = $1 AND ts < $2`, [tenantId, cutoff])) as [unknown, number];
      await m.query(`DELETE FROM metric_rollups_1m WHERE tenant_id = $1 AND bucket < $2`, [tenantId, minute]);
      await m.query(`DELETE FROM metric_rollups_1h WHERE tenant_id = $1 AND bucket < $2`, [tenantId, hour]);
      await m.query(`DELETE FROM metric_rollup_pending WHERE tenant_id = $1 AND bucket < $2`, [tenantId, minute]);
      if (deleted > 0) {
        // the straddling minute (and through it its hour) is recomputed by the rollup job
        await m.query(
          `INSERT INTO metric_rollup_pending (tenant_id, bucket, series_ids)
           SELECT $1, $2::bigint, array_agg(series_id) FROM metric_rollups_1h WHERE tenant_id = $1 AND bucket = $3 HAVING count(*) > 0`,
          [tenantId, minute, hour],
        );
      }
      return deleted;
    });
  }
}
