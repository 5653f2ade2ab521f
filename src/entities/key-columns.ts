import { Column } from "typeorm";

/** Columns shared by tenant keys and platform keys. Only a hash of the secret is stored. */
export abstract class KeyColumns {
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
