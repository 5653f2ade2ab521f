import { BadUserInputError } from "../../errors";
import { type HealthCheck, InstanceHealth, ServiceType } from "./types";

/**
 * Input rules of the registry's mutations, in plain code: registrations, heartbeats and call
 * reports are the registry's hot path, and the domain is also driven in-process (benchmarks), so
 * the rules live here once. Every problem is BAD_USER_INPUT naming the argument path; callers
 * validate before writing anything.
 */

export const SERVICE_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
/** printable ASCII without spaces, as in a URL path segment or a Consul service id */
const INSTANCE_ID_RE = /^[\x21-\x7e]{1,200}$/;
/** host names and IPv4/IPv6 literals (without brackets), with an optional IPv6 zone */
const HOST_RE = /^[A-Za-z0-9._:%-]{1,253}$/;

export const DEFAULTS = {
  weight: 1,
  ttlSeconds: 30,
  intervalSeconds: 10,
  timeoutSeconds: 2,
  successesBeforePassing: 1,
  failuresBeforeCritical: 1,
} as const;

export const LIMITS = {
  tags: 32,
  tagLength: 100,
  metadataKeys: 64,
  metadataKeyLength: 100,
  metadataValueLength: 1024,
  textLength: 128,
  noteLength: 1024,
  maxDurationMs: 86_400_000,
  hashKeyLength: 1024,
} as const;

export interface HealthCheckInput {
  url: string;
  intervalSeconds?: number | null;
  timeoutSeconds?: number | null;
  successesBeforePassing?: number | null;
  failuresBeforeCritical?: number | null;
}

export interface RegisterInstanceInput {
  service: string;
  type?: ServiceType | null;
  instanceId?: string | null;
  host: string;
  port: number;
  version?: string | null;
  zone?: string | null;
  weight?: number | null;
  tags?: readonly string[] | null;
  metadata?: Record<string, unknown> | null;
  ttlSeconds?: number | null;
  healthCheck?: HealthCheckInput | null;
}

export interface Registration {
  service: string;
  /** null: keep the service's type (OTHER for a new service) */
  type: ServiceType | null;
  /** null: generate one */
  instanceId: string | null;
  host: string;
  port: number;
  version: string | null;
  zone: string | null;
  weight: number;
  tags: string[];
  metadata: Record<string, string | number | boolean>;
  ttlSeconds: number;
  healthCheck: HealthCheck | null;
}

export interface CallReportInput {
  instanceId: string;
  durationMs: number;
  success: boolean;
  statusCode?: number | null;
  caller?: string | null;
}

export function serviceNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || !SERVICE_NAME_RE.test(name)) {
    return "must be 1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit";
  }
  return undefined;
}

export function checkServiceName(field: string, name: unknown): string {
  const problem = serviceNameProblem(name);
  if (problem) throw new BadUserInputError(field, problem);
  return name as string;
}

export function checkInstanceId(field: string, id: unknown): string {
  if (typeof id !== "string" || !INSTANCE_ID_RE.test(id)) {
    throw new BadUserInputError(field, "must be 1 to 200 printable ASCII characters without spaces");
  }
  return id;
}

