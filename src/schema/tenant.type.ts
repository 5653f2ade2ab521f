import { Field, ID, Int, ObjectType } from "type-graphql";
import { DateTimeScalar } from "./scalars";

export interface TenantRecord {
  id: string;
  slug: string;
  name: string;
  retentionDays: number;
  maxSeries: number;
  maxSamplesPerSecond: number;
  createdAt: Date;
}

@ObjectType()
export class Tenant {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  slug!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int)
  retentionDays!: number;

  @Field(() => Int)
  maxSeries!: number;

  @Field(() => Int)
  maxSamplesPerSecond!: number;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  static from(r: TenantRecord): Tenant {
    return Object.assign(new Tenant(), {
      id: r.id,
      slug: r.slug,
      name: r.name,
      retentionDays: r.retentionDays,
      maxSeries: r.maxSeries,
      maxSamplesPerSecond: r.maxSamplesPerSecond,
      createdAt: r.createdAt,
    });
  }
}
