/** The contract's Scope enum; the string values are what is stored with a key. */
export enum Scope {
  METRICS_READ = "METRICS_READ",
  METRICS_WRITE = "METRICS_WRITE",
  RULES_READ = "RULES_READ",
  RULES_WRITE = "RULES_WRITE",
  RULES_DELETE = "RULES_DELETE",
  ALERTS_READ = "ALERTS_READ",
  ALERTS_WRITE = "ALERTS_WRITE",
  REGISTRY_READ = "REGISTRY_READ",
  REGISTRY_WRITE = "REGISTRY_WRITE",
  TENANT_ADMIN = "TENANT_ADMIN",
}

export const ALL_SCOPES: readonly Scope[] = Object.values(Scope);

export function isScope(value: string): value is Scope {
  return (ALL_SCOPES as readonly string[]).includes(value);
}
