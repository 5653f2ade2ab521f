import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import type { SeriesRecord } from "../domain/metrics";
import { MatchOp, MetricType, TrendDirection } from "./enums";
import { PageInfo } from "./page-info.type";
import { DateTimeScalar, JSONObjectScalar } from "./scalars";

@ObjectType()
export class IngestResult {
  @Field(() => Int)
  accepted!: number;

  @Field(() => Int)
  seriesCreated!: number;
}

@ObjectType()
export class Sample {
  @Field(() => DateTimeScalar)
  timestamp!: Date;

  @Field(() => Float)
  value!: number;
}

@ObjectType()
export class MetricSeries {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => MetricType)
  type!: MetricType;

  @Field(() => JSONObjectScalar)
  labels!: Record<string, string>;

  @Field(() => DateTimeScalar, { description: "timestamp of the series' earliest sample" })
  firstSeenAt!: Date;

  @Field(() => DateTimeScalar, { description: "timestamp of the series' latest sample (refreshed by the rollup job, every ROLLUP_INTERVAL_MS)" })
  lastSeenAt!: Date;

  /** the domain record, for field resolvers; not a GraphQL field */
  record!: SeriesRecord;

  static from(r: SeriesRecord): MetricSeries {
    return Object.assign(new MetricSeries(), {
      id: r.id,
      name: r.name,
      type: r.type,
      labels: r.labels,
      firstSeenAt: new Date(r.firstSampleAt),
      lastSeenAt: new Date(r.lastSampleAt),
      record: r,
    });
  }
}

@ObjectType()
export class MetricSeriesConnection {
  @Field(() => [MetricSeries])
  nodes!: MetricSeries[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType()
export class Bucket {
  @Field(() => DateTimeScalar, { description: "start of the bucket: a multiple of the step since the epoch" })
  timestamp!: Date;

  @Field(() => Float, { nullable: true, description: "null when the bucket holds no samples (COUNT: 0)" })
  value!: number | null;
}

@ObjectType()
export class AggregatedSeries {
  @Field(() => JSONObjectScalar, {
    description: "the group's labels (all labels of the series, with __name__, when groupBy is null; only the groupBy labels otherwise)",
  })
  labels!: Record<string, string>;

  @Field(() => [Bucket])
  buckets!: Bucket[];
}

@ObjectType()
export class MetricSummary {
  @Field(() => Int)
  count!: number;

  @Field(() => Float, { nullable: true })
  sum!: number | null;

  @Field(() => Float, { nullable: true })
  avg!: number | null;

  @Field(() => Float, { nullable: true })
  min!: number | null;

  @Field(() => Float, { nullable: true })
  max!: number | null;

  @Field(() => Float, { nullable: true, description: "population standard deviation" })
  stddev!: number | null;

  @Field(() => Float, { nullable: true })
  p50!: number | null;

  @Field(() => Float, { nullable: true })
  p95!: number | null;

  @Field(() => Float, { nullable: true })
  p99!: number | null;

  @Field(() => Float, { nullable: true, description: "value of the earliest sample in the range" })
  first!: number | null;

  @Field(() => Float, { nullable: true, description: "value of the latest sample in the range" })
  last!: number | null;
}

@ObjectType()
export class ForecastPoint {
  @Field(() => DateTimeScalar)
  timestamp!: Date;

  @Field(() => Float)
  value!: number;

  @Field(() => Float)
  lower!: number;

  @Field(() => Float)
  upper!: number;
}

@ObjectType()
export class Trend {
  @Field(() => TrendDirection, { description: "UP or DOWN when the slope differs from 0 at the 1 - confidence level (t-test), FLAT otherwise" })
  direction!: TrendDirection;

  @Field(() => Float)
  slopePerSecond!: number;

  @Field(() => Float, { description: "R² of the least-squares fit over the bucket averages" })
  strength!: number;

  @Field(() => [ForecastPoint])
  forecast!: ForecastPoint[];
}

@ObjectType()
export class Correlation {
  @Field(() => Float, { nullable: true, description: "Pearson r over buckets where both sides have data; null when undefined" })
  coefficient!: number | null;

  @Field(() => Float, { nullable: true, description: "two-sided p-value of r = 0" })
  pValue!: number | null;

  @Field(() => Int)
  points!: number;
}

@ObjectType()
export class LabelMatcher {
  @Field(() => String)
  label!: string;

  @Field(() => MatchOp)
  op!: MatchOp;

  @Field(() => String)
  value!: string;
}

@ObjectType()
export class SeriesSelector {
  @Field(() => String)
  name!: string;

  @Field(() => [LabelMatcher])
  matchers!: LabelMatcher[];
}
