import { Field, Float, ID, ObjectType } from "type-graphql";
import type { AnomalyMonitorRecord, AnomalyPayload } from "../domain/anomalies";
import { AnomalyAlgorithm, Direction } from "./enums";
import { SeriesSelector } from "./metric.type";
import { PageInfo } from "./page-info.type";
import { DateTimeScalar } from "./scalars";

@ObjectType()
export class AnomalyMonitor {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => SeriesSelector)
  selector!: SeriesSelector;

  @Field(() => AnomalyAlgorithm)
  algorithm!: AnomalyAlgorithm;

  @Field(() => Float)
  threshold!: number;

  @Field(() => Direction)
  direction!: Direction;

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  static from(m: AnomalyMonitorRecord | AnomalyPayload["monitor"]): AnomalyMonitor {
    return Object.assign(new AnomalyMonitor(), {
      id: m.id,
      name: m.name,
      selector: Object.assign(new SeriesSelector(), {
        name: m.selector.name,
        matchers: m.selector.matchers.map((x) => ({ label: x.label, op: x.op, value: x.value })),
      }),
      algorithm: m.algorithm,
      threshold: m.threshold,
      direction: m.direction,
      enabled: m.enabled,
      createdAt: new Date(m.createdAt),
    });
  }
}

@ObjectType()
export class Anomaly {
  @Field(() => ID)
  id!: string;

  @Field(() => DateTimeScalar)
  timestamp!: Date;

  @Field(() => Float)
  value!: number;

  @Field(() => Float, { nullable: true, description: "what the detector expected at this point" })
  expected!: number | null;

  @Field(() => Float, { description: "in [0, 1]" })
  score!: number;

  @Field(() => Direction, { description: "the side of the expected value the point lies on: UP or DOWN" })
  direction!: Direction;

  /** the plain JSON it came from, for the monitor and series field resolvers; not a GraphQL field */
  payload!: AnomalyPayload;

  static from(p: AnomalyPayload): Anomaly {
    return Object.assign(new Anomaly(), {
      id: p.id,
      timestamp: new Date(p.timestamp),
      value: p.value,
      expected: p.expected,
      score: p.score,
      direction: p.direction,
      payload: p,
    });
  }
}

@ObjectType()
export class AnomalyConnection {
  @Field(() => [Anomaly])
  nodes!: Anomaly[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType()
export class ScoredSample {
  @Field(() => DateTimeScalar)
  timestamp!: Date;

  @Field(() => Float)
  value!: number;

  @Field(() => Float, { nullable: true, description: "null while the detector is still warming up" })
  expected!: number | null;

  @Field(() => Float, { description: "in [0, 1]" })
  score!: number;
}
