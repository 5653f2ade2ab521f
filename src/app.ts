import "reflect-metadata";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import type { Config } from "./config";
import type { Context } from "./context";
import { createDataSource } from "./db/data-source";
import { Partitions } from "./db/partitions";
import { Database } from "./db/database";
import { Authenticator } from "./domain/auth";
import { IngestService, MetricsQueryService, Retention, Rollups } from "./domain/metrics";
import { createInProcessPubSub, createRedisPubSub } from "./domain/pubsub";
import {
  CallMetrics,
  CallsService,
  HealthLog,
  HealthSweep,
  PickService,
  PickSnapshots,
  RegistryEvents,
  RegistryService,
  type SweepReport,
} from "./domain/registry";
import { AlertService, type EvaluationReport, RuleDataLoader, RuleEvaluator, RuleService, SeriesIndex } from "./domain/rules";
import { ruleOffsetMs } from "./domain/rules/engine";
import { ChannelService, Notifier } from "./domain/notify";
import { AnomalyEngine, AnomalyMonitorService, AnomalyScores, pruneAnomalies } from "./domain/anomalies";
import { DEFAULT_THRESHOLD, createDetector } from "./domain/anomalies/detectors";
import { OverviewService } from "./domain/overview";
import { Streams } from "./domain/streams";
import { ApiKeyService, AuditLog, TenantService } from "./domain/tenants";
import { LeaderElection, advisoryLock, soloLock } from "./domain/cluster";
import { type Job } from "./jobs/periodic";
import { anomalyCheckpointJob, anomalyRetentionJob } from "./jobs/anomaly.jobs";
import { retentionJob, rollupJob } from "./jobs/metrics.jobs";
import { notificationDeliveryJob, notificationRepeatJob } from "./jobs/notify.jobs";
import { ruleEvaluationJob } from "./jobs/rules.jobs";
import { callHistoryJob, callMetricsJob, registrySweepJob } from "./jobs/registry.jobs";
import { createLogger, type Logger } from "./lib/logger";
import { AnomalyResolver } from "./resolvers/anomaly.resolver";
import { ApiKeyResolver } from "./resolvers/api-key.resolver";
import { AlertResolver, DeliveryAlertResolver } from "./resolvers/alert.resolver";
import { OverviewResolver, TenantUsageResolver } from "./resolvers/overview.resolver";
import { AuditResolver } from "./resolvers/audit.resolver";
import { MetricsResolver } from "./resolvers/metrics.resolver";
import { NotificationResolver } from "./resolvers/notification.resolver";
import { RegistryEventsResolver } from "./resolvers/registry-events.resolver";
import { RegistryResolver } from "./resolvers/registry.resolver";
import { RuleResolver } from "./resolvers/rule.resolver";
import { ServiceInstanceResolver } from "./resolvers/service-instance.resolver";
import { ServiceResolver } from "./resolvers/service.resolver";
import { TenantResolver } from "./resolvers/tenant.resolver";
import { type ResolverClass, buildVigilSchema } from "./schema/build-schema";
import { formatError } from "./server/errors";
import { expressServer, mountHttpRoutes, observabilityPlugin } from "./server/http";
import { ingestFastPathPlugin } from "./server/ingest-fast-path";
import { Metrics } from "./server/metrics";
import { SocketRegistry } from "./server/socket-registry";
import { MAX_TOKENS, extraValidationRules } from "./server/validation-rules";
import { startWsServer } from "./server/ws";

export interface StartedApp {
  url: string;
  port: number;
  /** set on the first start of an empty database without VIGIL_ADMIN_KEY; printed once */
  generatedAdminKey: string | undefined;
}

export interface App {
  start(): Promise<StartedApp>;
  stop(): Promise<void>;
  readonly log: Logger;
  /** for diagnostics, benchmarks and tests that check what was stored */
  readonly db: Database;
  /** background jobs, for tests that need a pass now (registry passes take the time to act at) */
  readonly jobs: {
    rollup(): Promise<void>;
    retention(): Promise<void>;
    /** `tenantId` limits the pass to one tenant (tests that share a database move time forward) */
    registrySweep(now?: number, tenantId?: string): Promise<SweepReport>;
    registryPrune(now?: number): Promise<number>;
    registryFlushMetrics(now?: number): Promise<void>;
    /** waits until every ingested batch is scored, then checkpoints the detectors that learned; returns how many */
    anomalyCheckpoint(): Promise<number>;
    /** one outbox pass at `now` (of one tenant when given): claims due deliveries, sends them, records the outcomes; returns how many were attempted */
    deliverNotifications(now?: number, tenantId?: string): Promise<number>;
    /** enqueues REPEAT deliveries of alerts still firing at `now` (of one tenant when given); returns how many */
    repeatNotifications(now?: number, tenantId?: string): Promise<number>;
    /** evaluates the rules due at `now` (of one tenant when given), as the scheduler does */
    evaluateRules(now?: number, tenantId?: string): Promise<EvaluationReport>;
  };
}

