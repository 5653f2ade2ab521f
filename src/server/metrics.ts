import client, { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Database } from "../db/database";
import type { PubSubObserver } from "../domain/pubsub";

const MAX_OPERATION_NAMES = 200;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Vigil's own metrics for GET /metrics. Label sets are bounded: operation names are client-chosen,
 * so only the first 200 distinct well-formed names get their own series, the rest count as "other".
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly seenNames = new Set<string>();

  readonly operations: Counter<"operation" | "type" | "outcome">;
  readonly operationDuration: Histogram<"operation" | "type" | "outcome">;
  readonly wsConnections: Gauge;
  readonly wsSubscriptions: Gauge;
  /** vigil_leader: 1 while this process runs the once-only jobs (leader election), else 0 */
  readonly leader: Gauge;
  readonly wsSlowConsumersClosed: Counter;
  readonly wsConnectionsRefused: Counter<"limit">;
  /** set by the graphql-ws server: messages queued for its sockets now, and the longest queue of one socket since start */
  wsSendQueues: () => { queued: number; peak: number } = () => ({ queued: 0, peak: 0 });
  /** the Redis event bus (REDIS_URL); the series stay absent when events stay in-process */
  readonly pubsub: PubSubObserver;

  constructor(db: Database) {
    client.collectDefaultMetrics({ register: this.registry, prefix: "vigil_process_" });
    this.operations = new Counter({
      name: "vigil_graphql_operations_total",
      help: "GraphQL operations by operation name, type and outcome",
      labelNames: ["operation", "type", "outcome"],
      registers: [this.registry],
    });
    this.operationDuration = new Histogram({
      name: "vigil_graphql_operation_duration_seconds",
      help: "GraphQL operation duration",
      labelNames: ["operation", "type", "outcome"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.wsConnections = new Gauge({
      name: "vigil_ws_connections",
      help: "Open graphql-ws connections",
      registers: [this.registry],
    });
    this.wsSubscriptions = new Gauge({
      name: "vigil_ws_subscriptions",
      help: "Active graphql-ws subscriptions",
      registers: [this.registry],
    });
    this.leader = new Gauge({
      name: "vigil_leader",
      help: "1 while this process is the leader that runs the once-only jobs (rule evaluation, notification delivery, registry sweep, retention), else 0",
      registers: [this.registry],
    });
    const published = new Counter({
      name: "vigil_pubsub_events_published_total",
      help: "Events published to Redis (REDIS_URL), by topic",
      labelNames: ["topic"],
      registers: [this.registry],
    });
    const dropped = new Counter({
      name: "vigil_pubsub_events_dropped_total",
      help: "Events that could not be published to Redis (down or failing) and did not reach other processes, by topic",
      labelNames: ["topic"],
      registers: [this.registry],
    });
    const received = new Counter({
      name: "vigil_pubsub_events_received_total",
      help: "Events received from Redis, by topic",
      labelNames: ["topic"],
      registers: [this.registry],
    });
    const redisUp = new Gauge({
      name: "vigil_pubsub_redis_up",
      help: "1 while the Redis connection (publisher or subscriber) is ready, else 0",
      labelNames: ["role"],
      registers: [this.registry],
    });
    this.pubsub = {
      published: (topic) => published.inc({ topic }),
      dropped: (topic) => dropped.inc({ topic }),
      received: (topic) => received.inc({ topic }),
      connection: (role, up) => redisUp.set({ role }, up ? 1 : 0),
    };
    this.wsSlowConsumersClosed = new Counter({
      name: "vigil_ws_slow_consumers_closed_total",
      help: "graphql-ws sockets closed because they fell more than WS_MAX_QUEUED_MESSAGES messages behind",
      registers: [this.registry],
    });
    this.wsConnectionsRefused = new Counter({
      name: "vigil_ws_connections_refused_total",
      help: "graphql-ws connections closed with 4429 by a per-key or per-tenant connection limit",
      labelNames: ["limit"],
      registers: [this.registry],
    });
    const wsQueues = () => this.wsSendQueues();
    new Gauge({
      name: "vigil_ws_queued_messages",
      help: "Subscription messages taken for graphql-ws sockets and not yet written to them",
      registers: [this.registry],
      collect() {
        this.set(wsQueues().queued);
      },
    });
    new Gauge({
      name: "vigil_ws_queued_messages_peak",
      help: "The longest send queue of one graphql-ws socket since the process started (at most WS_MAX_QUEUED_MESSAGES)",
      registers: [this.registry],
      collect() {
        this.set(wsQueues().peak);
      },
    });
    new Gauge({
      name: "vigil_db_pool_connections",
      help: "Database pool connections by state (PostgreSQL); the embedded database has none",
      labelNames: ["state"],
      registers: [this.registry],
      collect() {
        const stats = db.poolStats();
        if (!stats) return;
        this.set({ state: "total" }, stats.total);
        this.set({ state: "idle" }, stats.idle);
        this.set({ state: "waiting_clients" }, stats.waiting);
      },
    });
    new Gauge({
      name: "vigil_db_embedded_queue_depth",
      help: "Units of work waiting for or holding the embedded database (always 0 on PostgreSQL)",
      registers: [this.registry],
      collect() {
        this.set(db.queueDepth);
      },
    });
  }

  operationLabel(name: string | null | undefined): string {
    if (!name) return "anonymous";
    if (!NAME_RE.test(name)) return "other";
    if (this.seenNames.has(name)) return name;
    if (this.seenNames.size >= MAX_OPERATION_NAMES) return "other";
    this.seenNames.add(name);
    return name;
  }

  observeOperation(name: string | null | undefined, type: string, outcome: "success" | "error", seconds: number): void {
    const labels = { operation: this.operationLabel(name), type, outcome };
    this.operations.inc(labels);
    this.operationDuration.observe(labels, seconds);
  }
}
