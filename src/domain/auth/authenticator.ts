import { LRUCache } from "lru-cache";
import type { Database } from "../../db/database";
import { UnauthenticatedError } from "../../errors";
import type { Logger } from "../../lib/logger";
import { generateKey, hashKey, keyMatches, parseKey } from "./key-codec";
import { isScope } from "./scopes";
import { AnonymousSession, PlatformSession, type Session, TenantSession } from "./session";

const LAST_USED_WRITE_INTERVAL_MS = 60_000;
/** Sessions kept by the cache at most (an LRU by token). */
const SESSION_CACHE_SIZE = 10_000;

/**
 * Turns a bearer token into a Session: one indexed lookup by prefix, then kept for `cacheMs`
 * (AUTH_CACHE_MS) so that a client's next requests cost no database round trip. A revoked key or
 * a deleted tenant is forgotten at once by the process that revoked or deleted it, and by every
 * other process when the KEY_REVOKED / TENANT_DELETED event reaches it (through Redis when
 * REDIS_URL is set); `cacheMs` bounds how long another process can keep accepting it when that
 * event is lost. cacheMs 0: a lookup on every request.
 */
export class Authenticator {
  private readonly envAdminHash: Buffer | undefined;
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly sessions: LRUCache<string, PlatformSession | TenantSession> | undefined;
  /** bumped by every forget: a lookup that started before it must not cache what it read */
  private generation = 0;

  constructor(
    private readonly db: Database,
    envAdminKey: string | undefined,
    private readonly log: Logger,
    cacheMs = 0,
  ) {
    this.envAdminHash = envAdminKey ? hashKey(envAdminKey) : undefined;
    this.sessions = cacheMs > 0 ? new LRUCache({ max: SESSION_CACHE_SIZE, ttl: cacheMs }) : undefined;
  }

  /** A revoked key: its cached sessions are dropped. */
  forgetKey(keyId: string): void {
    this.generation++;
    if (!this.sessions) return;
    for (const [token, session] of this.sessions.entries()) if (session.keyId === keyId) this.sessions.delete(token);
  }

  /** A deleted tenant: the cached sessions of its keys are dropped. */
  forgetTenant(tenantId: string): void {
    this.generation++;
    if (!this.sessions) return;
    for (const [token, session] of this.sessions.entries()) if (session.kind === "tenant" && session.tenantId === tenantId) this.sessions.delete(token);
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
    const cached = this.sessions?.get(token);
    if (cached) {
      void this.touch(cached);
      return cached;
    }
    const generation = this.generation;
    const session = await this.lookUp(token);
    if (this.sessions && generation === this.generation) this.sessions.set(token, session);
    return session;
  }

  private async lookUp(token: string): Promise<PlatformSession | TenantSession> {
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
      const session = new PlatformSession(row.id, row.name);
      await this.touch(session);
      return session;
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
    const session = new TenantSession(row.tenant_id, row.id, row.name, row.scopes.filter(isScope));
    await this.touch(session);
    return session;
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
  private async touch(session: PlatformSession | TenantSession): Promise<void> {
    const keyId = session.keyId;
    const now = Date.now();
    if (now - (this.lastUsedWritten.get(keyId) ?? 0) < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWritten.set(keyId, now);
    if (this.lastUsedWritten.size > 100_000) this.lastUsedWritten.clear();
    try {
      if (session.kind === "tenant") await this.db.query(`UPDATE api_keys SET last_used_at = now() WHERE tenant_id = $1 AND id = $2`, [session.tenantId, keyId]);
      else await this.db.query(`UPDATE platform_keys SET last_used_at = now() WHERE id = $1`, [keyId]);
    } catch (err) {
      this.log.warn({ err, keyId }, "could not record lastUsedAt");
    }
  }
}
