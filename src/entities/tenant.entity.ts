import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

@Entity({ name: "tenants" })
export class TenantEntity {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column({ type: "text", unique: true })
  slug!: string;

  @Column({ type: "text" })
  name!: string;

  @Column({ name: "retention_days", type: "integer" })
  retentionDays!: number;

  @Column({ name: "max_series", type: "integer" })
  maxSeries!: number;

  @Column({ name: "max_samples_per_second", type: "integer" })
  maxSamplesPerSecond!: number;

  @Column({ name: "created_at", type: "timestamptz", default: () => "now()" })
  createdAt!: Date;

  @Column({ name: "updated_at", type: "timestamptz", default: () => "now()" })
  updatedAt!: Date;
}
