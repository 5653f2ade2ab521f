import { ApiKeyEntity } from "./api-key.entity";
import { AuditEntryEntity, PlatformAuditEntryEntity } from "./audit-entry.entity";
import { PlatformKeyEntity } from "./platform-key.entity";
import { TenantEntity } from "./tenant.entity";

export { ApiKeyEntity, AuditEntryEntity, PlatformAuditEntryEntity, PlatformKeyEntity, TenantEntity };

export const entities = [TenantEntity, ApiKeyEntity, PlatformKeyEntity, AuditEntryEntity, PlatformAuditEntryEntity];
