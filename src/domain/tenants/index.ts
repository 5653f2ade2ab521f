export { ApiKeyService, type CreateApiKey } from "./api-key.service";
export { AuditLog, type AuditPage } from "./audit-log";
export { TENANT_DEFAULTS, TENANT_OWNED_TABLES, TenantService, type CreateTenant, type UpdateTenant } from "./tenant.service";
export { isUuid } from "./ids";
