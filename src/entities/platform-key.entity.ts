import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

/** A platform admin key (not tenant-owned). The env key VIGIL_ADMIN_KEY is never stored. */
@Entity({ name: "platform_keys" })
export class PlatformKeyEntity {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column({ type: "text" })
  name!: string;

  @Column({ type: "text", unique: true })
  prefix!: string;

  @Column({ name: "secret_hash", type: "bytea", select: false })
  secretHash!: Buffer;

  @Column({ name: "created_at", type: "timestamptz", default: () => "now()" })
  createdAt!: Date;

  @Column({ name: "last_used_at", type: "timestamptz", nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: "revoked_at", type: "timestamptz", nullable: true })
  revokedAt!: Date | null;
}
