import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from "typeorm";
import { KeyColumns } from "./key-columns";

/** A tenant's API key; `prefix` finds the row before the tenant is known. */
@Entity({ name: "api_keys" })
export class ApiKeyEntity extends KeyColumns {
  @PrimaryColumn({ name: "tenant_id", type: "uuid" })
  tenantId!: string;

  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column({ type: "text", array: true })
  scopes!: string[];

  @Column({ name: "created_by", type: "text" })
  createdBy!: string;
}