/**
 * The composition root: every long-lived object is made here, wired by constructor, and torn
 * down by `stop` in reverse order (sockets, HTTP drain, background loops, database).
 */
export function buildApp(config: Config, log: Logger = createLogger(config.logLevel)): App {
  const db = new Database(createDataSource(config.database), config.database.kind);
  const metrics = new Metrics(db);
  // REDIS_URL: events reach the subscribers of every process (at most once); else this process only
  const redisBus = config.redis ? createRedisPubSub(config.redis, log.child({ component: "pubsub" }), metrics.pubsub) : undefined;
  const pubsub = redisBus?.pubsub ?? createInProcessPubSub();
  const authenticator = new Authenticator(db, config.adminKey, log.child({ component: "auth" }), config.authCacheMs);
  const audit = new AuditLog(db, pubsub);
  // (`ingest` is created below; the callback runs only after a tenant update commits)
  const tenants = new TenantService(db, audit, pubsub, authenticator, (tenantId) => ingest.forgetLimits(tenantId));
  const keys = new ApiKeyService(db, audit, pubsub, authenticator);
  const streams = new Streams(pubsub);
  const partitions = new Partitions(db);
  const rollups = new Rollups(db);
  const retention = new Retention(db, partitions);
  // scores every committed ingest batch, after commit and off the ingest call (see engine.ts)
  const anomalyEngine = new AnomalyEngine(db, pubsub, createDetector, { ...config.anomalies, maxDetectors: config.anomalies.detectorCacheSize }, log.child({ component: "anomalies" }));
  const ingest = new IngestService(db, partitions, config.metrics.seriesCacheSize, anomalyEngine, config.authCacheMs);
  const metricQueries = new MetricsQueryService(db, rollups);
  const registryEvents = new RegistryEvents(pubsub);
  const healthLog = new HealthLog(db, registryEvents);
  const registry = new RegistryService(db, audit, healthLog);
  const pickSnapshots = new PickSnapshots(db, { refreshMs: config.registry.pickRefreshMs, maxInstances: config.registry.pickCacheInstances });
  const picker = new PickService(db, pickSnapshots, registryEvents, log.child({ component: "registry" }));
  const callMetrics = new CallMetrics(ingest, log.child({ component: "registry" }));
  const calls = new CallsService(db, registryEvents, callMetrics, pickSnapshots, config.registry);
  const sweep = new HealthSweep(db, healthLog, config.registry, log.child({ component: "registry" }));
  // generatorURL/externalURL: PUBLIC_URL, else this process's own URL once it listens
  let publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;
  const notifier = new Notifier(
    db,
    {
      retry: { maxAttempts: config.notify.maxAttempts, baseMs: config.notify.retryBaseMs, capMs: config.notify.retryMaxMs },
      timeoutMs: config.notify.timeoutMs,
      concurrency: config.notify.concurrency,
      publicUrl: () => publicUrl,
    },
    log.child({ component: "notify" }),
  );
  const channels = new ChannelService(db, audit, notifier);
  const anomalyMonitors = new AnomalyMonitorService(db, audit, anomalyEngine, DEFAULT_THRESHOLD);
  const anomalyScores = new AnomalyScores(db, metricQueries, anomalyEngine, createDetector, config.anomalies.warmupSamples);
  // series created by this process reach rules at once; by other processes within 10 s
  const ruleSeries = new SeriesIndex(db, 10_000, config.metrics.seriesCacheSize);
  ingest.onSeriesCreated((tenantId, names) => ruleSeries.seriesCreated(tenantId, names));
  const ruleData = new RuleDataLoader(db, metricQueries, ruleSeries, anomalyScores);
  const evaluator = new RuleEvaluator(db, ruleData, pubsub, notifier, ruleOffsetMs, log.child({ component: "rules" }));
  const rules = new RuleService(db, audit, ruleData, evaluator);
  const alerts = new AlertService(db, audit);
  const overview = new OverviewService(db);
  // per-key and per-tenant WebSocket connection limits (per process)
  const sockets = new SocketRegistry(config.ws);
  const schema = buildVigilSchema(
    new Map<ResolverClass, object>([
      [TenantResolver, new TenantResolver(tenants)],
      [ApiKeyResolver, new ApiKeyResolver(keys)],
      [AuditResolver, new AuditResolver(audit)],
      [MetricsResolver, new MetricsResolver(ingest, metricQueries)],
      [RegistryResolver, new RegistryResolver(registry, picker, calls)],
      [ServiceResolver, new ServiceResolver(registry, calls)],
      [ServiceInstanceResolver, new ServiceInstanceResolver(registry, calls)],
      [RegistryEventsResolver, new RegistryEventsResolver()],
      [AnomalyResolver, new AnomalyResolver(anomalyMonitors, anomalyScores)],
      [NotificationResolver, new NotificationResolver(channels)],
      [RuleResolver, new RuleResolver(rules, alerts, channels)],
      [AlertResolver, new AlertResolver(alerts, rules)],
      [DeliveryAlertResolver, new DeliveryAlertResolver(alerts)],
      [OverviewResolver, new OverviewResolver(overview)],
      [TenantUsageResolver, new TenantUsageResolver(overview)],
    ]),
    pubsub,
  );
  const validationRules = extraValidationRules(config.limits);

  let httpServer: Server | undefined;
  let apollo: ApolloServer<Context> | undefined;
  let ws: ReturnType<typeof startWsServer> | undefined;
  let shuttingDown = false;
  const loops: Array<{ return?: () => unknown }> = [];
  /** per-process jobs: they work on this process's own buffers and detectors */
  const jobs: Job[] = [];

  /**
   * The once-only jobs, run by the leader alone (see README "Leader election"): made afresh at
   * each election, stopped and awaited when this process steps down. Their work is also safe to
   * run twice (claims use FOR UPDATE SKIP LOCKED), so the moment two processes overlap — a leader
   * that lost its lock connection still finishing a pass — does no harm. `app.jobs` runs the same
   * passes on demand in any process.
   */
  const leaderJobs = (): Job[] => {
    const jobLog = log.child({ component: "jobs" });
    return [
      // smaller batches on the embedded database, whose statements run on the event loop's thread
      rollupJob(rollups, partitions, config.metrics.rollupIntervalMs, db.kind === "embedded" ? 500 : 5_000, jobLog),
      retentionJob(retention, config.metrics.retentionIntervalMs, jobLog),
      anomalyRetentionJob(() => pruneAnomalies(db), config.metrics.retentionIntervalMs, jobLog),
      registrySweepJob(sweep, config.registry.sweepIntervalMs, jobLog),
      callHistoryJob(calls, jobLog),
      notificationDeliveryJob(notifier, config.notify.intervalMs, jobLog),
      notificationRepeatJob(notifier, jobLog),
      ruleEvaluationJob(evaluator, config.rules.tickMs, jobLog),
    ];
  };
  const leader = new LeaderElection(
    // PGlite is one process's database: that process always leads
    config.database.kind === "postgres" ? advisoryLock({ url: config.database.url, key: config.leader.lockKey }) : soloLock(),
    leaderJobs,
    { retryMs: config.leader.retryMs, checkMs: config.leader.checkMs, checkTimeoutMs: Math.max(1_000, config.leader.checkMs) },
    log.child({ component: "leader" }),
    (leading) => metrics.leader.set(leading ? 1 : 0),
  );

  /** Internal events every process acts on: close the sockets of revoked keys and deleted tenants. */
  function followRevocations(): void {
    const revoked = pubsub.subscribe("KEY_REVOKED");
    const deleted = pubsub.subscribe("TENANT_DELETED");
    loops.push(revoked, deleted);
    const failed = (err: unknown) => log.error({ err }, "revocation listener stopped");
    void (async () => {
      for await (const { keyId } of revoked) {
        authenticator.forgetKey(keyId);
        sockets.closeKey(keyId, "API key revoked");
      }
    })().catch(failed);
    void (async () => {
      for await (const { tenantId } of deleted) {
        authenticator.forgetTenant(tenantId);
        sockets.closeTenant(tenantId, "tenant deleted");
        ingest.forgetTenant(tenantId);
        ruleSeries.forgetTenant(tenantId);
        callMetrics.forgetTenant(tenantId);
        pickSnapshots.forgetTenant(tenantId);
        anomalyEngine.forgetTenant(tenantId);
      }
    })().catch(failed);
  }

  return {
    log,
    db,
    jobs: {
      rollup: async () => {
        while ((await rollups.runBatch()) > 0);
      },
      retention: async () => {
        await retention.run();
      },
      registrySweep: (now, tenantId) => sweep.run(now, tenantId ?? null),
      registryPrune: (now) => calls.prune(now),
      registryFlushMetrics: (now) => callMetrics.flush(now),
      anomalyCheckpoint: () => anomalyEngine.checkpoint(),
      deliverNotifications: (now, tenantId) => notifier.deliverDue(now, tenantId ?? null),
      repeatNotifications: (now, tenantId) => notifier.enqueueRepeats(now, tenantId ?? null),
      evaluateRules: (now, tenantId) => evaluator.runDue(now, tenantId ?? null),
    },
    async start() {
      const started = Date.now();
      await db.dataSource.initialize();
      const applied = await db.migrate();
      if (applied.length) log.info({ migrations: applied }, "applied migrations");
      const generatedAdminKey = await authenticator.bootstrapAdminKey();

      const http = expressServer();
      httpServer = http.server;
      apollo = new ApolloServer<Context>({
        schema,
        introspection: config.introspection,
        logger: log.child({ component: "apollo" }),
        includeStacktraceInErrorResponses: false,
        // main.ts owns the signals: it stops sockets, HTTP and the database in order.
        stopOnTerminationSignals: false,
        formatError,
        validationRules,
        parseOptions: { maxTokens: MAX_TOKENS },
        plugins: [
          ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownGraceMs }),
          // Vigil sets no cache hints; Apollo's default cache-control plugin would still wrap every
          // field's resolution (a 990-bucket aggregate: about a third of GraphQL's share of the time)
          ApolloServerPluginCacheControlDisabled(),
          observabilityPlugin(metrics),
          // ingestMetrics points checked in plain code instead of coerced by graphql-js (see the file)
          ingestFastPathPlugin(schema),
        ],
      });
      await apollo.start();
      mountHttpRoutes(http.app, {
        apollo,
        db,
        authenticator,
        streams,
        metrics,
        log,
        maxBodyBytes: config.limits.maxBodyBytes,
        isShuttingDown: () => shuttingDown,
        redisState: redisBus ? () => redisBus.state() : undefined,
      });
      ws = startWsServer({
        httpServer,
        path: "/graphql",
        schema,
        authenticator,
        streams,
        log: log.child({ component: "ws" }),
        metrics,
        sockets,
        validationRules,
        initTimeoutMs: config.wsInitTimeoutMs,
        maxMessageBytes: config.limits.maxBodyBytes,
        limits: config.ws,
      });
      followRevocations();
      jobs.push(
        // this process's buffer of reported calls, and its own detectors
        callMetricsJob(callMetrics, config.registry.metricsFlushMs, log.child({ component: "jobs" })),
        anomalyCheckpointJob(anomalyEngine, config.anomalies.checkpointIntervalMs, log.child({ component: "jobs" })),
      );
      // the first try of the leader lock; a follower goes on trying every LEADER_RETRY_MS
      await leader.start();

      const server = httpServer;
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.port, config.host, () => resolve());
      });
      const { port } = server.address() as AddressInfo;
      const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
      const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}/graphql`;
      if (!config.publicUrl) publicUrl = url.replace(/\/graphql$/, "");
      log.info({ url, database: db.kind, startupMs: Date.now() - started }, "Vigil is listening");
      return { url, port, generatedAdminKey };
    },

    async stop() {
      if (shuttingDown) return;
      shuttingDown = true;
      log.info("shutting down: closing sockets and draining requests");
      // graphql-ws closes every socket with 1001 Going Away.
      await ws?.server.dispose();
      // The drain plugin stops accepting, waits for in-flight requests (bounded), then closes.
      await apollo?.stop();
      for (const loop of loops) loop.return?.();
      // in-flight ingests finished with the HTTP drain; let a running rollup or retention pass end
      // (health checks in flight are cancelled rather than waited for)
      sweep.stop();
      // attempts in flight are aborted and recorded as due again, for the next process
      notifier.stop();
      // step down (leader jobs stopped and awaited, lock released for the next leader) while the
      // database is still open
      await Promise.all([leader.stop(), ...jobs.map((j) => j.stop())]);
      // the calls reported since the last flush, while the database is still open
      if (db.dataSource.isInitialized) await callMetrics.flush();
      // scores what was ingested, then checkpoints every detector that learned
      if (db.dataSource.isInitialized) await anomalyEngine.stop();
      registryEvents.stop();
      // after every publisher above (sockets, jobs, flushes) is done; bounded when Redis is down
      await redisBus?.close();
      await db.close();
      log.info("stopped");
    },
  };
}
