import { Field, Float, InputType, Int } from "type-graphql";
import { LoadBalancingStrategy, ServiceType } from "./enums";
import { JSONObjectScalar } from "./scalars";

/**
 * The registry's inputs. Their rules are checked in the domain (src/domain/registry/validation.ts
 * and policy.ts), in plain code: registrations and call reports are a hot path, and the same rules
 * serve in-process callers. The descriptions state them.
 */

@InputType({ description: "an active HTTP check: GET url every intervalSeconds; its host must be the instance's host" })
export class HealthCheckInput {
  @Field(() => String, { description: "http:// or https://; redirects are not followed" })
  url!: string;

  @Field(() => Int, { nullable: true, description: "1–3600, default 10" })
  intervalSeconds?: number | null;

  @Field(() => Int, { nullable: true, description: "1–60 and at most intervalSeconds, default 2 (or intervalSeconds if smaller)" })
  timeoutSeconds?: number | null;

  @Field(() => Int, { nullable: true, description: "consecutive passing checks before the instance becomes PASSING: 1–100, default 1" })
  successesBeforePassing?: number | null;

  @Field(() => Int, { nullable: true, description: "consecutive failing checks before the instance becomes CRITICAL: 1–100, default 1" })
  failuresBeforeCritical?: number | null;
}

@InputType()
export class RegisterInstanceInput {
  @Field(() => String, { description: "1–128 letters, digits, '_', '.', '-', starting with a letter or digit; created on first registration" })
  service!: string;

  @Field(() => ServiceType, { nullable: true, description: "set on the service when given; a new service without it is OTHER" })
  type?: ServiceType | null;

  @Field(() => String, { nullable: true, description: "stable id chosen by the caller; registering the same id again updates it" })
  instanceId?: string | null;

  @Field(() => String)
  host!: string;

  @Field(() => Int, { description: "1–65535" })
  port!: number;

  @Field(() => String, { nullable: true })
  version?: string | null;

  @Field(() => String, { nullable: true })
  zone?: string | null;

  @Field(() => Int, { nullable: true, description: "0–1000, default 1; 0 is never picked" })
  weight?: number | null;

  @Field(() => [String], { nullable: true, description: "at most 32, each 1–100 characters" })
  tags?: string[] | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: "a flat object of string, number or boolean values, at most 64 keys" })
  metadata?: Record<string, unknown> | null;

  @Field(() => Int, { nullable: true, description: "1–86400, default 30: without a heartbeat for this long the instance becomes CRITICAL (not enforced when healthCheck is given)" })
  ttlSeconds?: number | null;

  @Field(() => HealthCheckInput, { nullable: true })
  healthCheck?: HealthCheckInput | null;
}

@InputType({ description: "omitted fields keep their value; null resets a field to its default" })
export class CircuitBreakerInput {
  @Field(() => Float, { nullable: true, description: "percent, more than 0 and at most 100; default 50" })
  failureRateThreshold?: number | null;

  @Field(() => Int, { nullable: true, description: "1–86400000, default 60000" })
  slowCallDurationMs?: number | null;

  @Field(() => Float, { nullable: true, description: "percent, more than 0 and at most 100; default 100" })
  slowCallRateThreshold?: number | null;

  @Field(() => Int, { nullable: true, description: "1–10000, default 100" })
  windowSize?: number | null;

  @Field(() => Int, { nullable: true, description: "1–10000, default 100 (capped at windowSize)" })
  minimumCalls?: number | null;

  @Field(() => Int, { nullable: true, description: "1–86400, default 60" })
  openStateSeconds?: number | null;

  @Field(() => Int, { nullable: true, description: "1–1000, default 10" })
  halfOpenCalls?: number | null;
}

@InputType({ description: "omitted fields keep their value; null resets a field to its default" })
export class RetryPolicyInput {
  @Field(() => Int, { nullable: true, description: "1–10, default 3" })
  maxAttempts?: number | null;

  @Field(() => Int, { nullable: true, description: "0–3600000, at most maxDelayMs; default 100" })
  baseDelayMs?: number | null;

  @Field(() => Int, { nullable: true, description: "0–3600000, default 2000" })
  maxDelayMs?: number | null;
}

@InputType({ description: "merged over the stored policy: omitted fields keep their value, null resets a field to its default" })
export class ServicePolicyInput {
  @Field(() => LoadBalancingStrategy, { nullable: true, description: "default ROUND_ROBIN" })
  strategy?: LoadBalancingStrategy | null;

  @Field(() => CircuitBreakerInput, { nullable: true })
  circuitBreaker?: CircuitBreakerInput | null;

  @Field(() => RetryPolicyInput, { nullable: true })
  retry?: RetryPolicyInput | null;

  @Field(() => Int, { nullable: true, description: "1–600000; no default" })
  timeoutMs?: number | null;

  @Field(() => [String], { nullable: true, description: "names of services this one calls (they need not exist yet); at most 100" })
  dependencies?: string[] | null;

  @Field(() => Float, {
    nullable: true,
    description: "Envoy's panic threshold: below this percent of healthy instances, pickInstance spreads over all instances whose circuit admits calls. 0–100, default 50; 0 disables",
  })
  panicThresholdPercent?: number | null;
}

@InputType()
export class CallReportInput {
  @Field(() => String)
  instanceId!: string;

  @Field(() => Float, { description: "0–86400000" })
  durationMs!: number;

  @Field(() => Boolean)
  success!: boolean;

  @Field(() => Int, { nullable: true, description: "100–599" })
  statusCode?: number | null;

  @Field(() => String, { nullable: true, description: "the calling service's name: an edge caller → service in serviceGraph" })
  caller?: string | null;
}
