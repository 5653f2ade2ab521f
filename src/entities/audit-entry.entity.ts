import { Column, Entity, PrimaryColumn } from "typeorm";

/**
 * One row per mutation, written in the mutation's transaction. Tenant-owned entries live in
 * `audit_entries`; platform actions (creating and deleting tenants) in `platform_audit_entries`,
 * so a tenant's erasure cannot erase the record that it was erased.
 */
abstract class AuditColumns {
  @PrimaryColumn({ type: "bigint", generated: "identity" })
  id!: string;

  @Column({ type: "timestamptz", default: () => "now()" })
  at!: Date;

  @Column({ type: "text" })
  actor!: string;

  @Column({ type: "text" })
  action!: string;

  @Column({ name: "target_type", type: "text", nullable: true })
  targetType!: string | null;

  @Column({ name: "target_id", type: "text", nullable: true })
  targetId!: string | null;

  @Column({ type: "jsonb", nullable: true })
  details!: Record<string, unknown> | null;

  @Column({ name: "request_id", type: "text", nullable: true })
  requestId!: string | null;
}

@Entity({ name: "audit_entries" })
export class AuditEntryEntity extends AuditColumns {
  @PrimaryColumn({ name: "tenant_id", type: "uuid" })
  tenantId!: string;
}

@Entity({ name: "platform_audit_entries" })
export class PlatformAuditEntryEntity extends AuditColumns {}
