import type { WebSocket } from "ws";

/** Close code for sockets whose key or tenant stopped being valid (graphql-ws "Forbidden"). */
export const CLOSE_FORBIDDEN = 4403;

/**
 * Open sockets by API key and by tenant, so that revoking a key or deleting a tenant can end
 * their sockets. Each process keeps its own; the revocation events reach every process.
 */
export class SocketRegistry {
  private readonly byKey = new Map<string, Set<WebSocket>>();
  private readonly byTenant = new Map<string, Set<WebSocket>>();

  add(socket: WebSocket, keyId: string, tenantId: string | undefined): void {
    addTo(this.byKey, keyId, socket);
    if (tenantId) addTo(this.byTenant, tenantId, socket);
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
