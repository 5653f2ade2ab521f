import { randomInt } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Which database this test run uses: PostgreSQL when DATABASE_URL is set, embedded otherwise. */
export const DATABASE_URL = process.env.DATABASE_URL || undefined;
export const DB_KIND = DATABASE_URL ? "postgres" : "embedded";

/** A fixed platform admin key for tests (VIGIL_ADMIN_KEY). */
export const TEST_ADMIN_KEY = "test-admin-key-0123456789abcdef0123456789";

/** A migrated embedded data directory made once per run by global-setup; copied per server. */
export const TEMPLATE_DIR = join(tmpdir(), "vigil-test-template");

export function freshTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `vigil-${prefix}-`));
}

/** A LEADER_LOCK_KEY of its own for a test server or process (leader election is per key and database). */
export function randomLockKey(): string {
  return String(1 + randomInt(2_000_000_000));
}
