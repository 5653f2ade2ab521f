import type { Database } from "../../db/database";

const DAY_MS = 86_400_000;

/**
 * Applies each tenant's retentionDays to what the anomaly engine writes: anomalies and minute
 * maxima older than the tenant's samples go (the samples they were scored from are gone too).
 * Checkpoints stay: one row per detector, overwritten in place.
 */
export async function pruneAnomalies(db: Database, now = Date.now()): Promise<{ anomalies: number; minutes: number }> {
  const [a] = await db.query<{ n: number }>(
    `WITH d AS (DELETE FROM anomalies x USING tenants t WHERE x.tenant_id = t.id AND x.ts < $1::bigint - t.retention_days * ${DAY_MS}::bigint RETURNING 1)
     SELECT count(*)::int AS n FROM d`,
    [now],
  );
  const [m] = await db.query<{ n: number }>(
    `WITH d AS (DELETE FROM anomaly_score_minutes x USING tenants t WHERE x.tenant_id = t.id AND x.minute < $1::bigint - t.retention_days * ${DAY_MS}::bigint RETURNING 1)
     SELECT count(*)::int AS n FROM d`,
    [now],
  );
  return { anomalies: a?.n ?? 0, minutes: m?.n ?? 0 };
}
