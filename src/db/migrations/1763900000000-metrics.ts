import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Series, samples and their rollups.
 *
 * Timestamps of samples and rollups are epoch milliseconds in a bigint: bucket arithmetic stays exact
 * integer arithmetic and partition bounds are plain numbers. metric_samples and metric_rollups_1m are
 * range-partitioned by day (partitions are created on demand by src/db/partitions.ts), so retention
 * drops whole partitions. Neither has a foreign key: every ingested row would pay for the check, and
 * deleteTenant empties them explicitly (TENANT_OWNED_TABLES).
 */
export class Metrics1763900000000 implements MigrationInterface {
  name = "Metrics1763900000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE metric_series (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        id bigint GENERATED ALWAYS AS IDENTITY,
        name text NOT NULL,
        labels jsonb NOT NULL,
        -- md5 of the canonical "name, sorted labels" string: the series identity within a tenant
        identity uuid NOT NULL,
        type text NOT NULL CHECK (type IN ('GAUGE', 'COUNTER')),
        first_sample_at bigint NOT NULL,
        last_sample_at bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id)
      )`);
    await q.query(`CREATE UNIQUE INDEX metric_series_identity_key ON metric_series (tenant_id, identity)`);
    await q.query(`CREATE INDEX metric_series_name_idx ON metric_series (tenant_id, name text_pattern_ops)`);
    await q.query(`CREATE INDEX metric_series_labels_idx ON metric_series USING gin (labels jsonb_path_ops)`);

    await q.query(`
      CREATE TABLE metric_samples (
        tenant_id uuid NOT NULL,
        series_id bigint NOT NULL,
        ts bigint NOT NULL,
        value double precision NOT NULL,
        PRIMARY KEY (tenant_id, series_id, ts)
      ) PARTITION BY RANGE (ts)`);

    const rollupColumns = `
        tenant_id uuid NOT NULL,
        series_id bigint NOT NULL,
        bucket bigint NOT NULL,
        sample_count integer NOT NULL,
        value_sum double precision NOT NULL,
        value_min double precision NOT NULL,
        value_max double precision NOT NULL,
        value_sum_sq double precision NOT NULL,
        first_ts bigint NOT NULL,
        first_value double precision NOT NULL,
        last_ts bigint NOT NULL,
        last_value double precision NOT NULL,
        -- counter increase between the bucket's own samples, resets handled as Prometheus does;
        -- the step from the previous bucket's last sample is added when buckets are merged
        increase double precision NOT NULL,
        PRIMARY KEY (tenant_id, series_id, bucket)`;
    await q.query(`CREATE TABLE metric_rollups_1m (${rollupColumns}) PARTITION BY RANGE (bucket)`);
    await q.query(`CREATE TABLE metric_rollups_1h (${rollupColumns})`);

    // Minutes whose rollup is out of date: written by ingest, consumed by the rollup job and by
    // queries that are about to read those minutes (Timescale's invalidation log, in one table).
    // Not unique on purpose: with a unique key, concurrent batches touching the same minute wait on
    // each other's uncommitted marker (measured: ingest serialised). Duplicates are merged on read.
    await q.query(`
      CREATE TABLE metric_rollup_pending (
        tenant_id uuid NOT NULL,
        series_id bigint NOT NULL,
        bucket bigint NOT NULL
      )`);
    await q.query(`CREATE INDEX metric_rollup_pending_idx ON metric_rollup_pending (tenant_id, series_id, bucket)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE metric_rollup_pending`);
    await q.query(`DROP TABLE metric_rollups_1h`);
    await q.query(`DROP TABLE metric_rollups_1m`);
    await q.query(`DROP TABLE metric_samples`);
    await q.query(`DROP TABLE metric_series`);
  }
}
