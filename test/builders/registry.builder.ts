import type { TestServer } from "../support/server";
import { type GqlResponse, gql, gqlOk } from "../support/gql";

export const INSTANCE_FIELDS = `id instanceId host port version zone weight tags metadata health healthReason circuit activeRequests registeredAt lastHeartbeatAt`;

export const REGISTER = `mutation($input: RegisterInstanceInput!) { registerInstance(input: $input) { ${INSTANCE_FIELDS} service { id name type } } }`;
export const HEARTBEAT = `mutation($id: String!, $health: InstanceHealth, $note: String) { heartbeat(instanceId: $id, health: $health, note: $note) { ${INSTANCE_FIELDS} } }`;
export const DEREGISTER = `mutation($id: String!) { deregisterInstance(instanceId: $id) }`;
export const CONFIGURE = `mutation($name: String!, $policy: ServicePolicyInput!) { configureService(name: $name, policy: $policy) {
  id name type dependencies { name }
  policy { strategy timeoutMs panicThresholdPercent
    circuitBreaker { failureRateThreshold slowCallDurationMs slowCallRateThreshold windowSize minimumCalls openStateSeconds halfOpenCalls }
    retry { maxAttempts baseDelayMs maxDelayMs } } } }`;
export const REPORT = `mutation($input: CallReportInput!) { reportCall(input: $input) { ${INSTANCE_FIELDS} } }`;
export const PICK = `query($service: String!, $strategy: LoadBalancingStrategy, $hashKey: String) {
  pickInstance(service: $service, strategy: $strategy, hashKey: $hashKey) { id instanceId health circuit activeRequests } }`;
export const SERVICE = `query($name: String!, $health: [InstanceHealth!]) { service(name: $name) {
  id name type stats { calls errorRate p50Ms p95Ms p99Ms }
  instances(health: $health) { ${INSTANCE_FIELDS} stats { calls errorRate p50Ms p95Ms p99Ms } healthHistory { previous health reason at } } } }`;
export const SERVICES = `{ services { id name type } }`;
export const GRAPH = `{ serviceGraph { nodes { name } edges { from to calls errorRate p95Ms } } }`;
export const HEALTH_SUB = `subscription($service: String) { serviceHealthChanged(service: $service) {
  previous health reason at instance { instanceId health healthReason service { name } } } }`;
export const CIRCUIT_SUB = `subscription($service: String) { circuitStateChanged(service: $service) {
  previous state reason at instance { instanceId circuit service { name } } } }`;

export interface InstanceIn {
  service: string;
  host?: string;
  port?: number;
  instanceId?: string;
  [k: string]: unknown;
}

export function register(s: TestServer, key: string, input: InstanceIn): Promise<GqlResponse> {
  return gql(s.url, key, REGISTER, { input: { host: "10.0.0.1", port: 8080, ...input } });
}

export async function registerOk(s: TestServer, key: string, input: InstanceIn): Promise<any> {
  return (await gqlOk(s.url, key, REGISTER, { input: { host: "10.0.0.1", port: 8080, ...input } })).registerInstance;
}

export async function reportOk(s: TestServer, key: string, input: Record<string, unknown>): Promise<any> {
  return (await gqlOk(s.url, key, REPORT, { input })).reportCall;
}

export async function serviceOk(s: TestServer, key: string, name: string, health?: string[]): Promise<any> {
  return (await gqlOk(s.url, key, SERVICE, { name, health })).service;
}

/** Registry rows of a tenant, by table, read straight from the database. */
export async function registryRows(s: TestServer, tenantId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ["services", "service_instances", "instance_health_events", "service_calls"]) {
    const [{ n }] = await s.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [tenantId]);
    out[table] = n;
  }
  return out;
}
