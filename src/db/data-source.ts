import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { DataSource, type DataSourceOptions } from "typeorm";
import { PGliteDriver } from "typeorm-pglite";
import type { Config } from "../config";
import { entities } from "../entities";
import { migrations } from "./migrations";

export type DatabaseKind = "postgres" | "embedded";

/**
 * PostgreSQL through pg when DATABASE_URL is set, otherwise embedded PGlite kept in DATA_DIR.
 * Both run the same migrations; `synchronize` is never used.
 */
export function createDataSource(db: Config["database"]): DataSource {
  const common = {
    type: "postgres" as const,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    logging: false,
    // gen_random_uuid() is built in on PostgreSQL >= 13 and in PGlite; uuid-ossp does not exist in PGlite.
    uuidExtension: "pgcrypto" as const,
    installExtensions: false,
  };
  if (db.kind === "postgres") {
    const options: DataSourceOptions = {
      ...common,
      url: db.url,
      extra: {
        max: db.poolSize,
        application_name: "vigil",
        connectionTimeoutMillis: 10_000,
        // JIT compilation of aggregates over partitioned tables cost seconds for millisecond queries
        // (STACK-NOTES: 7.3 s of a 7.9 s query); these queries are short and planned often.
        options: "-c jit=off",
      },
    };
    return new DataSource(options);
  }
  const dataDir = resolve(db.dataDir);
  // typeorm-pglite keeps one PGlite instance per process: a second embedded data source would
  // silently share (and on close, shut) the first one's database. Refuse instead.
  if (embeddedDirInUse !== undefined && embeddedDirInUse !== dataDir) {
    throw new Error(`the embedded database ${embeddedDirInUse} is already open in this process; only one per process`);
  }
  embeddedDirInUse = dataDir;
  mkdirSync(dataDir, { recursive: true });
  return new DataSource({ ...common, driver: new PGliteDriver({ dataDir }).driver });
}

let embeddedDirInUse: string | undefined;

/** Called when the embedded data source is destroyed, so the process may open another. */
export function releaseEmbedded(): void {
  embeddedDirInUse = undefined;
}
