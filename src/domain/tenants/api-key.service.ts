import type { Database } from "../../db/database";
import { ApiKeyEntity, TenantEntity } from "../../entities";
import { BadUserInputError, NotFoundError } from "../../errors";
import { type Authenticator, type Scope, type Session, generateKey } from "../auth";
import type { VigilPubSub } from "../pubsub";
import type { AuditLog } from "./audit-log";
import { asKeySession, isUuid } from "./ids";

export interface CreateApiKey {
  name: string;
  scopes: Scope[];
  tenantId?: string | null;
}

export class ApiKeyService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly pubsub: VigilPubSub,
    /** this process forgets the key's cached sessions at commit; the others on KEY_REVOKED */
    private readonly sessions: Pick<Authenticator, "forgetKey">,
  ) {}

  /** Returns the stored key and its secret, which is never stored nor shown again. */
  async create(session: Session, input: CreateApiKey, requestId?: string): Promise<{ key: ApiKeyEntity; secret: string }> {
    const tenantId = this.tenantOf(session, "apiKey:create", input.tenantId, "input.tenantId");
    const scopes = [...new Set(input.scopes)];
    if (scopes.length === 0) throw new BadUserInputError("input.scopes", "give at least one scope");
    const generated = generateKey("t");
    return this.db.transaction(async (m) => {
      const tenant = await m.getRepository(TenantEntity).findOne({ where: { id: tenantId }, lock: { mode: "pessimistic_read" } });
      if (!tenant) throw new NotFoundError("tenant", tenantId);
      const repo = m.getRepository(ApiKeyEntity);
      const key = await repo.save(
        repo.create({
          tenantId,
          name: input.name,
          prefix: generated.prefix,
          secretHash: generated.hash,
          scopes,
          createdBy: asKeySession(session).actor,
        }),
      );
      await this.audit.record(m, asKeySession(session), tenantId, {
        action: "apiKey.create",
        targetType: "ApiKey",
        targetId: key.id,
        details: { name: key.name, scopes },
      }, requestId);
      return { key, secret: generated.token };
    });
  }

  /** Revoking twice is harmless: the first revocation time is kept. */
  async revoke(session: Session, id: string, requestId?: string): Promise<ApiKeyEntity> {
    const own = session.authorize("apiKey:revoke");
    if (!isUuid(id)) throw new NotFoundError("API key", id);
    return this.db.transaction(async (m) => {
      const repo = m.getRepository(ApiKeyEntity);
      const key = await repo.findOne({ where: own ? { id, tenantId: own } : { id }, lock: { mode: "pessimistic_write" } });
      if (!key) throw new NotFoundError("API key", id);
      const alreadyRevoked = key.revokedAt !== null;
      if (!alreadyRevoked) {
        key.revokedAt = new Date();
        await repo.update({ tenantId: key.tenantId, id: key.id }, { revokedAt: key.revokedAt });
      }
      await this.audit.record(m, asKeySession(session), key.tenantId, {
        action: "apiKey.revoke",
        targetType: "ApiKey",
        targetId: key.id,
        details: { name: key.name, alreadyRevoked },
      }, requestId);
      this.db.afterCommit(() => {
        this.sessions.forgetKey(key.id);
        this.pubsub.publish("KEY_REVOKED", { keyId: key.id });
      });
      return key;
    });
  }

  async list(session: Session, tenantId?: string | null): Promise<ApiKeyEntity[]> {
    const tid = this.tenantOf(session, "apiKey:list", tenantId, "tenantId");
    if (!isUuid(tid)) return [];
    return this.db.read((m) => m.getRepository(ApiKeyEntity).find({ where: { tenantId: tid }, order: { createdAt: "ASC", id: "ASC" } }));
  }

  /** A tenant key acts on its own tenant; a platform admin must name one. */
  private tenantOf(session: Session, action: "apiKey:create" | "apiKey:list", tenantId: string | null | undefined, field: string): string {
    const resolved = session.authorize(action, tenantId);
    if (!resolved) throw new BadUserInputError(field, "required with a platform admin key: name the tenant");
    if (session.kind === "platform" && !isUuid(resolved)) throw new NotFoundError("tenant", resolved);
    return resolved;
  }
}
