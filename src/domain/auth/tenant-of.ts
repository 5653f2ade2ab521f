import { ForbiddenError } from "../../errors";
import type { Action } from "./actions";
import type { Session } from "./session";

/**
 * For operations on one tenant's data that take no tenant argument (metrics, the registry): the
 * tenant is the key's. A platform admin key has no tenant to read or write, so it is FORBIDDEN.
 */
export function tenantOf(session: Session, action: Action): string {
  const tenantId = session.authorize(action);
  if (tenantId === undefined) {
    throw new ForbiddenError(`${action} acts on one tenant's data: use an API key of that tenant`);
  }
  return tenantId;
}
