import { Field, Float, InputType } from "type-graphql";
import { AnomalyAlgorithm, Direction } from "./enums";
import { SeriesSelectorInput } from "./metric.input";

/** Validated in the domain (src/domain/anomalies/validation.ts); the descriptions state the rules. */
@InputType()
export class AnomalyMonitorInput {
  @Field(() => String, { description: "1–200 characters" })
  name!: string;

  @Field(() => SeriesSelectorInput, { description: "the series the monitor watches, now and as they appear" })
  selector!: SeriesSelectorInput;

  @Field(() => AnomalyAlgorithm, { nullable: true, description: "AUTO when not given" })
  algorithm?: AnomalyAlgorithm | null;

  @Field(() => Float, {
    nullable: true,
    description: "an anomaly is recorded when a point's score in [0,1] reaches this; the default is tuned on the benchmark",
  })
  threshold?: number | null;

  @Field(() => Direction, { nullable: true, description: "which side of the expected value counts; BOTH when not given" })
  direction?: Direction | null;

  @Field(() => Boolean, { nullable: true, description: "true when not given" })
  enabled?: boolean | null;
}
