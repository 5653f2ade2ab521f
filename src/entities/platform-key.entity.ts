import { Entity, PrimaryGeneratedColumn } from "typeorm";
import { KeyColumns } from "./key-columns";

/** A platform admin key (not tenant-owned). The env key VIGIL_ADMIN_KEY is never stored. */
@Entity({ name: "platform_keys" })
export class PlatformKeyEntity extends KeyColumns {
  @PrimaryGeneratedColumn("uuid")
  id!: string;
}
