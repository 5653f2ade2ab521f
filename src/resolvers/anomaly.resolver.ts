import { Arg, Ctx, FieldResolver, Float, ID, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import type { Context } from "../context";
import type { AnomalyMonitorService, AnomalyPayload, AnomalyScores } from "../domain/anomalies";
import { Anomaly, AnomalyConnection, AnomalyMonitor, ScoredSample } from "../schema/anomaly.type";
import { AnomalyMonitorInput } from "../schema/anomaly.input";
import { AnomalyAlgorithm } from "../schema/enums";
import { SeriesSelectorInput } from "../schema/metric.input";
import { MetricSeries } from "../schema/metric.type";
import { DateTimeScalar } from "../schema/scalars";

/** Anomaly monitors, their anomalies (query and live stream) and ad-hoc scores. Inputs are validated in the domain. */
@Resolver(() => Anomaly)
export class AnomalyResolver {
  constructor(
    private readonly monitors: AnomalyMonitorService,
    private readonly scores: AnomalyScores,
  ) {}

  @Query(() => [AnomalyMonitor], { description: "the tenant's monitors, oldest first. RULES_READ scope" })
  async anomalyMonitors(@Ctx() { session }: Context): Promise<AnomalyMonitor[]> {
    return (await this.monitors.list(session)).map(AnomalyMonitor.from);
  }

  @Query(() => AnomalyConnection, {
    description: "newest first (by timestamp); `first` 1–500 (default 50), continued with `after`; minScore in [0,1]. ALERTS_READ scope",
  })
  async anomalies(
    @Arg("monitorId", () => ID, { nullable: true }) monitorId: string | null,
    @Arg("from", () => DateTimeScalar, { nullable: true }) from: Date | null,
    @Arg("to", () => DateTimeScalar, { nullable: true }) to: Date | null,
    @Arg("minScore", () => Float, { nullable: true }) minScore: number | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() { session }: Context,
  ): Promise<AnomalyConnection> {
    const page = await this.monitors.anomalies(session, { monitorId, from, to, minScore, first, after });
    return Object.assign(new AnomalyConnection(), {
      nodes: page.nodes.map(Anomaly.from),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
    });
  }

  @Query(() => [ScoredSample], {
    description:
      "scores every point of the selected series in the range, for charting and for tuning a threshold. The selector must match exactly one series " +
      "(none: an empty list); at most 100,000 points; the detector first learns from up to ANOMALY_WARMUP_SAMPLES samples before `from`. METRICS_READ scope",
  })
  async anomalyScores(
    @Arg("selector", () => SeriesSelectorInput) selector: SeriesSelectorInput,
    @Arg("from", () => DateTimeScalar) from: Date,
    @Arg("to", () => DateTimeScalar) to: Date,
    @Arg("algorithm", () => AnomalyAlgorithm, { nullable: true }) algorithm: AnomalyAlgorithm | null,
    @Ctx() { session }: Context,
  ): Promise<ScoredSample[]> {
    const scored = await this.scores.scores(session, selector, from, to, algorithm);
    return scored.map((s) => Object.assign(new ScoredSample(), { timestamp: new Date(s.ts), value: s.value, expected: s.expected, score: s.score }));
  }

  @Mutation(() => AnomalyMonitor, { description: "RULES_WRITE scope" })
  async createAnomalyMonitor(
    @Arg("input", () => AnomalyMonitorInput, { validate: false }) input: AnomalyMonitorInput,
    @Ctx() { session, requestId }: Context,
  ): Promise<AnomalyMonitor> {
    return AnomalyMonitor.from(await this.monitors.create(session, input, requestId));
  }

  @Mutation(() => AnomalyMonitor, { description: "replaces every field (omitted ones take their defaults); a new algorithm starts from new detectors. RULES_WRITE scope" })
  async updateAnomalyMonitor(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => AnomalyMonitorInput, { validate: false }) input: AnomalyMonitorInput,
    @Ctx() { session, requestId }: Context,
  ): Promise<AnomalyMonitor> {
    return AnomalyMonitor.from(await this.monitors.update(session, id, input, requestId));
  }

  @Mutation(() => Boolean, { description: "deletes the monitor and its anomalies. RULES_DELETE scope" })
  async deleteAnomalyMonitor(@Arg("id", () => ID) id: string, @Ctx() { session, requestId }: Context): Promise<boolean> {
    return this.monitors.delete(session, id, requestId);
  }

  @Subscription(() => Anomaly, {
    description: "anomalies of the tenant as they are recorded, of one monitor when given, with score ≥ minScore. ALERTS_READ scope",
    subscribe: ({ args, context }) => {
      const a = args as { monitorId?: string | null; minScore?: number | null };
      return (context as Context).streams.anomalyDetected((context as Context).session, a.monitorId, a.minScore);
    },
  })
  anomalyDetected(
    @Root() payload: AnomalyPayload,
    @Arg("monitorId", () => ID, { nullable: true }) _monitorId: string | null,
    @Arg("minScore", () => Float, { nullable: true }) _minScore: number | null,
  ): Anomaly {
    return Anomaly.from(payload);
  }

  @FieldResolver(() => AnomalyMonitor)
  monitor(@Root() anomaly: Anomaly): AnomalyMonitor {
    return AnomalyMonitor.from(anomaly.payload.monitor);
  }

  @FieldResolver(() => MetricSeries)
  series(@Root() anomaly: Anomaly, @Ctx() { session }: Context): MetricSeries {
    const tenantId = session.kind === "tenant" ? session.tenantId : "";
    return MetricSeries.from({ ...anomaly.payload.series, tenantId });
  }
}
