import { Field, Float, ID, InputType, Int } from "type-graphql";
import { Aggregation, AlertState, Combine, ConditionKind, NoDataPolicy, Operator, Severity } from "./enums";
import { LabelMatcherInput, SeriesSelectorInput } from "./metric.input";
import { DateTimeScalar, JSONObjectScalar } from "./scalars";

/** Validated in the domain (src/domain/rules/engine/validate.ts), which names the offending field. */
@InputType()
export class ConditionInput {
  @Field(() => ConditionKind, { nullable: true, description: "THRESHOLD when not given" })
  kind?: ConditionKind | null;

  @Field(() => SeriesSelectorInput)
  selector!: SeriesSelectorInput;

  @Field(() => Aggregation, { nullable: true, description: "AVG when not given; ANOMALY conditions always take the maximum score" })
  aggregation?: Aggregation | null;

  @Field(() => Int, { nullable: true, description: "the window (t − windowSeconds, t]; 300 when not given" })
  windowSeconds?: number | null;

  @Field(() => Operator, { nullable: true, description: "GT when not given" })
  operator?: Operator | null;

  @Field(() => Float, { nullable: true, description: "required for THRESHOLD and ANOMALY (a score in [0, 1])" })
  threshold?: number | null;

  @Field(() => Float, { nullable: true, description: "once firing, the alert resolves only when the value crosses this level (hysteresis)" })
  recoveryThreshold?: number | null;
}

@InputType({ description: "groupBy null: one alert per series label set; []: one alert for the whole rule; [l1, l2]: one per value combination." })
export class AlertRuleInput {
  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => Severity)
  severity!: Severity;

  @Field(() => String, { nullable: true })
  category?: string | null;

  @Field(() => [ConditionInput])
  conditions!: ConditionInput[];

  @Field(() => Combine, { nullable: true, description: "ALL when not given" })
  combine?: Combine | null;

  @Field(() => [String], { nullable: true })
  groupBy?: string[] | null;

  @Field(() => Int, { nullable: true })
  forSeconds?: number | null;

  @Field(() => Int, { nullable: true })
  keepFiringForSeconds?: number | null;

  @Field(() => Int, { nullable: true, description: "1 s to 1 day; 60 when not given" })
  intervalSeconds?: number | null;

  @Field(() => NoDataPolicy, { nullable: true, description: "OK when not given" })
  noData?: NoDataPolicy | null;

  @Field(() => JSONObjectScalar, { nullable: true })
  labels?: Record<string, unknown> | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: "templates: {{ $value }}, {{ $labels.NAME }}, {{ $value | printf \"%.2f\" }}, {{ humanize $value }}" })
  annotations?: Record<string, unknown> | null;

  @Field(() => [ID], { nullable: true })
  channelIds?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: "true when not given" })
  enabled?: boolean | null;
}

@InputType()
export class AlertFilter {
  @Field(() => [AlertState], { nullable: true })
  states?: AlertState[] | null;

  @Field(() => Severity, { nullable: true })
  minSeverity?: Severity | null;

  @Field(() => ID, { nullable: true })
  ruleId?: string | null;

  @Field(() => [LabelMatcherInput], { nullable: true, description: "on the alert's labels" })
  matchers?: LabelMatcherInput[] | null;
}

@InputType()
export class SilenceInput {
  @Field(() => [LabelMatcherInput], { description: "on alert labels; at least one" })
  matchers!: LabelMatcherInput[];

  @Field(() => DateTimeScalar, { nullable: true, description: "now when not given" })
  startsAt?: Date | null;

  @Field(() => DateTimeScalar)
  endsAt!: Date;

  @Field(() => String, { nullable: true })
  comment?: string | null;
}
