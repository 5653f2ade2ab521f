import { Field, Float, InputType } from "type-graphql";
import { MatchOp, MetricType } from "./enums";
import { DateTimeScalar, JSONObjectScalar } from "./scalars";

/** Validated by hand in the domain (src/domain/metrics/points.ts): this is the ingest hot path. */
@InputType()
export class MetricPointInput {
  @Field(() => String)
  name!: string;

  @Field(() => Float)
  value!: number;

  @Field(() => DateTimeScalar, { nullable: true, description: "defaults to now; within the tenant's retention and at most 10 minutes ahead" })
  timestamp?: Date | null;

  @Field(() => MetricType, { nullable: true, description: "fixed when the series is created (GAUGE when not given)" })
  type?: MetricType | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: "a flat map of string to string, at most 32 pairs" })
  labels?: Record<string, unknown> | null;
}

@InputType()
export class LabelMatcherInput {
  @Field(() => String)
  label!: string;

  @Field(() => MatchOp, { nullable: true, description: "EQ when not given; regexes are RE2, anchored at both ends" })
  op?: MatchOp | null;

  @Field(() => String)
  value!: string;
}

@InputType({ description: "name: an exact metric name, or a glob where * matches any run of characters (system.cpu.*)." })
export class SeriesSelectorInput {
  @Field(() => String)
  name!: string;

  @Field(() => [LabelMatcherInput], { nullable: true })
  matchers?: LabelMatcherInput[] | null;
}
