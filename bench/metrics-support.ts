import { PGlite } from "@electric-sql/pglite";
import { randomBytes } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { type Client } from "pg";
import {
  assertAlive,
  type Child,
  cpuSecondsOf,
  dataOf,
  type GraphQLReply,
  graphqlOk,
  postGraphQLBody,
  type KeepAliveClient,
  type BenchDatabase,
  postgresCpuSeconds,
  prepareDatabase,
  startVigil,
  stopChild,
  TransportError,
  type VigilStart,
} from "./support";

/**
 * What bench/ingest.bench.ts and bench/query.bench.ts share: the benchmark database, tenants with
 * metric quotas, ingest bodies, waiting for the rollup job, storage and process figures, and SQL
 * through either pg or an in-process PGlite on a stopped server's DATA_DIR.
 */

/** A database of the benchmarks' own: recreated empty at the start of each run (see prepareBenchDatabase). */
export const DEFAULT_BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vigil_bench";
export const DAY_MS = 86_400_000;

export const INGEST_MUTATION = "mutation Ingest($p: [MetricPointInput!]!) { ingestMetrics(points: $p) { accepted seriesCreated } }";
/** 10,000 points as JSON are about 1 MB; on the embedded database a batch may queue behind the rollup job. */
export const INGEST_TIMEOUT_MS = 120_000;

// ---------------------------------------------------------------------------------------------
// SQL on either database

/** Parameterised SQL returning rows; cast bigint results to float8 or int in SQL so both drivers give numbers. */
export type Sql = <T>(text: string, params?: unknown[]) => Promise<T[]>;

export function sqlOf(client: Client): Sql {
  return async <T>(text: string, params: unknown[] = []) => (await client.query(text, params)).rows as T[];
}

export { connectPg, type BenchDatabase } from "./support";

/**
 * Opens a stopped server's DATA_DIR in this process. Only while no Vigil process has it open: PGlite
 * is a single-process database and two openers would corrupt it.
 */
export async function openPglite(dataDir: string): Promise<{ sql: Sql; db: PGlite; close: () => Promise<void> }> {
  const db = await PGlite.create({ dataDir });
  const sql: Sql = async <T>(text: string, params: unknown[] = []) => (await db.query<T>(text, params)).rows;
  return { sql, db, close: () => db.close() };
}

const SETTINGS = ["shared_buffers", "work_mem", "jit", "synchronous_commit", "max_wal_size", "max_parallel_workers_per_gather"];

/** The run's database (see prepareDatabase in support.ts), with the settings that change these figures. */
export function prepareBenchDatabase(url: string): Promise<BenchDatabase> {
  return prepareDatabase(url, SETTINGS, DEFAULT_BENCH_DATABASE_URL);
}

export { databaseLine as settingsLine } from "./support";

// ---------------------------------------------------------------------------------------------
// Tenants

export interface BenchTenant {
  id: string;
  slug: string;
  key: string;
}

/** A tenant whose quotas never limit a benchmark, and a METRICS_READ + METRICS_WRITE key for it. */
export async function createMetricsTenant(url: string, adminKey: string, purpose: string): Promise<BenchTenant> {
  const slug = `bench-${randomBytes(5).toString("hex")}`;
  const created = await graphqlOk(url, adminKey, `mutation($input: CreateTenantInput!) { createTenant(input: $input) { id slug } }`, {
    input: { slug, name: `Benchmark ${purpose}`, maxSeries: 2_000_000, maxSamplesPerSecond: 100_000_000, retentionDays: 30 },
  });
  const tenant = created.createTenant as { id: string; slug: string };
  const keyed = await graphqlOk(url, adminKey, `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`, {
    input: { name: `bench:${purpose}`, scopes: ["METRICS_READ", "METRICS_WRITE"], tenantId: tenant.id },
  });
  return { id: tenant.id, slug: tenant.slug, key: (keyed.createApiKey as { secret: string }).secret };
}

// ---------------------------------------------------------------------------------------------
// Ingest

export interface IngestResult {
  accepted: number;
  seriesCreated: number;
}

/**
 * Ingest batches sent again since the start: `resets` when the server reset the connection before
 * any answer, `serverErrors` when it answered INTERNAL_SERVER_ERROR (its log says why; see
 * serverErrors()). Both are reported beside the figures, never hidden.
 */
export const ingestRetries = { resets: 0, serverErrors: 0 };

