import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import {
  cpuSecondsOf,
  dataOf,
  graphqlOk,
  type KeepAliveClient,
  postGraphQLBody,
  type BenchDatabase,
  postgresCpuSeconds,
  prepareDatabase,
} from "./support";

/**
 * Helpers of bench/registry.bench.ts that bench/support.ts does not have: its PostgreSQL database,
 * a tenant with registry scopes, GraphQL documents with aliases, timing loops (sequential and with
 * a fixed number of requests in flight) and the CPU seconds of a phase.
 */

/** The registry benchmark's own database: dropped and created empty at the start of each run. */
export const DEFAULT_REGISTRY_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vigil_bench_registry";

// ---------------------------------------------------------------------------------------------
// PostgreSQL

export { connectPg, databaseLine, type BenchDatabase as RegistryDatabase } from "./support";

const SETTINGS = ["shared_buffers", "synchronous_commit", "fsync", "max_connections"];

/** The run's database (see prepareDatabase in support.ts), with the settings that change these figures. */
export function prepareRegistryDatabase(url: string): Promise<BenchDatabase> {
  return prepareDatabase(url, SETTINGS, DEFAULT_REGISTRY_DATABASE_URL);
}

// ---------------------------------------------------------------------------------------------
// A Vigil child with node flags

// ---------------------------------------------------------------------------------------------
// Tenant

export interface RegistryTenant {
  id: string;
  key: string;
}

/** A tenant of its own and a REGISTRY_READ + REGISTRY_WRITE key for it, made with the admin key. */
export async function createRegistryTenant(url: string, adminKey: string): Promise<RegistryTenant> {
  const slug = `bench-reg-${randomBytes(4).toString("hex")}`;
  const created = await graphqlOk(url, adminKey, "mutation($input: CreateTenantInput!) { createTenant(input: $input) { id } }", {
    input: { slug, name: "Benchmark registry" },
  });
  const id = (created.createTenant as { id: string }).id;
  const keyed = await graphqlOk(url, adminKey, "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }", {
    input: { name: "bench:registry", scopes: ["REGISTRY_READ", "REGISTRY_WRITE"], tenantId: id },
  });
  return { id, key: (keyed.createApiKey as { secret: string }).secret };
}

// ---------------------------------------------------------------------------------------------
// Documents

/**
 * One mutation document with `registrations` aliased registerInstance fields (variables r0…) then
 * `heartbeats` aliased heartbeat fields (variables h0…). Mutation fields run one after the other
 * (GraphQL's rule for mutations), each in its own transaction. The text is the same for every
 * request of a variant, so the server parses and validates it once (Apollo's document cache).
 */
export function mixDocument(registrations: number, heartbeats: number): string {
  const vars: string[] = [];
  const fields: string[] = [];
  for (let i = 0; i < registrations; i++) {
    vars.push(`$r${i}: RegisterInstanceInput!`);
    fields.push(`r${i}: registerInstance(input: $r${i}) { instanceId }`);
  }
  for (let i = 0; i < heartbeats; i++) {
    vars.push(`$h${i}: String!`);
    fields.push(`h${i}: heartbeat(instanceId: $h${i}) { instanceId }`);
  }
  return `mutation Mix(${vars.join(", ")}) { ${fields.join(" ")} }`;
}

/** registerInstance aliased `count` times (a0…), for seeding. */
export function registerDocument(count: number): string {
  const vars = Array.from({ length: count }, (_, i) => `$a${i}: RegisterInstanceInput!`);
  const fields = Array.from({ length: count }, (_, i) => `a${i}: registerInstance(input: $a${i}) { instanceId }`);
  return `mutation Register(${vars.join(", ")}) { ${fields.join(" ")} }`;
}

/**
 * POSTs a serialised request and returns its `data`; throws (with the query and the answer) on a
 * transport error, a status other than 200, GraphQL errors, or a field that came back null.
 */
export async function mustPost(url: string, key: string, query: string, body: string, client?: KeepAliveClient): Promise<Record<string, unknown>> {
  const data = dataOf(await (client ? client.post(url, key, body, 30_000) : postGraphQLBody(url, key, body, 30_000)), query);
  for (const [alias, value] of Object.entries(data)) {
    if (value === null) throw new Error(`GraphQL field ${alias} is null: ${query.slice(0, 200)}`);
  }
  return data;
}

