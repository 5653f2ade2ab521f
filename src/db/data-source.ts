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
      extra: { max: db.poolSize, application_name: "vigil", connectionTimeoutMillis: 10_000 },
    };
    return new DataSource(options);
  }
  const dataDir = resolve(db.dataDir);
  mkdirSync(dataDir, { recursive: true });
  return new DataSource({ ...common, driver: new PGliteDriver({ dataDir }).driver });
}