/**
 * Sends one serialised ingest request; throws with the answer unless every point was accepted.
 * A connection reset or an INTERNAL_SERVER_ERROR answer is counted in `ingestRetries` and the batch
 * sent again (at most twice): the same points again are harmless, the last write wins with the same
 * values. Any other error (validation, quota, rate limit) fails at once. With `client`, over its
 * keep-alive node:http connection; else with fetch.
 */
export async function sendIngest(url: string, key: string, body: string, expectedPoints: number, client?: KeepAliveClient): Promise<IngestResult> {
  for (let attempt = 1; ; attempt++) {
    let reply: GraphQLReply;
    try {
      reply = client ? await client.post(url, key, body, INGEST_TIMEOUT_MS) : await postGraphQLBody(url, key, body, INGEST_TIMEOUT_MS);
    } catch (err) {
      if (!(err instanceof TransportError) || err.code !== "ECONNRESET" || attempt === 3) throw err;
      ingestRetries.resets++;
      process.stderr.write(`    connection reset: ${err.message}; sending the batch again\n`);
      continue;
    }
    const codes = (reply.body?.errors ?? []).map((e) => (e as { extensions?: { code?: unknown } }).extensions?.code);
    if (attempt < 3 && codes.length > 0 && codes.every((c) => c === "INTERNAL_SERVER_ERROR")) {
      ingestRetries.serverErrors++;
      process.stderr.write(`    INTERNAL_SERVER_ERROR from ingestMetrics (see the server log); sending the batch again\n`);
      continue;
    }
    const result = dataOf(reply, INGEST_MUTATION).ingestMetrics as IngestResult;
    if (result.accepted !== expectedPoints) {
      throw new Error(`ingestMetrics accepted ${result.accepted} of ${expectedPoints} points: ${reply.text.slice(0, 500)}`);
    }
    return result;
  }
}

/**
 * Distinct error messages a Vigil process logged (pino level ≥ 50), with counts and the first
 * frame of Vigil's own code that raised them: what the report says about INTERNAL_SERVER_ERRORs.
 */