// ---------------------------------------------------------------------------------------------
// Timing

/** `warmup` unmeasured calls, then `runs` timed ones (ms each), one at a time. */
export async function sequential(fn: (i: number) => Promise<void>, warmup: number, runs: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn(warmup + i);
    out.push(performance.now() - t);
  }
  return out;
}

export interface LoadFigures {
  /** requests answered */
  requests: number;
  /** operations done (registrations + heartbeats, or SQL statements) */
  ops: number;
  registrations: number;
  heartbeats: number;
  seconds: number;
  /** ms per request, client side */
  latencies: number[];
}

/**
 * `inFlight` loops that each claim the next request index and await `send` until `seconds` have
 * passed (or `maxRequests` were claimed). The time runs from before the first claim until the last
 * answer, so requests in flight at the deadline count, and so does the time they took.
 */
export async function closedLoop(
  inFlight: number,
  seconds: number,
  maxRequests: number,
  send: (request: number, worker: number) => Promise<{ registrations: number; heartbeats: number }>,
): Promise<LoadFigures> {
  const latencies: number[] = [];
  let claimed = 0;
  let registrations = 0;
  let heartbeats = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const loop = async (worker: number) => {
    while (claimed < maxRequests && performance.now() < deadline) {
      const request = claimed++;
      const t = performance.now();
      const done = await send(request, worker);
      latencies.push(performance.now() - t);
      registrations += done.registrations;
      heartbeats += done.heartbeats;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, w) => loop(w)));
  return { requests: latencies.length, ops: registrations + heartbeats, registrations, heartbeats, seconds: (performance.now() - t0) / 1000, latencies };
}

/**
 * A trivial pick (`candidates[i % n]`) timed exactly as measurePickLatency times a balancer:
 * process.hrtime.bigint around each call, 2,000 unmeasured picks first, the picked candidate's
 * activeRequests bumped after each (so the work cannot be optimised away). The floor of the
 * method: what the clock itself and the loop cost.
 */
export function measureTrivialPick(n: number, picks: number): { firstPickUs: number; p50Us: number; p99Us: number; maxUs: number } {
  const candidates = Array.from({ length: n }, (_, i) => ({ id: `instance-${i}`, weight: 1, activeRequests: i % 50 }));
  const pick = (i: number) => candidates[i % n];
  const t0 = process.hrtime.bigint();
  pick(0);
  const firstPickUs = Number(process.hrtime.bigint() - t0) / 1_000;
  for (let i = 0; i < Math.min(picks, 2_000); i++) pick(i);
  const samples = new Float64Array(picks);
  for (let i = 0; i < picks; i++) {
    const start = process.hrtime.bigint();
    const picked = pick(i);
    samples[i] = Number(process.hrtime.bigint() - start) / 1_000;
    if (picked) picked.activeRequests = (picked.activeRequests + 1) % 50;
  }
  samples.sort();
  // the same rank as measurePickLatency (nearest rank, not interpolated)
  const at = (p: number) => samples[Math.min(picks - 1, Math.ceil((p * picks) / 100) - 1)]!;
  return { firstPickUs, p50Us: at(50), p99Us: at(99), maxUs: samples[picks - 1]! };
}

// ---------------------------------------------------------------------------------------------
// CPU

export interface CpuFigures {
  server: number;
  postgres: number;
  bench: number;
}

/** CPU seconds of the server, PostgreSQL (NaN without; machine-wide) and this process between the call and `end()`. */
export function cpuMeter(serverPid: number | undefined, withPostgres: boolean): () => CpuFigures {
  const own = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const server0 = serverPid ? cpuSecondsOf(serverPid) : 0;
  const pg0 = withPostgres ? postgresCpuSeconds() : 0;
  const own0 = own();
  return () => ({
    server: serverPid ? cpuSecondsOf(serverPid) - server0 : NaN,
    postgres: withPostgres ? postgresCpuSeconds() - pg0 : NaN,
    bench: own() - own0,
  });
}
