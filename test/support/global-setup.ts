import "reflect-metadata";
import { rmSync } from "node:fs";
import { createDataSource } from "../../src/db/data-source";
import { Database } from "../../src/db/database";
import { DATABASE_URL, TEMPLATE_DIR } from "./env";

/**
 * Prepares the database once per run. PostgreSQL: a clean public schema, migrated once, so the
 * suites' servers find nothing to migrate. Embedded: a migrated data directory that each server
 * copies (initdb costs seconds; a copy costs milliseconds).
 */
export default async function globalSetup(): Promise<void> {
  if (DATABASE_URL) {
    const name = new URL(DATABASE_URL).pathname.slice(1);
    if (!/test/i.test(name)) {
      throw new Error(`refusing to reset database "${name}": the tests wipe its public schema, so its name must contain "test"`);
    }
    const db = new Database(createDataSource({ kind: "postgres", url: DATABASE_URL, poolSize: 2 }), "postgres");
    await db.dataSource.initialize();
    await db.query("DROP SCHEMA IF EXISTS public CASCADE");
    await db.query("CREATE SCHEMA public");
    await db.migrate();
    await db.close();
    return;
  }
  rmSync(TEMPLATE_DIR, { recursive: true, force: true });
  const db = new Database(createDataSource({ kind: "embedded", dataDir: TEMPLATE_DIR }), "embedded");
  await db.dataSource.initialize();
  await db.migrate();
  await db.close();
}
