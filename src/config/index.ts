import { z } from "zod";

/**
 * The only reader of process.env. Every variable is parsed once at start; a wrong value stops the
 * process with one message that names every offending variable.
 */

const boolean = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no", "on", "off"], {
      error: "must be one of true, false, 1, 0, yes, no, on, off",
    })
    .optional()
    .transform((v) => (v === undefined ? fallback : ["true", "1", "yes", "on"].includes(v)));

const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `must be an integer from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

const envSchema = z.object({
  PORT: integer(4000, 0, 65535),
  HOST: z.string().min(1).optional().default("0.0.0.0"),
  DATABASE_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === "" || /^postgres(ql)?:\/\//.test(v), {
      message: "must be a postgres:// or postgresql:// URL",
    })
    .transform((v) => (v ? v : undefined)),
  DATABASE_POOL_SIZE: integer(10, 1, 200),
  DATA_DIR: z.string().min(1).optional().default("./data"),
  VIGIL_ADMIN_KEY: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === "" || v.length >= 32, {
      message: "must be at least 32 characters (use `openssl rand -hex 24`)",
    })
    .transform((v) => (v ? v : undefined)),
  AUTH_CACHE_MS: integer(1_000, 0, 60_000),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      error: "must be one of fatal, error, warn, info, debug, trace, silent",
    })
    .optional()
    .default("info"),
  INTROSPECTION: boolean(true),
  MAX_BODY_BYTES: integer(8 * 1024 * 1024, 1024, 256 * 1024 * 1024),
  MAX_QUERY_DEPTH: integer(12, 2, 100),
  MAX_ALIASES: integer(30, 1, 1000),
  SHUTDOWN_GRACE_MS: integer(10_000, 0, 300_000),
  WS_INIT_TIMEOUT_MS: integer(3_000, 100, 60_000),
  WS_KEEPALIVE_MS: integer(12_000, 0, 600_000),
  WS_MAX_CONNECTIONS_PER_KEY: integer(1_000, 1, 1_000_000),
  WS_MAX_CONNECTIONS_PER_TENANT: integer(10_000, 1, 1_000_000),
  WS_MAX_QUEUED_MESSAGES: integer(1_000, 1, 1_000_000),
  REDIS_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === "" || /^rediss?:\/\//.test(v), { message: "must be a redis:// or rediss:// URL" })
    .transform((v) => (v ? v : undefined)),
  REDIS_CHANNEL_PREFIX: z.string().optional().default("vigil:"),
  LEADER_RETRY_MS: integer(1_000, 100, 60_000),
  LEADER_CHECK_MS: integer(1_000, 100, 60_000),
  LEADER_LOCK_KEY: integer(7_482_115, 1, 2_147_483_647),
  ROLLUP_INTERVAL_MS: integer(5_000, 100, 600_000),
  RETENTION_INTERVAL_MS: integer(3_600_000, 1_000, 86_400_000),
  SERIES_CACHE_SIZE: integer(100_000, 1, 10_000_000),
  REGISTRY_SWEEP_INTERVAL_MS: integer(1_000, 100, 3_600_000),
  RULES_TICK_MS: integer(1_000, 100, 3_600_000),
  REGISTRY_DEREGISTER_AFTER_SECONDS: integer(300, 60, 7 * 86_400),
  REGISTRY_CHECK_CONCURRENCY: integer(16, 1, 1_000),
  REGISTRY_CALL_HISTORY_SECONDS: integer(3_600, 60, 30 * 86_400),
  REGISTRY_STATS_WINDOW_SECONDS: integer(900, 10, 30 * 86_400),
  REGISTRY_METRICS_FLUSH_MS: integer(10_000, 100, 3_600_000),
  REGISTRY_PICK_REFRESH_MS: integer(1_000, 10, 600_000),
  REGISTRY_PICK_CACHE_INSTANCES: integer(100_000, 100, 10_000_000),
  ANOMALY_CHECKPOINT_INTERVAL_MS: integer(60_000, 1_000, 3_600_000),
  ANOMALY_DETECTOR_CACHE_SIZE: integer(100_000, 100, 10_000_000),
  ANOMALY_WARMUP_SAMPLES: integer(2_000, 0, 100_000),
  ANOMALY_MAX_QUEUED_POINTS: integer(200_000, 10_000, 100_000_000),
  PUBLIC_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === "" || isHttpUrl(v), { message: "must be an absolute http:// or https:// URL" })
    .transform((v) => (v ? v.replace(/\/+$/, "") : undefined)),
  NOTIFY_INTERVAL_MS: integer(1_000, 50, 600_000),
  NOTIFY_TIMEOUT_MS: integer(10_000, 100, 120_000),
  NOTIFY_MAX_ATTEMPTS: integer(10, 1, 100),
  NOTIFY_RETRY_BASE_MS: integer(1_000, 10, 3_600_000),
  NOTIFY_RETRY_MAX_MS: integer(300_000, 10, 86_400_000),
  NOTIFY_CONCURRENCY: integer(16, 1, 1_000),
});

export interface Config {
  port: number;
  host: string;
  database: { kind: "postgres"; url: string; poolSize: number } | { kind: "embedded"; dataDir: string };
  adminKey: string | undefined;
  /** how long an authenticated key's session is reused without a lookup (0: never) */
  authCacheMs: number;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  introspection: boolean;
  limits: { maxBodyBytes: number; maxQueryDepth: number; maxAliases: number };
  shutdownGraceMs: number;
  wsInitTimeoutMs: number;
  ws: WsConfig;
  /** REDIS_URL set: events between processes go through Redis; unset: in-process */
  redis: { url: string; channelPrefix: string } | undefined;
  leader: LeaderConfig;
  metrics: { rollupIntervalMs: number; retentionIntervalMs: number; seriesCacheSize: number };
  registry: RegistryConfig;
  anomalies: AnomalyConfig;
  /** Vigil's external base URL (generatorURL and externalURL in notifications); unset: http://localhost:<port> */
  publicUrl: string | undefined;
  notify: NotifyConfig;
  /** how often the scheduler looks for due rules (each rule runs at its own interval and offset) */
  rules: { tickMs: number };
}

export interface RegistryConfig {
  /** how often the sweep runs: TTL expiry, removal of long-critical instances, due health checks */
  sweepIntervalMs: number;
  /** an instance CRITICAL for longer than this is removed (Consul's deregister_critical_service_after) */
  deregisterAfterSeconds: number;
  /** active health checks in flight at once, per process */
  checkConcurrency: number;
  /** reported calls older than this are pruned */
  callHistorySeconds: number;
  /** CallStats and serviceGraph cover the calls of this last window */
  statsWindowSeconds: number;
  /** how often call metrics are written as metric series */
  metricsFlushMs: number;
  /** a cached pick snapshot older than this is reloaded in the background (other processes' active requests) */
  pickRefreshMs: number;
  /** instances kept in the pick snapshots, over all services (LRU by service) */
  pickCacheInstances: number;
}

/** WebSocket (graphql-ws) limits, per process. */
export interface WsConfig {
  /** ping every this many ms; a socket that has not answered the previous ping is terminated (0: off) */
  keepAliveMs: number;
  /** open sockets per API key; the next one is closed with 4429 */
  maxConnectionsPerKey: number;
  /** open sockets per tenant; the next one is closed with 4429 */
  maxConnectionsPerTenant: number;
  /** messages waiting to be written to one socket beyond which it is closed as a slow consumer */
  maxQueuedMessages: number;
}

/** Leader election for the jobs that must run once (PostgreSQL advisory lock on its own connection). */
export interface LeaderConfig {
  /** a follower tries to take the lock this often */
  retryMs: number;
  /** the leader checks its lock connection this often, and steps down when it fails */
  checkMs: number;
  /** the advisory lock's key: processes with the same key on the same database elect one leader */
  lockKey: number;
}

/** The notification outbox worker (src/domain/notify). */
export interface NotifyConfig {
  /** how often each process claims due deliveries */
  intervalMs: number;
  /** one attempt: connect, request and response */
  timeoutMs: number;
  /** attempts in all before a delivery is FAILED */
  maxAttempts: number;
  /** exponential backoff with full jitter: base and cap of the wait between attempts */
  retryBaseMs: number;
  retryMaxMs: number;
  /** attempts in flight at once, per process */
  concurrency: number;
}

/** The anomaly engine (src/domain/anomalies/engine.ts). */
export interface AnomalyConfig {
  /** how often detectors that learned since their last checkpoint are written */
  checkpointIntervalMs: number;
  /** live (series, algorithm) detectors kept in memory per process */
  detectorCacheSize: number;
  /** stored samples a new or restored detector learns from before it scores (and anomalyScores before `from`) */
  warmupSamples: number;
  /** points waiting to be scored beyond which ingest calls wait (backpressure) */
  maxQueuedPoints: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    database: e.DATABASE_URL
      ? { kind: "postgres", url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE }
      : { kind: "embedded", dataDir: e.DATA_DIR },
    adminKey: e.VIGIL_ADMIN_KEY,
    authCacheMs: e.AUTH_CACHE_MS,
    logLevel: e.LOG_LEVEL,
    introspection: e.INTROSPECTION,
    limits: { maxBodyBytes: e.MAX_BODY_BYTES, maxQueryDepth: e.MAX_QUERY_DEPTH, maxAliases: e.MAX_ALIASES },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    wsInitTimeoutMs: e.WS_INIT_TIMEOUT_MS,
    ws: {
      keepAliveMs: e.WS_KEEPALIVE_MS,
      maxConnectionsPerKey: e.WS_MAX_CONNECTIONS_PER_KEY,
      maxConnectionsPerTenant: e.WS_MAX_CONNECTIONS_PER_TENANT,
      maxQueuedMessages: e.WS_MAX_QUEUED_MESSAGES,
    },
    redis: e.REDIS_URL ? { url: e.REDIS_URL, channelPrefix: e.REDIS_CHANNEL_PREFIX } : undefined,
    leader: { retryMs: e.LEADER_RETRY_MS, checkMs: e.LEADER_CHECK_MS, lockKey: e.LEADER_LOCK_KEY },
    metrics: {
      rollupIntervalMs: e.ROLLUP_INTERVAL_MS,
      retentionIntervalMs: e.RETENTION_INTERVAL_MS,
      seriesCacheSize: e.SERIES_CACHE_SIZE,
    },
    rules: { tickMs: e.RULES_TICK_MS },
    publicUrl: e.PUBLIC_URL,
    notify: {
      intervalMs: e.NOTIFY_INTERVAL_MS,
      timeoutMs: e.NOTIFY_TIMEOUT_MS,
      maxAttempts: e.NOTIFY_MAX_ATTEMPTS,
      retryBaseMs: e.NOTIFY_RETRY_BASE_MS,
      retryMaxMs: Math.max(e.NOTIFY_RETRY_MAX_MS, e.NOTIFY_RETRY_BASE_MS),
      concurrency: e.NOTIFY_CONCURRENCY,
    },
    anomalies: {
      checkpointIntervalMs: e.ANOMALY_CHECKPOINT_INTERVAL_MS,
      detectorCacheSize: e.ANOMALY_DETECTOR_CACHE_SIZE,
      warmupSamples: e.ANOMALY_WARMUP_SAMPLES,
      maxQueuedPoints: e.ANOMALY_MAX_QUEUED_POINTS,
    },
    registry: {
      sweepIntervalMs: e.REGISTRY_SWEEP_INTERVAL_MS,
      deregisterAfterSeconds: e.REGISTRY_DEREGISTER_AFTER_SECONDS,
      checkConcurrency: e.REGISTRY_CHECK_CONCURRENCY,
      callHistorySeconds: e.REGISTRY_CALL_HISTORY_SECONDS,
      statsWindowSeconds: e.REGISTRY_STATS_WINDOW_SECONDS,
      metricsFlushMs: e.REGISTRY_METRICS_FLUSH_MS,
      pickRefreshMs: e.REGISTRY_PICK_REFRESH_MS,
      pickCacheInstances: e.REGISTRY_PICK_CACHE_INSTANCES,
    },
  };
}