function int(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new BadUserInputError(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function optionalText(field: string, value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string" || value.length > max) throw new BadUserInputError(field, `must be at most ${max} characters`);
  return value;
}

/** The host part of a URL as comparable with a registered host: lower case, IPv6 brackets off. */
function bareHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
}

function checkHealthCheck(hc: HealthCheckInput, host: string): HealthCheck {
  let url: URL;
  try {
    url = new URL(hc.url);
  } catch {
    throw new BadUserInputError("input.healthCheck.url", "must be an absolute http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new BadUserInputError("input.healthCheck.url", `must use http or https, not ${url.protocol.replace(/:$/, "")}`);
  }
  if (url.username || url.password) throw new BadUserInputError("input.healthCheck.url", "must not carry credentials");
  if (hc.url.length > 2048) throw new BadUserInputError("input.healthCheck.url", "must be at most 2048 characters");
  // Checks go only where the tenant registered an instance: never to another host of Vigil's network.
  if (bareHost(url.hostname) !== bareHost(host)) {
    throw new BadUserInputError("input.healthCheck.url", `its host must be the instance's host ${JSON.stringify(host)}, not ${JSON.stringify(url.hostname)}`);
  }
  const intervalSeconds = hc.intervalSeconds == null ? DEFAULTS.intervalSeconds : int("input.healthCheck.intervalSeconds", hc.intervalSeconds, 1, 3_600);
  const timeoutSeconds =
    hc.timeoutSeconds == null ? Math.min(DEFAULTS.timeoutSeconds, intervalSeconds) : int("input.healthCheck.timeoutSeconds", hc.timeoutSeconds, 1, 60);
  if (timeoutSeconds > intervalSeconds) {
    throw new BadUserInputError("input.healthCheck.timeoutSeconds", `must not exceed intervalSeconds (${intervalSeconds})`);
  }
  return {
    url: url.href,
    intervalSeconds,
    timeoutSeconds,
    successesBeforePassing:
      hc.successesBeforePassing == null ? DEFAULTS.successesBeforePassing : int("input.healthCheck.successesBeforePassing", hc.successesBeforePassing, 1, 100),
    failuresBeforeCritical:
      hc.failuresBeforeCritical == null ? DEFAULTS.failuresBeforeCritical : int("input.healthCheck.failuresBeforeCritical", hc.failuresBeforeCritical, 1, 100),
  };
}

function checkTags(tags: readonly string[] | null | undefined): string[] {
  if (tags === null || tags === undefined) return [];
  if (!Array.isArray(tags) || tags.length > LIMITS.tags) throw new BadUserInputError("input.tags", `at most ${LIMITS.tags} tags are allowed`);
  tags.forEach((t, i) => {
    if (typeof t !== "string" || t.length === 0 || t.length > LIMITS.tagLength) {
      throw new BadUserInputError(`input.tags[${i}]`, `must be 1 to ${LIMITS.tagLength} characters`);
    }
  });
  return [...new Set(tags)];
}

function checkMetadata(metadata: Record<string, unknown> | null | undefined): Record<string, string | number | boolean> {
  if (metadata === null || metadata === undefined) return {};
  if (typeof metadata !== "object" || Array.isArray(metadata)) throw new BadUserInputError("input.metadata", "must be an object");
  const keys = Object.keys(metadata);
  if (keys.length > LIMITS.metadataKeys) throw new BadUserInputError("input.metadata", `at most ${LIMITS.metadataKeys} keys are allowed, got ${keys.length}`);
  const out: Record<string, string | number | boolean> = {};
  for (const key of keys) {
    const field = `input.metadata.${key.slice(0, LIMITS.metadataKeyLength)}`;
    if (key.length === 0 || key.length > LIMITS.metadataKeyLength) {
      throw new BadUserInputError(field, `keys must be 1 to ${LIMITS.metadataKeyLength} characters`);
    }
    const v = metadata[key];
    if (typeof v === "string") {
      if (v.length > LIMITS.metadataValueLength) throw new BadUserInputError(field, `string values must be at most ${LIMITS.metadataValueLength} characters`);
    } else if (!(typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)))) {
      throw new BadUserInputError(field, "must be a string, a number or a boolean: metadata is a flat object");
    }
    out[key] = v;
  }
  return out;
}

export function validateRegistration(input: RegisterInstanceInput): Registration {
  const service = checkServiceName("input.service", input.service);
  if (input.type != null && !Object.values(ServiceType).includes(input.type)) throw new BadUserInputError("input.type", "unknown service type");
  const instanceId = input.instanceId == null ? null : checkInstanceId("input.instanceId", input.instanceId);
  if (typeof input.host !== "string" || !HOST_RE.test(input.host)) {
    throw new BadUserInputError("input.host", "must be a host name or IP address of 1 to 253 characters (IPv6 without brackets)");
  }
  const port = int("input.port", input.port, 1, 65_535);
  return {
    service,
    type: input.type ?? null,
    instanceId,
    host: input.host,
    port,
    version: optionalText("input.version", input.version, LIMITS.textLength),
    zone: optionalText("input.zone", input.zone, LIMITS.textLength),
    weight: input.weight == null ? DEFAULTS.weight : int("input.weight", input.weight, 0, 1_000),
    tags: checkTags(input.tags),
    metadata: checkMetadata(input.metadata),
    ttlSeconds: input.ttlSeconds == null ? DEFAULTS.ttlSeconds : int("input.ttlSeconds", input.ttlSeconds, 1, 86_400),
    healthCheck: input.healthCheck == null ? null : checkHealthCheck(input.healthCheck, input.host),
  };
}

export function validateHeartbeat(instanceId: string, health: InstanceHealth | null | undefined, note: string | null | undefined): void {
  checkInstanceId("instanceId", instanceId);
  if (health != null && !Object.values(InstanceHealth).includes(health)) throw new BadUserInputError("health", "unknown health");
  optionalText("note", note, LIMITS.noteLength);
}

export function validateCallReport(input: CallReportInput): Required<CallReportInput> {
  checkInstanceId("input.instanceId", input.instanceId);
  const d = input.durationMs;
  if (typeof d !== "number" || !Number.isFinite(d) || d < 0 || d > LIMITS.maxDurationMs) {
    throw new BadUserInputError("input.durationMs", `must be a number from 0 to ${LIMITS.maxDurationMs}`);
  }
  if (typeof input.success !== "boolean") throw new BadUserInputError("input.success", "must be a boolean");
  const statusCode = input.statusCode == null ? null : int("input.statusCode", input.statusCode, 100, 599);
  const caller = input.caller == null ? null : checkServiceName("input.caller", input.caller);
  return { instanceId: input.instanceId, durationMs: d, success: input.success, statusCode, caller };
}
