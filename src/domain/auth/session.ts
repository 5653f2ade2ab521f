import { ForbiddenError, UnauthenticatedError } from "../../errors";
import { ACTIONS, type Action } from "./actions";
import { ALL_SCOPES, type Scope } from "./scopes";

interface KeyIdentity {
  keyId: string;
  keyName: string;
}

/**
 * Who is calling. Never null: a request without a key gets an anonymous session that fails every
 * authorisation with UNAUTHENTICATED. Authorisation happens in the domain with `authorize`.
 */
export type Session = AnonymousSession | PlatformSession | TenantSession;

abstract class BaseSession {
  abstract readonly kind: "anonymous" | "platform" | "tenant";
  abstract readonly actor: string;

  /**
   * Asserts that this session may perform `action` and returns the tenant it acts on: the
   * session's own for tenant keys, `tenantId` for platform admins (undefined when not given).
   * A tenant key naming another tenant is FORBIDDEN.
   */
  abstract authorize(action: Action, tenantId?: string | null): string | undefined;
}

export class AnonymousSession extends BaseSession {
  readonly kind = "anonymous" as const;
  readonly actor = "anonymous";
  authorize(_action: Action, _tenantId?: string | null): never {
    throw new UnauthenticatedError();
  }
}

export class PlatformSession extends BaseSession implements KeyIdentity {
  readonly kind = "platform" as const;
  constructor(
    readonly keyId: string,
    readonly keyName: string,
  ) {
    super();
  }
  get actor(): string {
    return `platform:${this.keyName}`;
  }
  get scopes(): readonly Scope[] {
    return ALL_SCOPES;
  }
  authorize(_action: Action, tenantId?: string | null): string | undefined {
    return tenantId ?? undefined;
  }
}

export class TenantSession extends BaseSession implements KeyIdentity {
  readonly kind = "tenant" as const;
  constructor(
    readonly tenantId: string,
    readonly keyId: string,
    readonly keyName: string,
    readonly scopes: readonly Scope[],
  ) {
    super();
  }
  get actor(): string {
    return `key:${this.keyId} (${this.keyName})`;
  }
  hasScope(scope: Scope): boolean {
    return this.scopes.includes(scope);
  }
  authorize(action: Action, tenantId?: string | null): string {
    const need = ACTIONS[action];
    if (need === "platform") throw new ForbiddenError(`${action} needs a platform admin key`);
    if (need !== "any" && !this.hasScope(need)) {
      throw new ForbiddenError(`${action} needs the ${need} scope, which this key does not have`);
    }
    if (tenantId && tenantId !== this.tenantId) {
      throw new ForbiddenError(`a tenant key acts only on its own tenant`);
    }
    return this.tenantId;
  }
}

/** The pub/sub topic id of a session: its tenant, or "platform" for admins. Never from arguments. */
export function topicIdOf(session: PlatformSession | TenantSession): string {
  return session.kind === "tenant" ? session.tenantId : "platform";
}
