import type { BreakerPolicy, BreakerState } from "./engine";

/** The registry's vocabulary, shared by the domain and the GraphQL enums. */

export enum ServiceType {
  API_GATEWAY = "API_GATEWAY",
  AUTHENTICATION = "AUTHENTICATION",
  USER_MANAGEMENT = "USER_MANAGEMENT",
  MARKET_DATA = "MARKET_DATA",
  TRADING = "TRADING",
  ANALYTICS = "ANALYTICS",
  NOTIFICATIONS = "NOTIFICATIONS",
  PAYMENTS = "PAYMENTS",
  BLOCKCHAIN = "BLOCKCHAIN",
  ML_ENGINE = "ML_ENGINE",
  CACHING = "CACHING",
  MONITORING = "MONITORING",
  OTHER = "OTHER",
}

export enum LoadBalancingStrategy {
  ROUND_ROBIN = "ROUND_ROBIN",
  LEAST_CONNECTIONS = "LEAST_CONNECTIONS",
  WEIGHTED = "WEIGHTED",
  RANDOM = "RANDOM",
  CONSISTENT_HASH = "CONSISTENT_HASH",
  POWER_OF_TWO = "POWER_OF_TWO",
}

export enum InstanceHealth {
  PASSING = "PASSING",
  WARNING = "WARNING",
  CRITICAL = "CRITICAL",
}

export enum CircuitState {
  CLOSED = "CLOSED",
  OPEN = "OPEN",
  HALF_OPEN = "HALF_OPEN",
}

export interface HealthCheck {
  url: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  successesBeforePassing: number;
  failuresBeforeCritical: number;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** A service's policy with every default applied: what the API returns and the engines use. */
export interface EffectivePolicy {
  strategy: LoadBalancingStrategy;
  circuitBreaker: BreakerPolicy;
  retry: RetryPolicy;
  timeoutMs: number | null;
  panicThresholdPercent: number;
}

/** What services.policy stores: only the fields configureService set. */
export interface StoredPolicy {
  strategy?: LoadBalancingStrategy;
  circuitBreaker?: Partial<BreakerPolicy>;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  panicThresholdPercent?: number;
}

/** A service as the domain hands it out. `tenantId` never reaches the schema. */
export interface ServiceRecord {
  tenantId: string;
  id: string;
  name: string;
  type: ServiceType;
  policy: EffectivePolicy;
  /** declared dependencies, by name, as configured (they need not exist) */
  dependencies: string[];
  createdAt: number;
  updatedAt: number;
}

/**
 * An instance as the domain hands it out, and as events carry it: plain JSON (times in epoch ms),
 * so a payload can cross a process boundary later unchanged.
 */
export interface InstanceRecord {
  tenantId: string;
  /** the row's uuid */
  id: string;
  serviceId: string;
  serviceName: string;
  /** the caller's name for the instance, unique in the tenant */
  instanceId: string;
  host: string;
  port: number;
  version: string | null;
  zone: string | null;
  weight: number;
  tags: string[];
  metadata: Record<string, unknown>;
  ttlSeconds: number;
  healthCheck: HealthCheck | null;
  health: InstanceHealth;
  healthReason: string | null;
  healthChangedAt: number;
  criticalSince: number | null;
  /** as seen at `readAt`: OPEN reads HALF_OPEN once its wait is over */
  circuit: CircuitState;
  breaker: BreakerState;
  activeRequests: number;
  registeredAt: number;
  lastHeartbeatAt: number | null;
}

export interface CallStatsRecord {
  calls: number;
  /** errors / calls in [0, 1]; 0 with no calls */
  errorRate: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

export interface ServiceEdgeRecord {
  from: string;
  to: string;
  calls: number;
  errorRate: number;
  p95Ms: number | null;
}

export interface HealthEventPayload {
  instance: InstanceRecord;
  previous: InstanceHealth | null;
  health: InstanceHealth;
  reason: string | null;
  /** ISO-8601 */
  at: string;
}

export interface CircuitEventPayload {
  instance: InstanceRecord;
  previous: CircuitState | null;
  state: CircuitState;
  reason: string | null;
  /** ISO-8601 */
  at: string;
}
