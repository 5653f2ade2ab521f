import type { Database } from "../../db/database";
import { UnauthenticatedError } from "../../errors";
import type { Logger } from "../../lib/logger";
import { generateKey, hashKey, keyMatches, parseKey } from "./key-codec";
import { isScope } from "./scopes";
import { AnonymousSession, PlatformSession, type Session, TenantSession } from "./session";

const LAST_USED_WRITE_INTERVAL_MS = 60_000;

/**
 * Turns a bearer token into a Session. One indexed lookup by prefix per request, so a revoked key
 * or a deleted tenant fails on its very next request on every process.
 */
export class Authenticator {
  private readonly envAdminHash: Buffer | undefined;
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly db: Database,
    envAdminKey: string | undefined,
    private readonly log: Logger,
  ) {
    this.envAdminHash = envAdminKey ? hashKey(envAdminKey) : undefined;
  }

  /** Parses `Bearer <key>`; no header gives an anonymous session, a bad key UNAUTHENTICATED. */
  async fromAuthorization(header: unknown): Promise<Session> {
    if (header === undefined || header === null || header === "") return new AnonymousSession();
    if (typeof header !== "string") throw new UnauthenticatedError("authorization must be a string `Bearer <key>`");
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new UnauthenticatedError("authorization must have the form `Bearer <key>`");
    return this.authenticate(m[1]!);
  }

  async authenticate(token: string): Promise<Session> {
    if (this.envAdminHash && keyMatches(token, this.envAdminHash)) {
      return new PlatformSession("env", "VIGIL_ADMIN_KEY");
    }
    const parsed = parseKey(token);
    if (!parsed) throw new UnauthenticatedError("invalid API key");
    if (parsed.kind === "a") {
      const rows = await this.db.query<{ id: string; name: string; secret_hash: Buffer; revoked_at: Date | null }>(
        `SELECT id, name, secret_hash, revoked_at FROM platform_keys WHERE prefix = $1`,
        [parsed.prefix],
      );
      const row = rows[0];
      if (!row || !keyMatches(token, row.secret_hash)) throw new UnauthenticatedError("invalid API key");
      if (row.revoked_at) throw new UnauthenticatedError("API key revoked");
      await this.touch("platform_keys", `id = $1`, [row.id], row.id);
      return new PlatformSession(row.id, row.name);
    }
    const rows = await this.db.query<{
      tenant_id: string;
      id: string;
      name: string;
      secret_hash: Buffer;
      scopes: string[];
      revoked_at: Date | null;
    }>(`SELECT tenant_id, id, name, secret_hash, scopes, revoked_at FROM api_keys WHERE prefix = $1`, [parsed.prefix]);
    const row = rows[0];
    if (!row || !keyMatches(token, row.secret_hash)) throw new UnauthenticatedError("invalid API key");
    if (row.revoked_at) throw new UnauthenticatedError("API key revoked");
    await this.touch("api_keys", `tenant_id = $1 AND id = $2`, [row.tenant_id, row.id], row.id);
    return new TenantSession(row.tenant_id, row.id, row.name, row.scopes.filter(isScope));
  }

  /**
   * On the first start of an empty database without VIGIL_ADMIN_KEY, creates a platform admin key
   * and returns its secret (to print once). Safe when several processes start together.
   */
  async bootstrapAdminKey(): Promise<string | undefined> {
    if (this.envAdminHash) return undefined;
    return this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('vigil:bootstrap-admin'))`);
      const [{ n }] = (await m.query(`SELECT count(*)::int AS n FROM platform_keys`)) as Array<{ n: number }>;
      if (n > 0) return undefined;
      const key = generateKey("a");
      await m.query(`INSERT INTO platform_keys (name, prefix, secret_hash) VALUES ($1, $2, $3)`, [
        "bootstrap",
        key.prefix,
        key.hash,
      ]);
      await m.query(
        `INSERT INTO platform_audit_entries (actor, action, target_type, details) VALUES ('system', 'platformKey.bootstrap', 'PlatformKey', $1::jsonb)`,
        [JSON.stringify({ prefix: key.prefix })],
      );
      return key.token;
    });
  }

  /** Records lastUsedAt at most once a minute per key and process, to keep reads read-only. */
  private async touch(table: string, where: string, params: unknown[], keyId: string): Promise<void> {
    const now = Date.now();
    if (now - (this.lastUsedWritten.get(keyId) ?? 0) < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWritten.set(keyId, now);
    if (this.lastUsedWritten.size > 100_000) this.lastUsedWritten.clear();
    try {
      await this.db.query(`UPDATE ${table} SET last_used_at = now() WHERE ${where}`, params);
    } catch (err) {
      this.log.warn({ err, keyId }, "could not record lastUsedAt");
    }
  }
}
