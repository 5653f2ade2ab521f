import type { WebSocket } from "ws";

/** Close code for sockets whose key or tenant stopped being valid (graphql-ws "Forbidden"). */
export const CLOSE_FORBIDDEN = 4403;

/**
 * Close code for a connection beyond a per-key or per-tenant limit. graphql-ws uses the same code
 * for a second connection_init ("Too many initialisation requests"); the reason tells them apart.
 * The graphql-ws client does not retry 4429.
 */
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;

export interface ConnectionLimits {
  maxConnectionsPerKey: number;
  maxConnectionsPerTenant: number;
}

/** Why a connection was refused: the close reason and which limit it hit. */
export interface Refusal {
  limit: "key" | "tenant";
  reason: string;
}

/**
 * Open sockets by API key and by tenant, so that revoking a key or deleting a tenant can end
 * their sockets, and so that the number of sockets per key and per tenant is bounded. Each process
 * keeps its own (the limits are per process); the revocation events reach every process.
 */
export class SocketRegistry {
  private readonly byKey = new Map<string, Set<WebSocket>>();
  private readonly byTenant = new Map<string, Set<WebSocket>>();

  constructor(private readonly limits: ConnectionLimits = { maxConnectionsPerKey: Infinity, maxConnectionsPerTenant: Infinity }) {}

  /**
   * Registers an authenticated socket unless its key or tenant already has as many sockets as its
   * limit allows; then it returns the refusal and registers nothing. Check and registration happen
   * in one synchronous step, so concurrent handshakes cannot both take the last slot.
   */
  admit(socket: WebSocket, keyId: string, tenantId: string | undefined): Refusal | undefined {
    const { maxConnectionsPerKey, maxConnectionsPerTenant } = this.limits;
    if ((this.byKey.get(keyId)?.size ?? 0) >= maxConnectionsPerKey) {
      return { limit: "key", reason: `too many connections for this API key (limit ${maxConnectionsPerKey})` };
    }
    if (tenantId && (this.byTenant.get(tenantId)?.size ?? 0) >= maxConnectionsPerTenant) {
      return { limit: "tenant", reason: `too many connections for this tenant (limit ${maxConnectionsPerTenant})` };
    }
    this.add(socket, keyId, tenantId);
    return undefined;
  }

  add(socket: WebSocket, keyId: string, tenantId: string | undefined): void {
    addTo(this.byKey, keyId, socket);
    if (tenantId) addTo(this.byTenant, tenantId, socket);
  }

  /** open sockets of a key (this process) */
  countKey(keyId: string): number {
    return this.byKey.get(keyId)?.size ?? 0;
  }

  /** open sockets of a tenant (this process) */
  countTenant(tenantId: string): number {
    return this.byTenant.get(tenantId)?.size ?? 0;
  }

  remove(socket: WebSocket, keyId: string, tenantId: string | undefined): void {
    removeFrom(this.byKey, keyId, socket);
    if (tenantId) removeFrom(this.byTenant, tenantId, socket);
  }

  closeKey(keyId: string, reason: string): number {
    return closeAll(this.byKey.get(keyId), reason);
  }

  closeTenant(tenantId: string, reason: string): number {
    return closeAll(this.byTenant.get(tenantId), reason);
  }
}

function addTo(map: Map<string, Set<WebSocket>>, id: string, socket: WebSocket): void {
  let set = map.get(id);
  if (!set) map.set(id, (set = new Set()));
  set.add(socket);
}

function removeFrom(map: Map<string, Set<WebSocket>>, id: string, socket: WebSocket): void {
  const set = map.get(id);
  if (!set) return;
  set.delete(socket);
  if (set.size === 0) map.delete(id);
}

function closeAll(sockets: Set<WebSocket> | undefined, reason: string): number {
  if (!sockets) return 0;
  const list = [...sockets];
  for (const socket of list) socket.close(CLOSE_FORBIDDEN, reason);
  return list.length;
}
