import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { DATABASE_URL } from "./env";

export interface OwnDatabase {
  name: string;
  /** DATABASE_URL of the new database */
  url: string;
  /** runs one statement on it (with a short-lived connection) */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** drops it WITH (FORCE), ending the sessions still connected */
  drop(): Promise<void>;
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A PostgreSQL database of a test file's own, on the run's server (DATABASE_URL). For suites whose
 * processes run background jobs across every tenant of their database (rule evaluation, delivery):
 * on the shared database `test` they would act on other suites' rows.
 */
export async function createOwnDatabase(prefix: string): Promise<OwnDatabase> {
  if (!DATABASE_URL) throw new Error("createOwnDatabase needs DATABASE_URL");
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error(`bad database name prefix ${prefix}`);
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  await withClient(DATABASE_URL, (c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(DATABASE_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    name,
    url,
    query: <T>(sql: string, params: unknown[] = []) => withClient(url, async (c) => (await c.query(sql, params)).rows as T[]),
    drop: () => withClient(DATABASE_URL!, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
