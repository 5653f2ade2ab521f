import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import type { CallStatsRecord, CircuitEventPayload, HealthEventPayload, InstanceRecord, ServiceEdgeRecord, ServiceRecord } from "../domain/registry";
import { CircuitState, InstanceHealth, LoadBalancingStrategy, ServiceType } from "./enums";
import { DateTimeScalar, JSONObjectScalar } from "./scalars";

@ObjectType()
export class CircuitBreakerPolicy {
  @Field(() => Float, { description: "percent of failed calls in the window that opens the circuit" })
  failureRateThreshold!: number;

  @Field(() => Int, { nullable: true, description: "a call slower than this (strictly) is slow" })
  slowCallDurationMs!: number | null;

  @Field(() => Float, { nullable: true, description: "percent of slow calls in the window that opens the circuit" })
  slowCallRateThreshold!: number | null;

  @Field(() => Int, { description: "the last N reported calls form the window" })
  windowSize!: number;

  @Field(() => Int, { description: "no verdict before this many calls are in the window" })
  minimumCalls!: number;

  @Field(() => Int)
  openStateSeconds!: number;

  @Field(() => Int, { description: "trial calls let through in HALF_OPEN" })
  halfOpenCalls!: number;
}

@ObjectType({ description: "stored and returned for clients to apply; Vigil does not proxy calls" })
export class RetryPolicy {
  @Field(() => Int)
  maxAttempts!: number;

  @Field(() => Int)
  baseDelayMs!: number;

  @Field(() => Int)
  maxDelayMs!: number;
}

@ObjectType()
export class ServicePolicy {
  @Field(() => LoadBalancingStrategy)
  strategy!: LoadBalancingStrategy;

  @Field(() => CircuitBreakerPolicy)
  circuitBreaker!: CircuitBreakerPolicy;

  @Field(() => RetryPolicy)
  retry!: RetryPolicy;

  @Field(() => Int, { nullable: true, description: "stored and returned for clients to apply" })
  timeoutMs!: number | null;

  @Field(() => Float, { description: "Envoy's panic threshold, percent of healthy instances (0: never panic)" })
  panicThresholdPercent!: number;
}

@ObjectType({ description: "over the calls reported in the last REGISTRY_STATS_WINDOW_SECONDS (default 900); percentiles interpolated (percentile_cont)" })
export class CallStats {
  @Field(() => Int)
  calls!: number;

  @Field(() => Float, { description: "failed calls / calls, 0 with no calls" })
  errorRate!: number;

  @Field(() => Float, { nullable: true })
  p50Ms!: number | null;

  @Field(() => Float, { nullable: true })
  p95Ms!: number | null;

  @Field(() => Float, { nullable: true })
  p99Ms!: number | null;

  static from(s: CallStatsRecord): CallStats {
    return Object.assign(new CallStats(), s);
  }
}

@ObjectType()
export class ServiceInstance {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  instanceId!: string;

  @Field(() => String)
  host!: string;

  @Field(() => Int)
  port!: number;

  @Field(() => String, { nullable: true })
  version!: string | null;

  @Field(() => String, { nullable: true })
  zone!: string | null;

  @Field(() => Int)
  weight!: number;

  @Field(() => [String])
  tags!: string[];

  @Field(() => JSONObjectScalar)
  metadata!: Record<string, unknown>;

  @Field(() => InstanceHealth)
  health!: InstanceHealth;

  @Field(() => String, { nullable: true, description: "why the instance has its health: missed heartbeats, a failing check, a heartbeat's note" })
  healthReason!: string | null;

  @Field(() => CircuitState, { description: "OPEN reads HALF_OPEN once its wait is over" })
  circuit!: CircuitState;

  @Field(() => Int, { description: "picked and not yet reported, across every Vigil process" })
  activeRequests!: number;

  @Field(() => DateTimeScalar)
  registeredAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: "the last heartbeat or (re-)registration" })
  lastHeartbeatAt!: Date | null;

  /** the domain record, for field resolvers; not a GraphQL field */
  record!: InstanceRecord;

  static from(r: InstanceRecord): ServiceInstance {
    return Object.assign(new ServiceInstance(), {
      id: r.id,
      instanceId: r.instanceId,
      host: r.host,
      port: r.port,
      version: r.version,
      zone: r.zone,
      weight: r.weight,
      tags: r.tags,
      metadata: r.metadata,
      health: r.health,
      healthReason: r.healthReason,
      circuit: r.circuit,
      activeRequests: r.activeRequests,
      registeredAt: new Date(r.registeredAt),
      lastHeartbeatAt: r.lastHeartbeatAt === null ? null : new Date(r.lastHeartbeatAt),
      record: r,
    });
  }
}

@ObjectType()
export class Service {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => ServiceType)
  type!: ServiceType;

  @Field(() => ServicePolicy)
  policy!: ServicePolicy;

  /** the domain record, for field resolvers; not a GraphQL field */
  record!: ServiceRecord;

  static from(r: ServiceRecord): Service {
    return Object.assign(new Service(), {
      id: r.id,
      name: r.name,
      type: r.type,
      policy: Object.assign(new ServicePolicy(), {
        ...r.policy,
        circuitBreaker: Object.assign(new CircuitBreakerPolicy(), r.policy.circuitBreaker),
        retry: Object.assign(new RetryPolicy(), r.policy.retry),
      }),
      record: r,
    });
  }
}

@ObjectType({ description: "calls observed from `from` (the reported caller) to `to` over the stats window" })
export class ServiceEdge {
  @Field(() => String)
  from!: string;

  @Field(() => String)
  to!: string;

  @Field(() => Int)
  calls!: number;

  @Field(() => Float)
  errorRate!: number;

  @Field(() => Float, { nullable: true })
  p95Ms!: number | null;

  static from(e: ServiceEdgeRecord): ServiceEdge {
    return Object.assign(new ServiceEdge(), e);
  }
}

@ObjectType({ description: "nodes: every service; edges: observed calls. Declared dependencies are Service.dependencies" })
export class ServiceGraph {
  @Field(() => [Service])
  nodes!: Service[];

  @Field(() => [ServiceEdge])
  edges!: ServiceEdge[];
}

@ObjectType()
export class HealthEvent {
  @Field(() => ServiceInstance, { description: "the instance as it was right after the change" })
  instance!: ServiceInstance;

  @Field(() => InstanceHealth, { nullable: true, description: "null for a new registration" })
  previous!: InstanceHealth | null;

  @Field(() => InstanceHealth)
  health!: InstanceHealth;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field(() => DateTimeScalar)
  at!: Date;

  static from(p: HealthEventPayload): HealthEvent {
    return Object.assign(new HealthEvent(), { ...p, instance: ServiceInstance.from(p.instance), at: new Date(p.at) });
  }
}

@ObjectType()
export class CircuitEvent {
  @Field(() => ServiceInstance, { description: "the instance as it was right after the change" })
  instance!: ServiceInstance;

  @Field(() => CircuitState, { nullable: true })
  previous!: CircuitState | null;

  @Field(() => CircuitState)
  state!: CircuitState;

  @Field(() => String, { nullable: true, description: "why, e.g. `failure rate 60 % ≥ 50 % over the last 10 calls`" })
  reason!: string | null;

  @Field(() => DateTimeScalar)
  at!: Date;

  static from(p: CircuitEventPayload): CircuitEvent {
    return Object.assign(new CircuitEvent(), { ...p, instance: ServiceInstance.from(p.instance), at: new Date(p.at) });
  }
}
