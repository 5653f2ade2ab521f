import { Scope } from "./scopes";

/**
 * Every action the domain authorises, and who may perform it. "platform" actions need a platform
 * admin key; the others need a tenant key with the named scope (a platform admin may do them too,
 * on any tenant). "tenant:read" needs only a key of that tenant.
 */
export const ACTIONS = {
  "tenant:create": "platform",
  "tenant:list": "platform",
  "tenant:delete": "platform",
  "tenant:read": "any",
  "tenant:update": Scope.TENANT_ADMIN,
  "apiKey:create": Scope.TENANT_ADMIN,
  "apiKey:list": Scope.TENANT_ADMIN,
  "apiKey:revoke": Scope.TENANT_ADMIN,
  "audit:read": Scope.TENANT_ADMIN,
  "metrics:write": Scope.METRICS_WRITE,
  "metrics:read": Scope.METRICS_READ,
  "registry:read": Scope.REGISTRY_READ,
  "registry:write": Scope.REGISTRY_WRITE,
  // rules, and what configures them: notification channels and anomaly monitors
  "rules:read": Scope.RULES_READ,
  "rules:write": Scope.RULES_WRITE,
  "rules:delete": Scope.RULES_DELETE,
  // what rules and monitors produce: alerts, silences, deliveries, anomalies
  "alerts:read": Scope.ALERTS_READ,
  "alerts:write": Scope.ALERTS_WRITE,
} as const satisfies Record<string, "platform" | "any" | Scope>;

export type Action = keyof typeof ACTIONS;
