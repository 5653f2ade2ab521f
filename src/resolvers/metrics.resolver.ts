import { Arg, Ctx, FieldResolver, Float, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../context";
import type { IngestService, MetricsQueryService, PointInput } from "../domain/metrics";
import { AggregateFn } from "../schema/enums";
import { MetricPointInput, SeriesSelectorInput } from "../schema/metric.input";
import {
  AggregatedSeries,
  Correlation,
  IngestResult,
  MetricSeries,
  MetricSeriesConnection,
  MetricSummary,
  Sample,
  Trend,
} from "../schema/metric.type";
import { DateTimeScalar } from "../schema/scalars";

/**
 * Points of an HTTP `ingestMetrics` call that the fast path (src/server/ingest-fast-path.ts) has
 * already coerced exactly as graphql-js would, keyed by the request's context: graphql-js then
 * executes the operation with an empty list in their place, and the resolver takes them from here.
 */
const prepared = new WeakMap<Context, readonly PointInput[]>();

export const ingestHandOff = {
  /** false when the context already carries points (one hand-off per request) */
  give(context: Context, points: readonly PointInput[]): boolean {
    if (prepared.has(context)) return false;
    prepared.set(context, points);
    return true;
  },
  take(context: Context): readonly PointInput[] | undefined {
    const points = prepared.get(context);
    prepared.delete(context);
    return points;
  },
};

@Resolver(() => MetricSeries)
export class MetricsResolver {
  constructor(
    private readonly ingestService: IngestService,
    private readonly queries: MetricsQueryService,
  ) {}

  @Mutation(() => IngestResult, {
    description: "up to 10,000 points, all or nothing; the same series and timestamp again: the last write wins. METRICS_WRITE scope",
  })
  async ingestMetrics(
    // validated by hand in the domain: class-validator on 10,000 instances per call costs more than the checks
    @Arg("points", () => [MetricPointInput], { validate: false }) points: MetricPointInput[],
    @Ctx() context: Context,
  ): Promise<IngestResult> {
    // on the fast path `points` is the empty stand-in and the real points wait in the hand-off
    const input = (points.length === 0 && ingestHandOff.take(context)) || points;
    return Object.assign(new IngestResult(), await this.ingestService.ingest(context.session, input));
  }

  @Query(() => MetricSeriesConnection, { description: "the tenant's series matching the selector, by creation order" })
  async series(
    @Arg("selector", () => SeriesSelectorInput) selector: SeriesSelectorInput,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() { session }: Context,
  ): Promise<MetricSeriesConnection> {
    const page = await this.queries.listSeries(session, selector, first, after);
    return Object.assign(new MetricSeriesConnection(), {
      nodes: page.nodes.map(MetricSeries.from),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
      totalCount: page.totalCount,
    });
  }

  @FieldResolver(() => [Sample], {
    description: "raw samples, oldest first: the first `limit` (default 1,000, at most 10,000) from `from`, or the latest `limit` up to `to` when `from` is not given",
  })
  async samples(
    @Root() series: MetricSeries,
    @Arg("from", () => DateTimeScalar, { nullable: true }) from: Date | null,
    @Arg("to", () => DateTimeScalar, { nullable: true }) to: Date | null,
    @Arg("limit", () => Int, { nullable: true }) limit: number | null,
    @Ctx() { session }: Context,
  ): Promise<Sample[]> {
    const rows = await this.queries.samples(session, series.record, from, to, limit);
    return rows.map((r) => Object.assign(new Sample(), { timestamp: new Date(r.ts), value: r.value }));
  }

  @FieldResolver(() => Float, { nullable: true, description: "the value of the series' latest sample; null when it has none left (retention)" })
  async lastValue(@Root() series: MetricSeries, @Ctx() { session }: Context): Promise<number | null> {
    const [latest] = await this.queries.samples(session, series.record, null, null, 1);
    return latest?.value ?? null;
  }

  @Query(() => [AggregatedSeries], {
    description:
      "buckets [t, t + step) aligned to multiples of the step since the epoch, clipped to [from, to]; at most 11,000 buckets and 1,000 series. " +
      "groupBy null: one result per series; []: all together; [labels]: by those labels' values",
  })
  async aggregate(
    @Arg("selector", () => SeriesSelectorInput) selector: SeriesSelectorInput,
    @Arg("from", () => DateTimeScalar) from: Date,
    @Arg("to", () => DateTimeScalar) to: Date,
    @Arg("stepSeconds", () => Int) stepSeconds: number,
    @Arg("fn", () => AggregateFn) fn: AggregateFn,
    @Arg("groupBy", () => [String], { nullable: true }) groupBy: string[] | null,
    @Ctx() { session }: Context,
  ): Promise<AggregatedSeries[]> {
    const result = await this.queries.aggregate(session, { selector, from, to, stepSeconds, fn, groupBy });
    return result.map((s) =>
      Object.assign(new AggregatedSeries(), { labels: s.labels, buckets: s.buckets.map((b) => ({ timestamp: new Date(b.ts), value: b.value })) }),
    );
  }

  @Query(() => MetricSummary, { description: "over every sample of the selected series in [from, to]; percentiles from the raw samples" })
  async summary(
    @Arg("selector", () => SeriesSelectorInput) selector: SeriesSelectorInput,
    @Arg("from", () => DateTimeScalar) from: Date,
    @Arg("to", () => DateTimeScalar) to: Date,
    @Ctx() { session }: Context,
  ): Promise<MetricSummary> {
    return Object.assign(new MetricSummary(), await this.queries.summary(session, selector, from, to));
  }

  @Query(() => Trend, {
    description: "least-squares line through the bucket averages (all selected series together); forecast every step up to horizonSeconds (default 10 steps) with prediction intervals at `confidence` (default 0.95)",
  })
  async trend(
    @Arg("selector", () => SeriesSelectorInput) selector: SeriesSelectorInput,
    @Arg("from", () => DateTimeScalar) from: Date,
    @Arg("to", () => DateTimeScalar) to: Date,
    @Arg("stepSeconds", () => Int) stepSeconds: number,
    @Arg("horizonSeconds", () => Int, { nullable: true }) horizonSeconds: number | null,
    @Arg("confidence", () => Float, { nullable: true }) confidence: number | null,
    @Ctx() { session }: Context,
  ): Promise<Trend> {
    const t = await this.queries.trend(session, { selector, from, to, stepSeconds, horizonSeconds, confidence });
    return Object.assign(new Trend(), { ...t, forecast: t.forecast.map((f) => ({ ...f, timestamp: new Date(f.ts) })) });
  }

  @Query(() => Correlation, { description: "Pearson r of the bucket averages of a and b, over buckets where both have data" })
  async correlation(
    @Arg("a", () => SeriesSelectorInput) a: SeriesSelectorInput,
    @Arg("b", () => SeriesSelectorInput) b: SeriesSelectorInput,
    @Arg("from", () => DateTimeScalar) from: Date,
    @Arg("to", () => DateTimeScalar) to: Date,
    @Arg("stepSeconds", () => Int) stepSeconds: number,
    @Ctx() { session }: Context,
  ): Promise<Correlation> {
    return Object.assign(new Correlation(), await this.queries.correlation(session, { a, b, from, to, stepSeconds }));
  }

  @Query(() => [String], { description: "distinct values of a label (__name__: metric names), sorted; of the selected series when a selector is given" })
  async labelValues(
    @Arg("label", () => String) label: string,
    @Arg("selector", () => SeriesSelectorInput, { nullable: true }) selector: SeriesSelectorInput | null,
    @Ctx() { session }: Context,
  ): Promise<string[]> {
    return this.queries.labelValues(session, label, selector);
  }
}
