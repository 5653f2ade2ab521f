import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Rollup markers become one row per ingest batch and minute, carrying the batch's series ids, instead
 * of one row per series and minute. Why: a batch of 1,000 series at one timestamp probed (and locked
 * FOR KEY SHARE) 1,000 markers to add none: 3–4 ms of PostgreSQL time on top of the 4–5 ms its
 * samples took (measured on PostgreSQL 15, 2026-11-23). A batch now inserts a row per minute it
 * touches and 200 of its series (see writeSamplesSql), with no probe and no lock; consumers take
 * whole rows (see Rollups). Existing markers are carried over, one row per tenant and minute (a
 * row of more than 200 ids is stored TOASTed, which costs only its writer).
 */
export class BatchRollupMarkers1764600000000 implements MigrationInterface {
  name = "BatchRollupMarkers1764600000000";

  async up(q: QueryRunner): Promise<void> {
    // lowest and highest id of a marker: a query's refresh skips the markers whose range holds none of
    // its series without reading their ids (see Rollups.refresh)
    await q.query(`
      CREATE FUNCTION vigil_min_id(bigint[]) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT min(x) FROM unnest($1) AS x $$`);
    await q.query(`
      CREATE FUNCTION vigil_max_id(bigint[]) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT max(x) FROM unnest($1) AS x $$`);
    await q.query(`
      CREATE TABLE metric_rollup_marks (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id uuid NOT NULL,
        bucket bigint NOT NULL,
        series_ids bigint[] NOT NULL,
        min_id bigint GENERATED ALWAYS AS (vigil_min_id(series_ids)) STORED,
        max_id bigint GENERATED ALWAYS AS (vigil_max_id(series_ids)) STORED
      )`);
    await q.query(`
      INSERT INTO metric_rollup_marks (tenant_id, bucket, series_ids)
      SELECT tenant_id, bucket, array_agg(DISTINCT series_id) FROM metric_rollup_pending GROUP BY tenant_id, bucket`);
    await q.query(`DROP TABLE metric_rollup_pending`);
    await q.query(`ALTER TABLE metric_rollup_marks RENAME TO metric_rollup_pending`);
    await q.query(`ALTER INDEX metric_rollup_marks_pkey RENAME TO metric_rollup_pending_pkey`);
    await q.query(`CREATE INDEX metric_rollup_pending_idx ON metric_rollup_pending (tenant_id, bucket)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE metric_rollup_marks (tenant_id uuid NOT NULL, series_id bigint NOT NULL, bucket bigint NOT NULL)`);
    await q.query(`
      INSERT INTO metric_rollup_marks (tenant_id, series_id, bucket)
      SELECT DISTINCT tenant_id, unnest(series_ids), bucket FROM metric_rollup_pending`);
    await q.query(`DROP TABLE metric_rollup_pending`);
    await q.query(`ALTER TABLE metric_rollup_marks RENAME TO metric_rollup_pending`);
    await q.query(`CREATE INDEX metric_rollup_pending_idx ON metric_rollup_pending (tenant_id, series_id, bucket)`);
    await q.query(`DROP FUNCTION vigil_min_id(bigint[])`);
    await q.query(`DROP FUNCTION vigil_max_id(bigint[])`);
  }
}
