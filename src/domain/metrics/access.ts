import { ForbiddenError } from "../../errors";
import type { Action, Session } from "../auth";

/**
 * Metrics live in one tenant, and the contract's metric operations take no tenant argument: the
 * tenant is the key's. A platform admin key has no tenant to read or write.
 */
export function tenantOf(session: Session, action: Action): string {
  const tenantId = session.authorize(action);
  if (tenantId === undefined) {
    throw new ForbiddenError(`${action} acts on one tenant's data: use an API key of that tenant`);
  }
  return tenantId;
}