export function serverErrors(server: VigilStart): string[] {
  const counts = new Map<string, number>();
  let text: string;
  try {
    text = readFileSync(server.child.logPath, "utf8");
  } catch {
    return [];
  }
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const e = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string; stack?: string } };
      if ((e.level ?? 0) < 50) continue;
      const frame = /at (?:async )?(\S+) \(\S*\/dist\/(src\/[^:)]+)/.exec(e.err?.stack ?? "");
      const key = `${e.err?.message ?? e.msg ?? "?"}${frame ? ` (in ${frame[1]}, ${frame[2]})` : ""}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    } catch {
      // not a pino line
    }
  }
  return [...counts].map(([k, n]) => `"${k}" ×${n}`);
}

export interface PointInput {
  name: string;
  value: number;
  timestamp: number;
  type: "GAUGE" | "COUNTER";
  labels: Record<string, string>;
}

export function ingestBody(points: PointInput[]): string {
  return JSON.stringify({ query: INGEST_MUTATION, variables: { p: points } });
}

/**
 * Ingest bodies for `series.length` series × `slots` timestamps without serialising 10,000 objects
 * per batch: each slot (one timestamp for every series, like one scrape) is kept as the JSON text
 * around its timestamps, so a batch is `slots` native `Array.join` calls with the timestamp as the
 * separator. Values differ per series and slot; timestamps are epoch ms numbers (the DateTime
 * scalar accepts them).
 */
export class BatchTemplate {
  private readonly slotChunks: string[][];
  readonly points: number;

  constructor(
    name: string,
    series: ReadonlyArray<Record<string, string>>,
    readonly slots: number,
    readonly slotStepMs: number,
  ) {
    this.points = series.length * slots;
    this.slotChunks = [];
    for (let k = 0; k < slots; k++) {
      const chunks: string[] = [];
      series.forEach((labels, i) => {
        const value = ((i * 31 + k * 7) % 1000) / 10;
        const open = `{"name":${JSON.stringify(name)},"type":"GAUGE","labels":${JSON.stringify(labels)},"value":${value},"timestamp":`;
        chunks.push(i === 0 ? open : `},${open}`);
      });
      chunks.push("}");
      this.slotChunks.push(chunks);
    }
  }

  /** The request body whose first slot has timestamp `firstTs`. */
  body(firstTs: number): string {
    const parts = this.slotChunks.map((chunks, k) => chunks.join(String(firstTs + k * this.slotStepMs)));
    return `{"query":${JSON.stringify(INGEST_MUTATION)},"variables":{"p":[${parts.join(",")}]}}`;
  }
}

/** labels {host: h0..h(n-1)} */
export function hostLabels(n: number): Array<Record<string, string>> {
  return Array.from({ length: n }, (_, i) => ({ host: `h${i}` }));
}

// ---------------------------------------------------------------------------------------------
// Rollups

/** Series-minutes named by the tenant's rollup markers (one marker per batch and minute names its series). */
export async function pendingRollups(sql: Sql, tenantId: string): Promise<number> {
  const rows = await sql<{ n: number }>(
    `SELECT coalesce(sum(cardinality(series_ids)), 0)::int AS n FROM metric_rollup_pending WHERE tenant_id = $1`,
    [tenantId],
  );
  return rows[0]?.n ?? 0;
}

export interface DrainFigures {
  /** markers when the wait began */
  pendingAtStart: number;
  /** ms until none were left (or until the wait gave up) */
  ms: number;
  drained: boolean;
  pendingLeft: number;
}

/** Polls metric_rollup_pending (PostgreSQL, while the server runs) until the tenant has no marker left. */
export async function waitForRollups(sql: Sql, tenantId: string, server: Child, timeoutMs: number): Promise<DrainFigures> {
  const t0 = performance.now();
  const pendingAtStart = await pendingRollups(sql, tenantId);
  let left = pendingAtStart;
  while (left > 0) {
    assertAlive(server);
    if (performance.now() - t0 > timeoutMs) return { pendingAtStart, ms: performance.now() - t0, drained: false, pendingLeft: left };
    await sleep(250);
    left = await pendingRollups(sql, tenantId);
  }
  return { pendingAtStart, ms: performance.now() - t0, drained: true, pendingLeft: 0 };
}

/**
 * The embedded database cannot be read while its server runs, so the rollup backlog is checked with
 * the server stopped: stop, open DATA_DIR here, count; while markers are left (and time remains),
 * close, start the server again and give its rollup job `settleMs` (doubling) before the next look.
 * `inspect` runs on the last look, drained or not, while DATA_DIR is open here. Returns with the
 * server stopped; `ms` includes the restarts.
 */
export async function drainEmbedded<T>(
  running: VigilStart,
  restart: () => Promise<VigilStart>,
  dataDir: string,
  tenantId: string,
  timeoutMs: number,
  inspect: (sql: Sql) => Promise<T>,
): Promise<{ drain: DrainFigures & { restarts: number; stops: string[] }; inspected: T }> {
  const t0 = performance.now();
  const stops: string[] = [];
  let server = running;
  let settleMs = 5_000;
  let pendingAtStart: number | undefined;
  let restarts = 0;
  for (;;) {
    stops.push(await stopVigil(server));
    const pg = await openPglite(dataDir);
    try {
      const left = await pendingRollups(pg.sql, tenantId);
      pendingAtStart ??= left;
      const elapsed = performance.now() - t0;
      if (left === 0 || elapsed > timeoutMs) {
        const drain = { pendingAtStart, ms: elapsed, drained: left === 0, pendingLeft: left, restarts, stops };
        return { drain, inspected: await inspect(pg.sql) };
      }
      process.stderr.write(`    ${left.toLocaleString("en-US")} rollup markers left: restarting the server for ${settleMs / 1000} s\n`);
    } finally {
      await pg.close();
    }
    server = await restart();
    restarts++;
    await sleep(Math.min(settleMs, Math.max(1_000, timeoutMs - (performance.now() - t0))));
    settleMs = Math.min(settleMs * 2, 60_000);
  }
}

// ---------------------------------------------------------------------------------------------
// Storage

export interface RelationFigures {
  /** tenant rows in the relation (or in the partitions that hold them) */
  rows: number;
  /** rows of any tenant in those partitions: equal to `rows` when the attribution is exact */
  rowsAll: number;
  heapBytes: number;
  indexBytes: number;
  /** pg_total_relation_size: heap + indexes + TOAST + free-space and visibility maps */
  totalBytes: number;
  partitions: number;
}

/**
 * Size of the partitions of `table` that hold the tenant's rows (found by tableoid), or of the whole
 * table when it is not partitioned. A benchmark keeps such partitions to one tenant by giving it
 * days of its own; `rowsAll` shows whether that held.
 */
export async function relationFigures(sql: Sql, table: string, tenantId: string): Promise<RelationFigures> {
  const parts = await sql<{ rel: string; n: number }>(
    `SELECT tableoid::regclass::text AS rel, count(*)::float8 AS n FROM ${table} WHERE tenant_id = $1 GROUP BY 1 ORDER BY 1`,
    [tenantId],
  );
  const figures: RelationFigures = { rows: 0, rowsAll: 0, heapBytes: 0, indexBytes: 0, totalBytes: 0, partitions: parts.length };
  for (const p of parts) {
    const [s] = await sql<{ all_rows: number; heap: number; idx: number; total: number }>(
      `SELECT (SELECT count(*) FROM ${p.rel})::float8 AS all_rows, pg_relation_size($1::regclass)::float8 AS heap,
              pg_indexes_size($1::regclass)::float8 AS idx, pg_total_relation_size($1::regclass)::float8 AS total`,
      [p.rel],
    );
    figures.rows += p.n;
    figures.rowsAll += s!.all_rows;
    figures.heapBytes += s!.heap;
    figures.indexBytes += s!.idx;
    figures.totalBytes += s!.total;
  }
  return figures;
}

/** Bytes under `dir` as allocated on disk (st_blocks), not apparent sizes. */
export function diskUsage(dir: string): number {
  let total = 0;
  const walk = (path: string) => {
    const st = lstatSync(path);
    total += st.blocks * 512;
    if (st.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(dir);
  return total;
}

// ---------------------------------------------------------------------------------------------
// Processes

/** VmRSS and VmHWM (peak) of a process, in bytes. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds spent by the server, PostgreSQL and this process between `begin()` and `end()`. */
export function cpuMeter(serverPid: number | undefined, withPostgres: boolean): () => { server: number; postgres: number; bench: number } {
  const server0 = serverPid ? cpuSecondsOf(serverPid) : 0;
  const pg0 = withPostgres ? postgresCpuSeconds() : 0;
  const own0 = ownCpuSeconds();
  return () => ({
    server: serverPid ? cpuSecondsOf(serverPid) - server0 : NaN,
    postgres: withPostgres ? postgresCpuSeconds() - pg0 : NaN,
    bench: ownCpuSeconds() - own0,
  });
}

/**
 * How long a Vigil process may take to stop after SIGTERM before it is killed: its shutdown waits for
 * a rollup pass in progress, which on the embedded database can run for tens of seconds.
 */
export const VIGIL_STOP_TIMEOUT_MS = 120_000;

/** Stops a Vigil process by its pid and says how: "0 in 0.1 s", "SIGKILL in 120.0 s". */
export async function stopVigil(server: VigilStart): Promise<string> {
  if (server.child.exit) return describeStop(server, undefined);
  const took = await stopChild(server.child, VIGIL_STOP_TIMEOUT_MS);
  return describeStop(server, took);
}

function describeStop(server: VigilStart, tookMs: number | undefined): string {
  const e = server.child.exit;
  const how = e ? (e.signal ?? String(e.code)) : "running";
  return tookMs === undefined ? how : `${how} in ${(tookMs / 1000).toFixed(1)} s`;
}

/** Starts Vigil on the embedded database in `dataDir` with the given admin key. */
export function startEmbedded(workDir: string, label: string, dataDir: string, adminKey: string, logLevel: string): Promise<VigilStart> {
  return startVigil(workDir, label, { DATA_DIR: dataDir, VIGIL_ADMIN_KEY: adminKey }, logLevel);
}

export function startPostgres(workDir: string, label: string, url: string, adminKey: string, logLevel: string): Promise<VigilStart> {
  return startVigil(workDir, label, { DATABASE_URL: url, VIGIL_ADMIN_KEY: adminKey }, logLevel);
}

/**
 * Polls GET /healthz (a handler that touches nothing) every 200 ms while a phase runs and keeps the
 * longest answer time: how long the server's event loop was unable to answer anything. Returns a
 * stop function that resolves to that maximum in ms (failed polls count with their duration).
 */
export function stallProbe(port: number): () => Promise<number> {
  let stopped = false;
  let max = 0;
  const loop = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(120_000) });
        await res.arrayBuffer();
      } catch {
        // a reset or timeout is a stall too; its duration counts below
      }
      max = Math.max(max, performance.now() - t0);
      if (!stopped) await sleep(200);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return max;
  };
}

/** "met" or "MISSED" beside a figure and its target. */
export function verdict(ok: boolean): string {
  return ok ? "met" : "**MISSED**";
}
