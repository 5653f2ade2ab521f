import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from "typeorm";

/** A tenant's API key. Only a hash of the secret is stored; `prefix` finds the row. */
@Entity({ name: "api_keys" })
export class ApiKeyEntity {
  @PrimaryColumn({ name: "tenant_id", type: "uuid" })
  tenantId!: string;

  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column({ type: "text" })
  name!: string;

  @Column({ type: "text", unique: true })
  prefix!: string;

  @Column({ name: "secret_hash", type: "bytea", select: false })
  secretHash!: Buffer;

  @Column({ type: "text", array: true })
  scopes!: string[];

  @Column({ name: "created_by", type: "text" })
  createdBy!: string;

  @Column({ name: "created_at", type: "timestamptz", default: () => "now()" })
  createdAt!: Date;

  @Column({ name: "last_used_at", type: "timestamptz", nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: "revoked_at", type: "timestamptz", nullable: true })
  revokedAt!: Date | null;
}
