import type { MigrationInterface, QueryRunner } from "typeorm";

const TABLES = ["metric_rollups_1m", "metric_rollups_1h"] as const;
const POOLED_COLUMNS = "sample_count, value_sum, value_min, value_max, value_sum_sq";

/**
 * The rollup tables' primary keys carry the columns pooled aggregates read (COUNT SUM AVG MIN MAX
 * STDDEV), so PostgreSQL answers those reads by index-only scans where the visibility map allows
 * (the rollup job vacuums: see Rollups). bench:query's grouped case reads 166,600 minute rows: the
 * statement took 56 ms instead of 67 (p50, PostgreSQL 15, 2026-11-23). Replacing the key rather than
 * adding an index keeps one index to write per rollup row; ON CONFLICT still infers it from its key
 * columns, and day partitions created later get it when attached.
 */
export class RollupCoveringKeys1764500000000 implements MigrationInterface {
  name = "RollupCoveringKeys1764500000000";

  async up(q: QueryRunner): Promise<void> {
    for (const table of TABLES) {
      await q.query(
        `ALTER TABLE ${table} DROP CONSTRAINT ${table}_pkey, ADD CONSTRAINT ${table}_pkey PRIMARY KEY (tenant_id, series_id, bucket) INCLUDE (${POOLED_COLUMNS})`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of TABLES) {
      await q.query(`ALTER TABLE ${table} DROP CONSTRAINT ${table}_pkey, ADD CONSTRAINT ${table}_pkey PRIMARY KEY (tenant_id, series_id, bucket)`);
    }
  }
}
