import client, { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Database } from "../db/database";

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
