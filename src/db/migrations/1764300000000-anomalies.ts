import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Anomaly monitors, the anomalies they record, their detectors' checkpoints and per-minute maximum
 * scores (src/domain/anomalies).
 *
 * - anomaly_monitors.selector is the normalised selector as JSON (every matcher with its op).
 * - anomalies keeps every point whose score reached its monitor's threshold; ids are a sequence
 *   (bigint) so that pages are stable. Listed newest first by ts, hence (tenant_id, ts, id).
 * - Detectors are per (series, algorithm), shared by every monitor of that algorithm that watches
 *   the series: a detector's state depends only on the series and the algorithm, and ten monitors
 *   with different thresholds or directions then cost one update per point, not ten.
 *   anomaly_checkpoints holds one detector's whole state: the snapshot JSON of
 *   src/domain/anomalies/detectors and the timestamp of the last point it learned from.
 * - anomaly_score_minutes holds, per (series, algorithm, minute start), the highest score of the
 *   minute's points above and below the expected value: the rules engine's ANOMALY condition reads
 *   "max score in a window" of a monitor (its algorithm, its direction) without a row per point.
 * The child tables have no foreign keys: the engine writes them in bulk after every ingest. Deleting
 *   a monitor deletes its anomalies, and the detector rows of algorithms no monitor of the tenant
 *   uses any more, in the same transaction; the engine's inserts skip rows whose monitor (or
 *   algorithm) is gone, and every read joins anomaly_monitors.
 */
export class Anomalies1764300000000 implements MigrationInterface {
  name = "Anomalies1764300000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE anomaly_monitors (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL,
        selector jsonb NOT NULL,
        algorithm text NOT NULL CHECK (algorithm IN ('AUTO', 'ZSCORE', 'MAD', 'EWMA', 'SEASONAL')),
        threshold double precision NOT NULL CHECK (threshold >= 0 AND threshold <= 1),
        direction text NOT NULL CHECK (direction IN ('UP', 'DOWN', 'BOTH')),
        enabled boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id)
      )`);

    await q.query(`
      CREATE TABLE anomalies (
        tenant_id uuid NOT NULL,
        id bigint GENERATED ALWAYS AS IDENTITY,
        monitor_id uuid NOT NULL,
        series_id bigint NOT NULL,
        ts bigint NOT NULL,
        value double precision NOT NULL,
        expected double precision,
        score double precision NOT NULL,
        direction text NOT NULL CHECK (direction IN ('UP', 'DOWN')),
        detected_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id)
      )`);
    await q.query(`CREATE INDEX anomalies_ts_idx ON anomalies (tenant_id, ts DESC, id DESC)`);
    await q.query(`CREATE INDEX anomalies_monitor_idx ON anomalies (tenant_id, monitor_id, ts DESC, id DESC)`);

    await q.query(`
      CREATE TABLE anomaly_checkpoints (
        tenant_id uuid NOT NULL,
        series_id bigint NOT NULL,
        algorithm text NOT NULL,
        snapshot jsonb NOT NULL,
        last_ts bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, series_id, algorithm)
      )`);

    await q.query(`
      CREATE TABLE anomaly_score_minutes (
        tenant_id uuid NOT NULL,
        series_id bigint NOT NULL,
        algorithm text NOT NULL,
        minute bigint NOT NULL,
        max_up double precision NOT NULL,
        max_down double precision NOT NULL,
        PRIMARY KEY (tenant_id, series_id, algorithm, minute)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE anomaly_score_minutes`);
    await q.query(`DROP TABLE anomaly_checkpoints`);
    await q.query(`DROP TABLE anomalies`);
    await q.query(`DROP TABLE anomaly_monitors`);
  }
}
