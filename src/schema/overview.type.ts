import { Field, Float, Int, ObjectType } from "type-graphql";
import { Severity } from "./enums";

@ObjectType()
export class TenantUsage {
  @Field(() => Int)
  series!: number;

  @Field(() => Float, { description: "samples stored, counted from the hour rollups: trails ingest by up to one rollup pass (ROLLUP_INTERVAL_MS)" })
  samples!: number;

  @Field(() => Int)
  rules!: number;

  @Field(() => Int)
  firingAlerts!: number;

  @Field(() => Int)
  instances!: number;
}

@ObjectType()
export class SeverityCount {
  @Field(() => Severity)
  severity!: Severity;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: "the key's tenant at a glance" })
export class Overview {
  /** for the instances field */
  tenantId!: string;

  @Field(() => [SeverityCount], { description: "every severity, most severe first, zeros included" })
  firingAlerts!: SeverityCount[];

  @Field(() => Int)
  pendingAlerts!: number;

  @Field(() => Int)
  series!: number;

  @Field(() => Float, { description: "from the minute rollups: trails ingest by up to one rollup pass (ROLLUP_INTERVAL_MS)" })
  samplesLastHour!: number;

  @Field(() => Int, { description: "anomalies whose point is less than an hour old" })
  anomaliesLastHour!: number;
}
