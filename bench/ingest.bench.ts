import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { Client } from "pg";
import {
  BatchTemplate,
  type BenchDatabase,
  type BenchTenant,
  ingestRetries,
  connectPg,
  cpuMeter,
  createMetricsTenant,
  DAY_MS,
  DEFAULT_BENCH_DATABASE_URL,
  diskUsage,
  drainEmbedded,
  type DrainFigures,
  hostLabels,
  memoryOf,
  openPglite,
  prepareBenchDatabase,
  relationFigures,
  type RelationFigures,
  sendIngest,
  serverErrors,
  settingsLine,
  type Sql,
  sqlOf,
  stallProbe,
  stopVigil,
  verdict,
  VIGIL_STOP_TIMEOUT_MS,
  waitForRollups,
  pendingRollups,
} from "./metrics-support";
import {
  assertAlive,
  BENCHMARKS_MD,
  cleanupWorkDir,
  headerLines,
  int,
  intOption,
  KeepAliveClient,
  LOG_LEVELS,
  median,
  mib,
  otherCpuMeter,
  ms,
  quantile,
  redactUrl,
  ROOT,
  runBench,
  startVigil,
  table,
  VIGIL_MAIN,
  type VigilStart,
  writeBenchmarksMd,
} from "./support";

/**
 * `npm run bench:ingest`: points per second through `ingestMetrics` (GraphQL over HTTP) with
 * batches of 1k, 5k and 10k points from 2 concurrent clients, against the same rows written by raw
 * SQL into the same metric_samples table (the ceiling for any ingest path on that database); then
 * disk bytes per sample and the server's RSS after 1 M points in 10 k series.
 *
 * PostgreSQL first, then the embedded database. Vigil is a child process (`node dist/src/main.js`
 * with the node flags of `npm start`, LOG_LEVEL=warn) on 127.0.0.1; the clients are node:http keep-alive connections in this process; children are stopped by
 * pid in `finally` blocks and on SIGINT/SIGTERM (bench/support.ts). Server, PostgreSQL and this
 * process share the machine's cores, so the CPU seconds of each are reported beside the rates.
 *
 * Days are kept apart so partitions can be attributed: the footprint points go to the day before
 * yesterday (UTC) and run first, on an empty database; the throughput points go to yesterday,
 * GraphQL from 00:00 and raw SQL from 12:00, one second apart per series.
 *
 * Output: a Markdown report on stdout and the `<!-- bench:ingest:start/end -->` section of BENCHMARKS.md.
 */

const SERIES_NAME = "bench_metric";
const FOOTPRINT_NAME = "bench_footprint";
const THROUGHPUT_STEP_MS = 1_000;
const FOOTPRINT_STEP_MS = 15_000;
const RAW_INSERT =
  `INSERT INTO metric_samples (tenant_id, series_id, ts, value) ` +
  `SELECT $1::uuid, * FROM unnest($2::bigint[], $3::bigint[], $4::float8[]) ` +
  `ON CONFLICT (tenant_id, series_id, ts) DO UPDATE SET value = excluded.value`;
/**
 * What the ingest fast path changed and where Vigil's CPU goes since, from profiles taken by hand
 * (they are not part of this run: the dates say when they were measured).
 */
const FAST_PATH_NOTES = [
  `How the GraphQL path spends Vigil's CPU (profiles of the server under this benchmark, 2026-11-22, not part of this run):`,
  "",
  `- Before the ingest fast path (commit 1095a02): 13–17 ms of Vigil CPU per 1,000 points. graphql-js's \`getVariableValues\` ` +
    `coercing the \`points\` variable took 63 ms per 10,000 points (6.3 µs per point, the DateTime scalar 0.36 of it), and ` +
    `type-graphql then copied every coerced object into a MetricPointInput instance: together more than half of the server's CPU per point.`,
  `- Since (src/server/ingest-fast-path.ts): an Apollo plugin checks the points of \`ingestMetrics(points: $var)\` in plain code against ` +
    `the input type's GraphQL rules and hands them to the resolver, and graphql-js executes the operation with an empty list in their ` +
    `place; anything graphql-js would refuse falls back to its coercion, so answers are unchanged. Vigil's CPU per 1,000 points fell to ` +
    `5–9 ms on batches of 5,000–10,000 (16–20 ms on batches of 1,000, where the rollup job's per-marker work — one marker per point ` +
    `at one timestamp per batch — and per-request costs weigh more). Each batch also makes 3 fewer round trips: samples and rollup ` +
    `markers go in one statement, without a SAVEPOINT (a batch that rewrites stored samples runs its transaction again as an upsert).`,
  `- GC: the parsed bodies outlive V8's default young generation. Two runs of \`--skip-embedded --footprint-points 0 --batch-sizes 10000 ` +
    `--duration 8\` back to back on a quiet machine (2026-11-22 22:36 UTC, 3–4 % of the cores taken by others): 103,405 points/s ` +
    `(91 % of raw), Vigil 7.0 ms CPU per 1,000 points, with the defaults; 118,668 points/s (90 %), 5.3 ms, with the server started ` +
    `under \`NODE_OPTIONS=--max-semi-space-size=64\` (README, "Ingesting"). Since 2026-11-23 \`npm start\`, the Docker image and ` +
    `this benchmark run the server with \`--max-semi-space-size=64\`. Runs of 8–10 s, 2026-11-23 01:22–01:52 UTC, Vigil's CPU per ` +
    `1,000 points: batches of 1,000: 6.2–7.1 ms with the defaults, 4.8–5.3 with 32 MB, 5.2 with 64 MB (garbage collection fell from ` +
    `17 % to 7 % of its busy time); batches of 10,000: 3.4 ms with the defaults, 3.3 with 32 MB, 2.4–2.6 with 64 MB.`,
  `- Batches of 1,000 points, one timestamp for 1,000 series (2026-11-23): PostgreSQL spent 17.5–22.8 ms of CPU per 1,000 points, ` +
    `against 8.9 for raw SQL, and with the rollup job held off (ROLLUP_INTERVAL_MS=600000) only 8.6–11.3: the markers' life cycle ` +
    `did it. Each batch inserted 1,000 markers (one per series-minute, 60 per minute for a series written every second), and the ` +
    `job then deleted them (EXPLAIN ANALYZE: 130 ms to delete 60,000 markers of 1,000 minutes, as much as recomputing those minutes). ` +
    `Now a minute that has a marker gets none more: the write locks the existing one FOR KEY SHARE SKIP LOCKED instead (see ` +
    `writeSamplesSql, and test/int/metrics-ingest-markers.test.ts for the races). PostgreSQL's CPU per 1,000 points, rollups included, ` +
    `fell to 11.5–12.4 ms (from 18.5–22.8 in the same alternating runs), and points/s rose from 47,500–61,759 to 71,743–74,314. ` +
    `A batch whose series are all in the id cache is then one statement, run without BEGIN/COMMIT (2 round trips fewer); the id ` +
    `cache is two generations of per-tenant maps instead of lru-cache (whose bookkeeping took ~4 % of Vigil's busy time).`,
  `- Before/after on PostgreSQL, \`--skip-embedded --footprint-points 0\`, run back to back on the same shared machine (2026-11-22 ` +
    `21:55 and 21:59 UTC; other processes took 26 % and 52 % of the 2 cores): GraphQL 24,848 / 27,306 / 28,967 points/s at ` +
    `1k / 5k / 10k = 25 / 36 / 38 % of raw, Vigil 27.4 / 20.7 / 18.8 ms CPU per 1,000 points → with the fast path alone (before the row-order and round-trip changes): 21,851 / 45,939 / 44,939 points/s = ` +
    `32 / 60 / 68 % of raw, Vigil 17.3 / 8.1 / 7.8 ms. The last full run before (commit 1095a02, a quiet machine): 40,260 / 59,657 / ` +
    `54,893 points/s = 21 / 33 / 36 % of raw (192,021 / 179,500 / 152,342).`,
  `- Where the rest goes (profile of a 10 s phase of 10,000-point batches; shares of the server's busy time outside start-up): ` +
    `garbage collection ~24 %, JSON.parse of the bodies ~17 %, the ingest write path (series lookup, row order, array literals, ` +
    `statements) ~12 %, socket writes to PostgreSQL and clients ~8 %, the input rules (validatePoints) ~6 %, the fast path's type ` +
    `check ~3 %, Apollo + express + pino per request ~10 %. On that loaded machine the server was busy about three quarters of the ` +
    `phase; PostgreSQL's CPU per point on this path is now about the raw SQL path's (samples, plus one rollup marker per series-minute).`,
  `- Batches of 1,000 again (2026-11-23, 03:00–03:45 UTC, \`--skip-embedded --footprint-points 0 --batch-sizes 1000\`, single runs on a ` +
    `machine whose raw SQL figure moved between 124,000 and 203,000 points/s from run to run): with the rollup job held off ` +
    `(ROLLUP_INTERVAL_MS=600000) PostgreSQL spent 6.1 ms of CPU per 1,000 points, with it 14.3–19.0: the job, not the write, made ` +
    `the difference. Three changes since: (1) each minute (and hour) is aggregated inside its own lateral subquery, over the index ` +
    `order, instead of one GROUP BY over every sample of the batch, which sorted 300,000 rows on disk (work_mem 4 MB) and each ` +
    `group again for array_agg(… ORDER BY …): 650 → 360 ms for 5,000 minutes of 60 samples (psql \`\\timing\`); (2) a marker is a ` +
    `row per batch, minute and 200 series, inserted without probing or locking the existing ones (a batch's 1,000 probes cost ` +
    `3–4 ms of PostgreSQL time; one TOASTed row of 1,000 ids 1.8 ms, five rows of 200 ids 0.25 ms); (3) the job vacuums the ` +
    `marker table with the rollup tables, and ingest keeps tenants' limits for AUTH_CACHE_MS (one round trip fewer per batch). ` +
    `PostgreSQL's CPU per 1,000 points with the job running: 9.6–10.1 ms; points/s 94,713–98,533, 48–55 % of raw in the same runs.`,
  `- The GraphQL clients were fetch calls, at 2.1–2.3 ms of this process's CPU per 1,000 points against 1.0–1.2 for the raw SQL ` +
    `clients, on the 2 cores the server and PostgreSQL share. Since 2026-11-23 each client is one keep-alive node:http connection ` +
    `(as in bench:registry): 1.1 ms. Batches of 1,000, two runs each: 101,687 and 103,711 points/s (61 % and 54 % of raw). An A/B ` +
    `of the ingest statement as a named prepared statement (parsed and planned once per connection) against the unnamed one, ` +
    `two rounds of 8 s: 115,769 and 103,397 against 118,119 and 116,105 points/s, PostgreSQL 8.0–9.2 against 7.8–8.1 ms of CPU ` +
    `per 1,000 points: no gain, so it was not kept.`,
];

/**
 * The node flags `npm start` runs the server with (package.json; the Dockerfile's CMD has the same),
 * given to the benchmark's servers on their command line so that it measures the server as deployed.
 */
function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } };
  const m = /^node((?: --[a-z0-9-]+(?:=\S+)?)*) dist\/src\/main\.js$/.exec(pkg.scripts.start);
  if (!m) throw new Error(`package.json's start script is not "node [--flag ...] dist/src/main.js": ${pkg.scripts.start}`);
  return m[1]!.trim().split(/\s+/).filter(Boolean);
}
const START_FLAGS = startFlags();

/** A Vigil child run as `npm start` runs it; with --cpu-prof, profiled into <work dir>/cpu-prof-<label>. */
function startServer(workDir: string, label: string, env: Record<string, string>, adminKey: string, opts: Options): Promise<VigilStart> {
  const profile = opts.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${join(workDir, `cpu-prof-${label}`)}`] : [];
  return startVigil(workDir, label, { ...env, VIGIL_ADMIN_KEY: adminKey }, opts.logLevel, [...START_FLAGS, ...profile]);
}

const TARGET_POINTS_PER_SECOND = 100_000;
const TARGET_RATIO = 0.5;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  duration: number;
  /** GraphQL and raw SQL phases per batch size, alternating (PostgreSQL) */
  rounds: number;
  /** points per batch size instead of a duration */
  points: number | undefined;
  warmup: number;
  clients: number;
  series: number;
  batchSizes: number[];
  footprintPoints: number;
  footprintSeries: number;
  databaseUrl: string | undefined;
  skipEmbedded: boolean;
  drainTimeout: number;
  logLevel: string;
  cpuProf: boolean;
  keep: boolean;
}

const USAGE = `usage: npm run bench:ingest -- [options]
  --duration <s>           seconds of GraphQL ingest per batch size and round (default 10)
  --points <n>             points per batch size and round instead of --duration (rounded up to whole batches)
  --rounds <n>             PostgreSQL: GraphQL then raw SQL phases per batch size, alternating; the figures
                           are the rounds' medians (default 3)
  --warmup <s>             seconds of unmeasured GraphQL ingest first (default 3; 0 = one batch only)
  --clients <n>            concurrent clients, GraphQL and raw SQL alike (default 2)
  --series <n>             distinct series of the throughput phases (default 1000; divides every batch size)
  --batch-sizes <list>     points per request (default 1000,5000,10000)
  --footprint-points <n>   points for the storage and RSS figures (default 1000000; 0 skips them)
  --footprint-series <n>   series for those points, one batch per timestamp (default 10000, at most 10000)
  --database-url <url>     PostgreSQL (default env BENCH_DATABASE_URL, else ${DEFAULT_BENCH_DATABASE_URL});
                           a database named vigil_bench* is dropped and created empty; "test" is refused
  --skip-postgres          embedded database only
  --skip-embedded          PostgreSQL only
  --drain-timeout <s>      longest wait for the rollup job to catch up (default 180)
  --log-level <level>      LOG_LEVEL of Vigil (default warn)
  --cpu-prof               run Vigil with --cpu-prof; the profiles stay in the kept work directory
  --keep                   keep the temporary data and log directory`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      duration: { type: "string", default: "10" },
      rounds: { type: "string", default: "3" },
      points: { type: "string" },
      warmup: { type: "string", default: "3" },
      clients: { type: "string", default: "2" },
      series: { type: "string", default: "1000" },
      "batch-sizes": { type: "string", default: "1000,5000,10000" },
      "footprint-points": { type: "string", default: "1000000" },
      "footprint-series": { type: "string", default: "10000" },
      "database-url": { type: "string" },
      "skip-postgres": { type: "boolean", default: false },
      "skip-embedded": { type: "boolean", default: false },
      "drain-timeout": { type: "string", default: "180" },
      "log-level": { type: "string", default: "warn" },
      "cpu-prof": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const series = intOption("series", values.series, 1, 10_000);
  const batchSizes = values["batch-sizes"].split(",").map((s) => intOption("batch-sizes", s.trim(), 1, 10_000));
  for (const b of batchSizes) if (b % series) throw new Error(`--batch-sizes: ${b} is not a multiple of --series ${series}`);
  const footprintSeries = intOption("footprint-series", values["footprint-series"], 1, 10_000);
  const footprintPoints = intOption("footprint-points", values["footprint-points"], 0, 100_000_000);
  if (footprintPoints % footprintSeries) throw new Error(`--footprint-points must be a multiple of --footprint-series`);
  const url = values["skip-postgres"] ? "" : (values["database-url"] ?? process.env.BENCH_DATABASE_URL ?? DEFAULT_BENCH_DATABASE_URL);
  if (url && !/^postgres(ql)?:\/\//.test(url)) throw new Error(`--database-url must be a postgres:// URL, got ${redactUrl(url)}`);
  if (!LOG_LEVELS.includes(values["log-level"])) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  if (!url && values["skip-embedded"]) throw new Error("--skip-postgres and --skip-embedded leave nothing to measure");
  return {
    duration: intOption("duration", values.duration, 1, 600),
    rounds: intOption("rounds", values.rounds, 1, 20),
    points: values.points === undefined ? undefined : intOption("points", values.points, 1, 100_000_000),
    warmup: intOption("warmup", values.warmup, 0, 120),
    clients: intOption("clients", values.clients, 1, 64),
    series,
    batchSizes,
    footprintPoints,
    footprintSeries,
    databaseUrl: url || undefined,
    skipEmbedded: values["skip-embedded"],
    drainTimeout: intOption("drain-timeout", values["drain-timeout"], 1, 3_600),
    logLevel: values["log-level"],
    cpuProf: values["cpu-prof"],
    keep: values.keep || values["cpu-prof"],
  };
}

// ---------------------------------------------------------------------------------------------
// Load

/** Hands out timestamps one slot (one timestamp for every series) at a time, within one day. */
class TimeCursor {
  private next = 0;

  constructor(
    private readonly start: number,
    private readonly stepMs: number,
    private readonly limitMs: number,
  ) {}

  take(slots: number): number {
    const ts = this.start + this.next * this.stepMs;
    this.next += slots;
    if (this.next * this.stepMs > this.limitMs) throw new Error(`more timestamps than fit in this phase's day: lower --duration or --points`);
    return ts;
  }
}

/** Either a measured duration or a fixed number of batches. */
type Plan = { seconds: number } | { batches: number };

interface LoadResult {
  batches: number;
  points: number;
  seconds: number;
  /** ms per request, client side */
  latencies: number[];
  seriesCreated: number;
}

/**
 * `clients` loops that each claim the next batch index and await `send` until the plan is used up.
 * The time runs from before the first claim until the last answer.
 */
async function runLoad(clients: number, plan: Plan, send: (batch: number, client: number) => Promise<{ points: number; seriesCreated?: number }>): Promise<LoadResult> {
  const latencies: number[] = [];
  let claimed = 0;
  let points = 0;
  let seriesCreated = 0;
  const t0 = performance.now();
  const deadline = "seconds" in plan ? t0 + plan.seconds * 1000 : Infinity;
  const more = () => ("batches" in plan ? claimed < plan.batches : performance.now() < deadline);
  const loop = async (client: number) => {
    while (more()) {
      const batch = claimed++;
      const t = performance.now();
      const r = await send(batch, client);
      latencies.push(performance.now() - t);
      points += r.points;
      seriesCreated += r.seriesCreated ?? 0;
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => loop(c)));
  return { batches: claimed, points, seconds: (performance.now() - t0) / 1000, latencies, seriesCreated };
}

interface PhaseFigures extends LoadResult {
  database: string;
  path: string;
  batchSize: number;
  /** 1-based; a GraphQL phase and the raw SQL phase after it share their round */
  round: number;
  clients: number;
  cpu: { server: number; postgres: number; bench: number };
  /** client-side ms spent building request bodies, per batch */
  buildMs?: number;
  /** rollup markers the phase left, and how long the rollup job took to clear them */
  drain?: DrainFigures;
  /** batches sent again: the server reset the connection before answering, or answered INTERNAL_SERVER_ERROR */
  resets: number;
  serverErrors: number;
  /** longest GET /healthz answer during the phase, ms */
  stallMs?: number;
}

async function graphqlPhase(
  database: string,
  server: VigilStart,
  tenant: BenchTenant,
  template: BatchTemplate,
  cursor: TimeCursor,
  plan: Plan,
  clients: number,
  withPostgres: boolean,
): Promise<PhaseFigures> {
  let buildMs = 0;
  const retries0 = { ...ingestRetries };
  const stall = stallProbe(server.port);
  const cpu = cpuMeter(server.child.proc.pid, withPostgres);
  let r: LoadResult;
  // one keep-alive node:http connection per client: fetch cost this process about twice the CPU per
  // request (bench:registry), CPU the server and PostgreSQL share on this machine
  const connections = Array.from({ length: clients }, () => new KeepAliveClient());
  try {
    r = await runLoad(clients, plan, async (_batch, client) => {
      const b0 = performance.now();
      const body = template.body(cursor.take(template.slots));
      buildMs += performance.now() - b0;
      const res = await sendIngest(server.url, tenant.key, body, template.points, connections[client]);
      return { points: res.accepted, seriesCreated: res.seriesCreated };
    });
  } finally {
    for (const c of connections) c.close();
    await stall();
  }
  const cpuUsed = cpu();
  const stallMs = await stall();
  assertAlive(server.child);
  return {
    ...r,
    database,
    path: "GraphQL `ingestMetrics`",
    batchSize: template.points,
    round: 1,
    clients,
    cpu: cpuUsed,
    buildMs: buildMs / Math.max(1, r.batches),
    resets: ingestRetries.resets - retries0.resets,
    serverErrors: ingestRetries.serverErrors - retries0.serverErrors,
    stallMs,
  };
}

/** Arrays for the raw insert of one batch: the series ids and values repeat; the timestamps are new. */
function rawBatchArrays(seriesIds: number[], slots: number): { ids: number[]; values: number[] } {
  const ids: number[] = [];
  const values: number[] = [];
  for (let k = 0; k < slots; k++) {
    seriesIds.forEach((id, i) => {
      ids.push(id);
      values.push(((i * 31 + k * 7) % 1000) / 10);
    });
  }
  return { ids, values };
}

function rawTimestamps(first: number, slots: number, perSlot: number): number[] {
  const ts = new Array<number>(slots * perSlot);
  for (let k = 0; k < slots; k++) ts.fill(first + k * THROUGHPUT_STEP_MS, k * perSlot, (k + 1) * perSlot);
  return ts;
}

/** The same rows as a GraphQL phase, by `RAW_INSERT` over `sessions` (pg connections, or the one PGlite session). */
async function rawPhase(
  database: string,
  sessions: Array<(text: string, params: unknown[]) => Promise<unknown>>,
  tenantId: string,
  seriesIds: number[],
  batchSize: number,
  batches: number,
  cursor: TimeCursor,
  withPostgres: boolean,
): Promise<PhaseFigures> {
  const slots = batchSize / seriesIds.length;
  const { ids, values } = rawBatchArrays(seriesIds, slots);
  const cpu = cpuMeter(undefined, withPostgres);
  const r = await runLoad(sessions.length, { batches }, async (_batch, client) => {
    const ts = rawTimestamps(cursor.take(slots), slots, seriesIds.length);
    await sessions[client]!(RAW_INSERT, [tenantId, ids, ts, values]);
    return { points: batchSize };
  });
  return { ...r, database, path: "raw SQL `unnest` insert", batchSize, round: 1, clients: sessions.length, cpu: cpu(), resets: 0, serverErrors: 0 };
}

/** A pg connection as a raw-insert session, with the statement prepared once by name. */
function pgSession(client: Client): (text: string, params: unknown[]) => Promise<unknown> {
  return (text, params) => client.query({ name: "bench_raw_insert", text, values: params });
}

async function seriesIdsByHost(sql: Sql, tenantId: string, name: string, count: number): Promise<number[]> {
  const rows = await sql<{ id: number; host: string }>(
    `SELECT id::float8 AS id, labels->>'host' AS host FROM metric_series WHERE tenant_id = $1 AND name = $2`,
    [tenantId, name],
  );
  const byHost = new Map(rows.map((r) => [r.host, r.id]));
  return Array.from({ length: count }, (_, i) => {
    const id = byHost.get(`h${i}`);
    if (id === undefined) throw new Error(`series ${name}{host="h${i}"} is missing from metric_series after the warm-up`);
    return id;
  });
}

// ---------------------------------------------------------------------------------------------
// Footprint

/** Sizes of the tenant's rows in each metrics relation. */
interface Storage {
  samples: RelationFigures;
  rollups1m: RelationFigures;
  rollups1h: RelationFigures;
  series: RelationFigures;
}

interface FootprintFigures {
  database: string;
  points: number;
  series: number;
  ingest: PhaseFigures;
  rssAtStart: number;
  rssAfterIngest: number;
  hwmAfterIngest: number;
  rssAfterDrain?: number;
  drain: DrainFigures & { restarts?: number };
  /** as the server left them, once the rollup job had caught up */
  storage?: Storage;
  /** the same relations after VACUUM FULL: the live rows without dead tuples */
  compacted?: Storage;
  /** embedded: DATA_DIR on disk after the footprint phase (before VACUUM FULL) */
  dataDirBytes?: number;
}

async function footprintIngest(database: string, server: VigilStart, tenant: BenchTenant, opts: Options, day: number, withPostgres: boolean): Promise<PhaseFigures> {
  const template = new BatchTemplate(FOOTPRINT_NAME, hostLabels(opts.footprintSeries), 1, FOOTPRINT_STEP_MS);
  const batches = opts.footprintPoints / opts.footprintSeries;
  const cursor = new TimeCursor(day, FOOTPRINT_STEP_MS, DAY_MS);
  process.stderr.write(`  ${database}: footprint, ${int(opts.footprintPoints)} points in ${int(opts.footprintSeries)} series\n`);
  return graphqlPhase(database, server, tenant, template, cursor, { batches }, opts.clients, withPostgres);
}

const STORAGE_TABLES: Record<keyof Storage, string> = {
  samples: "metric_samples",
  rollups1m: "metric_rollups_1m",
  rollups1h: "metric_rollups_1h",
  series: "metric_series",
};

async function storageOf(sql: Sql, tenantId: string): Promise<Storage> {
  const out: Partial<Storage> = {};
  for (const [key, table] of Object.entries(STORAGE_TABLES) as Array<[keyof Storage, string]>) out[key] = await relationFigures(sql, table, tenantId);
  return out as Storage;
}

/**
 * The storage as the server left it, then again after VACUUM FULL of the relations that hold the
 * tenant's rows. Rewritten rollup and series rows leave dead tuples that autovacuum (PostgreSQL)
 * reclaims for reuse but never returns, and that nothing reclaims on PGlite (no autovacuum): the
 * first figure is the disk in use, the second the live data. Only on the benchmark's own database.
 */
async function storageFigures(sql: Sql, tenantId: string): Promise<Pick<FootprintFigures, "storage" | "compacted">> {
  const storage = await storageOf(sql, tenantId);
  for (const table of Object.values(STORAGE_TABLES)) {
    const parts = await sql<{ rel: string }>(`SELECT DISTINCT tableoid::regclass::text AS rel FROM ${table} WHERE tenant_id = $1`, [tenantId]);
    for (const { rel } of parts) await sql(`VACUUM FULL ${rel}`);
  }
  return { storage, compacted: await storageOf(sql, tenantId) };
}

// ---------------------------------------------------------------------------------------------
// Runs per database

interface DatabaseRun {
  database: string;
  phases: PhaseFigures[];
  footprint?: FootprintFigures;
  warmup?: { batches: number; points: number; seriesCreated: number; seconds: number };
  serverExit: string[];
  notes: string[];
}

function days(): { footprintDay: number; throughputDay: number } {
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  return { footprintDay: today - 2 * DAY_MS, throughputDay: today - DAY_MS };
}

function plan(opts: Options, batchSize: number): Plan {
  return opts.points ? { batches: Math.ceil(opts.points / batchSize) } : { seconds: opts.duration };
}

/** One request alone (it creates the series), then `--warmup` seconds of 5k-point batches. */
async function warmUp(database: string, server: VigilStart, tenant: BenchTenant, opts: Options, cursor: TimeCursor, withPostgres: boolean): Promise<DatabaseRun["warmup"]> {
  const first = new BatchTemplate(SERIES_NAME, hostLabels(opts.series), 1, THROUGHPUT_STEP_MS);
  const t0 = performance.now();
  const created = await sendIngest(server.url, tenant.key, first.body(cursor.take(1)), first.points);
  if (created.seriesCreated !== opts.series) {
    throw new Error(`the first ingest of ${opts.series} new series answered seriesCreated ${created.seriesCreated}`);
  }
  let batches = 1;
  let points = first.points;
  if (opts.warmup > 0) {
    const size = Math.max(opts.series, Math.floor(5_000 / opts.series) * opts.series);
    const template = new BatchTemplate(SERIES_NAME, hostLabels(opts.series), size / opts.series, THROUGHPUT_STEP_MS);
    const w = await graphqlPhase(database, server, tenant, template, cursor, { seconds: opts.warmup }, opts.clients, withPostgres);
    batches += w.batches;
    points += w.points;
  }
  return { batches, points, seriesCreated: created.seriesCreated, seconds: (performance.now() - t0) / 1000 };
}

async function runPostgres(workDir: string, db: BenchDatabase, adminKey: string, opts: Options): Promise<DatabaseRun> {
  const database = "PostgreSQL";
  const run: DatabaseRun = { database, phases: [], serverExit: [], notes: [] };
  const { footprintDay, throughputDay } = days();
  const server = await startServer(workDir, "postgres", { DATABASE_URL: db.url }, adminKey, opts);
  const monitor = await connectPg(db.url, "vigil-bench-monitor");
  const sql = sqlOf(monitor);
  const rawClients: Client[] = [];
  try {
    const pid = server.child.proc.pid!;
    const drainMs = opts.drainTimeout * 1000;
    if (opts.footprintPoints > 0) {
      const rssAtStart = memoryOf(pid).rss;
      const tenant = await createMetricsTenant(server.url, adminKey, "ingest-footprint");
      const ingest = await footprintIngest(database, server, tenant, opts, footprintDay, true);
      const afterIngest = memoryOf(pid);
      const drain = await waitForRollups(sql, tenant.id, server.child, drainMs);
      run.footprint = {
        database,
        points: opts.footprintPoints,
        series: opts.footprintSeries,
        ingest,
        rssAtStart,
        rssAfterIngest: afterIngest.rss,
        hwmAfterIngest: afterIngest.hwm,
        rssAfterDrain: memoryOf(pid).rss,
        drain,
        ...(await storageFigures(sql, tenant.id)),
      };
    }

    const tenant = await createMetricsTenant(server.url, adminKey, "ingest-throughput");
    const gqlCursor = new TimeCursor(throughputDay, THROUGHPUT_STEP_MS, DAY_MS / 2);
    const rawCursor = new TimeCursor(throughputDay + DAY_MS / 2, THROUGHPUT_STEP_MS, DAY_MS / 2);
    process.stderr.write(`  ${database}: warm-up (${opts.warmup} s)\n`);
    run.warmup = await warmUp(database, server, tenant, opts, gqlCursor, true);
    const warmDrain = await waitForRollups(sql, tenant.id, server.child, drainMs);
    if (!warmDrain.drained) run.notes.push(`The rollup backlog of the warm-up was not cleared within ${opts.drainTimeout} s (${int(warmDrain.pendingLeft)} series-minutes left to roll up).`);
    const ids = await seriesIdsByHost(sql, tenant.id, SERIES_NAME, opts.series);
    for (let i = 0; i < opts.clients; i++) rawClients.push(await connectPg(db.url, `vigil-bench-raw-${i}`));
    const sessions = rawClients.map(pgSession);

    // Rounds alternate GraphQL and raw SQL, so that both see the same machine: this one's speed
    // drifts over tens of seconds (raw SQL alone moved between 124,000 and 234,000 points/s from run
    // to run, 2026-11-23), which decided the ratio of a single pair of phases run one after the other.
    for (const batchSize of opts.batchSizes) {
      const template = new BatchTemplate(SERIES_NAME, hostLabels(opts.series), batchSize / opts.series, THROUGHPUT_STEP_MS);
      for (let round = 1; round <= opts.rounds; round++) {
        process.stderr.write(`  ${database}: GraphQL, batches of ${int(batchSize)}, round ${round} of ${opts.rounds}\n`);
        const g = await graphqlPhase(database, server, tenant, template, gqlCursor, plan(opts, batchSize), opts.clients, true);
        g.drain = await waitForRollups(sql, tenant.id, server.child, drainMs);
        process.stderr.write(`    ${int(g.points / g.seconds)} points/s; rollups caught up in ${ms(g.drain.ms)} ms\n`);
        process.stderr.write(`  ${database}: raw SQL, ${int(g.batches)} batches of ${int(batchSize)}\n`);
        const r = await rawPhase(database, sessions, tenant.id, ids, batchSize, g.batches, rawCursor, true);
        process.stderr.write(`    ${int(r.points / r.seconds)} points/s (GraphQL / raw: ${((100 * g.points) / g.seconds / (r.points / r.seconds)).toFixed(0)} %)\n`);
        g.round = r.round = round;
        run.phases.push(g, r);
      }
    }
  } finally {
    for (const c of rawClients) await c.end().catch(() => undefined);
    await monitor.end().catch(() => undefined);
    run.serverExit.push(await stopVigil(server));
  }
  const errors = serverErrors(server);
  if (errors.length) run.notes.push(`Errors the server logged: ${errors.join("; ")}.`);
  return run;
}

async function runEmbedded(workDir: string, adminKey: string, opts: Options): Promise<DatabaseRun> {
  const database = "embedded (PGlite)";
  const run: DatabaseRun = { database, phases: [], serverExit: [], notes: [] };
  const { footprintDay, throughputDay } = days();
  const dataDir = join(workDir, "embedded-data");
  mkdirSync(dataDir);
  let label = 0;
  const started: VigilStart[] = [];
  const start = async () => {
    const s = await startServer(workDir, `embedded-${++label}`, { DATA_DIR: dataDir }, adminKey, opts);
    started.push(s);
    return s;
  };
  const stop = async (s: VigilStart) => {
    if (!s.child.exit) run.serverExit.push(await stopVigil(s));
  };
  const drainMs = opts.drainTimeout * 1000;

  if (opts.footprintPoints > 0) {
    const server = await start();
    let footprint: FootprintFigures;
    let tenantId: string;
    try {
      const pid = server.child.proc.pid!;
      const rssAtStart = memoryOf(pid).rss;
      const tenant = await createMetricsTenant(server.url, adminKey, "ingest-footprint");
      tenantId = tenant.id;
      const ingest = await footprintIngest(database, server, tenant, opts, footprintDay, false);
      const afterIngest = memoryOf(pid);
      footprint = {
        database,
        points: opts.footprintPoints,
        series: opts.footprintSeries,
        ingest,
        rssAtStart,
        rssAfterIngest: afterIngest.rss,
        hwmAfterIngest: afterIngest.hwm,
        drain: { pendingAtStart: NaN, ms: NaN, drained: false, pendingLeft: NaN },
      };
    } catch (err) {
      await stop(server);
      throw err;
    }
    process.stderr.write(`  ${database}: waiting for the rollup job (server restarts, DATA_DIR read in this process)\n`);
    const restarts: VigilStart[] = [];
    try {
      const { drain, inspected } = await drainEmbedded(
        server,
        async () => {
          const s = await start();
          restarts.push(s);
          return s;
        },
        dataDir,
        tenantId,
        drainMs,
        // DATA_DIR as the server left it, before VACUUM FULL rewrites anything
        async (sql) => ({ dataDirBytes: diskUsage(dataDir), ...(await storageFigures(sql, tenantId)) }),
      );
      run.serverExit.push(...drain.stops);
      run.footprint = { ...footprint, drain, ...inspected };
    } finally {
      for (const s of [server, ...restarts]) await stop(s);
    }
  }

  const server = await start();
  let tenant: BenchTenant;
  const gqlBatches = new Map<number, number>();
  try {
    tenant = await createMetricsTenant(server.url, adminKey, "ingest-throughput");
    const cursor = new TimeCursor(throughputDay, THROUGHPUT_STEP_MS, DAY_MS / 2);
    process.stderr.write(`  ${database}: warm-up (${opts.warmup} s)\n`);
    run.warmup = await warmUp(database, server, tenant, opts, cursor, false);
    for (const batchSize of opts.batchSizes) {
      const template = new BatchTemplate(SERIES_NAME, hostLabels(opts.series), batchSize / opts.series, THROUGHPUT_STEP_MS);
      process.stderr.write(`  ${database}: GraphQL, batches of ${int(batchSize)}\n`);
      const g = await graphqlPhase(database, server, tenant, template, cursor, plan(opts, batchSize), opts.clients, false);
      process.stderr.write(`    ${int(g.points / g.seconds)} points/s\n`);
      run.phases.push(g);
      gqlBatches.set(batchSize, g.batches);
    }
  } finally {
    await stop(server);
  }
  const errors = started.flatMap(serverErrors);
  if (errors.length) run.notes.push(`Errors the servers logged: ${errors.join("; ")}.`);
  run.notes.push(
    `On the embedded database the rollup backlog cannot be read while the server runs (one process owns DATA_DIR), so its GraphQL phases run back to back: ` +
      `each may share the single database session with the rollup job still working through the previous phase's markers.`,
  );

  // The raw baseline runs in this process on the stopped server's DATA_DIR: one PGlite session, as the server has.
  process.stderr.write(`  ${database}: raw SQL in this process on DATA_DIR\n`);
  const pg = await openPglite(dataDir);
  try {
    const ids = await seriesIdsByHost(pg.sql, tenant.id, SERIES_NAME, opts.series);
    const rawCursor = new TimeCursor(throughputDay + DAY_MS / 2, THROUGHPUT_STEP_MS, DAY_MS / 2);
    const session = (text: string, params: unknown[]) => pg.db.query(text, params);
    const raw: PhaseFigures[] = [];
    for (const batchSize of opts.batchSizes) {
      const r = await rawPhase(database, [session], tenant.id, ids, batchSize, gqlBatches.get(batchSize)!, rawCursor, false);
      r.path = "raw SQL `unnest` insert, PGlite in this process";
      process.stderr.write(`    batches of ${int(batchSize)}: ${int(r.points / r.seconds)} points/s\n`);
      raw.push(r);
    }
    // Pair each GraphQL phase with its baseline in the report.
    run.phases = run.phases.flatMap((g, i) => [g, raw[i]!]);
    run.notes.push(`Series-minutes named by rollup markers of the throughput tenant left when its server stopped: ${int(await pendingRollups(pg.sql, tenant.id))}.`);
  } finally {
    await pg.close();
  }
  return run;
}

// ---------------------------------------------------------------------------------------------
// Report

function perThousand(seconds: number, points: number): string {
  return Number.isNaN(seconds) ? "–" : ms((1000 * seconds * 1000) / points);
}

/** The phases of one path and batch size of a run, in round order. */
interface PhaseGroup {
  path: string;
  batchSize: number;
  rounds: PhaseFigures[];
}

function groupsOf(run: DatabaseRun): PhaseGroup[] {
  const out: PhaseGroup[] = [];
  for (const p of run.phases) {
    let g = out.find((x) => x.path === p.path && x.batchSize === p.batchSize);
    if (!g) out.push((g = { path: p.path, batchSize: p.batchSize, rounds: [] }));
    g.rounds.push(p);
  }
  return out;
}

const isRaw = (path: string) => path.startsWith("raw");
const rateOf = (p: PhaseFigures) => p.points / p.seconds;

/** The run's raw SQL phases of the same batch size as a GraphQL group. */
function rawGroupFor(groups: PhaseGroup[], g: PhaseGroup): PhaseGroup | undefined {
  return isRaw(g.path) ? undefined : groups.find((x) => isRaw(x.path) && x.batchSize === g.batchSize);
}

/** GraphQL / raw SQL of each round, the two phases of a round having run one right after the other. */
function roundRatios(g: PhaseGroup, raw: PhaseGroup | undefined): number[] {
  if (!raw) return [];
  return g.rounds.flatMap((p) => {
    const r = raw.rounds.find((x) => x.round === p.round);
    return r ? [rateOf(p) / rateOf(r)] : [];
  });
}

const percent = (ratio: number) => `${(100 * ratio).toFixed(0)} %`;

function throughputTable(runs: DatabaseRun[]): string {
  const rows: string[][] = [];
  for (const run of runs) {
    const groups = groupsOf(run);
    for (const g of groups) {
      const rates = g.rounds.map(rateOf);
      const pps = median(rates);
      const ratios = roundRatios(g, rawGroupFor(groups, g));
      const ratio = ratios.length ? median(ratios) : undefined;
      let target = "–";
      if (!isRaw(g.path) && run.database === "PostgreSQL") {
        target = `≥ ${int(TARGET_POINTS_PER_SECOND)}/s: ${verdict(pps >= TARGET_POINTS_PER_SECOND)}; ≥ ${TARGET_RATIO * 100} % of raw: ${ratio === undefined ? "–" : verdict(ratio >= TARGET_RATIO)}`;
      }
      const latencies = g.rounds.flatMap((p) => p.latencies);
      const sum = (f: (p: PhaseFigures) => number) => g.rounds.reduce((a, p) => a + f(p), 0);
      rows.push([
        run.database,
        g.path,
        int(g.batchSize),
        `${g.rounds.length} × ${g.rounds[0]!.clients} × ${g.rounds.map((p) => int(p.batches)).join(" / ")}`,
        int(sum((p) => p.points)),
        sum((p) => p.seconds).toFixed(2),
        `**${int(pps)}**`,
        g.rounds.length > 1 ? rates.map(int).join(" / ") : "–",
        ratio === undefined ? "–" : `**${percent(ratio)}**${ratios.length > 1 ? ` (${ratios.map(percent).join(" / ")})` : ""}`,
        ms(quantile(latencies, 0.5)),
        ms(quantile(latencies, 0.95)),
        ms(Math.max(...latencies)),
        target,
      ]);
    }
  }
  return table(
    [
      "Database",
      "Path",
      "batch",
      "rounds × clients × batches",
      "points",
      "s",
      "points/s (median of rounds)",
      "points/s of each round",
      "GraphQL / raw (median of the rounds' ratios; each round)",
      "p50 ms/batch",
      "p95 ms/batch",
      "max ms/batch",
      "target",
    ],
    rows,
  );
}

function costTable(runs: DatabaseRun[]): string {
  const rows: string[][] = [];
  for (const run of runs) {
    for (const g of groupsOf(run)) {
      const sum = (f: (p: PhaseFigures) => number) => g.rounds.reduce((a, p) => a + f(p), 0);
      const points = sum((p) => p.points);
      const batches = sum((p) => p.batches);
      const builds = g.rounds.filter((p) => p.buildMs !== undefined);
      const stalls = g.rounds.flatMap((p) => (p.stallMs === undefined ? [] : [p.stallMs]));
      const drains = g.rounds.flatMap((p) => (p.drain ? [p.drain] : []));
      rows.push([
        run.database,
        g.path,
        int(g.batchSize),
        perThousand(sum((p) => p.cpu.server), points),
        perThousand(sum((p) => p.cpu.postgres), points),
        perThousand(sum((p) => p.cpu.bench), points),
        builds.length ? ms(builds.reduce((a, p) => a + p.buildMs! * p.batches, 0) / batches) : "–",
        stalls.length ? ms(Math.max(...stalls)) : "–",
        isRaw(g.path) ? "–" : `${sum((p) => p.resets)} / ${sum((p) => p.serverErrors)}`,
        drains.length
          ? drains.map((d) => `${int(d.pendingAtStart)} / ${ms(d.ms)}${d.drained ? "" : " (not cleared)"}`).join("; ")
          : "–",
      ]);
    }
  }
  return table(
    [
      "Database",
      "Path",
      "batch",
      "Vigil CPU ms / 1k points",
      "PostgreSQL CPU ms / 1k points",
      "benchmark CPU ms / 1k points",
      "body build ms / batch",
      "longest GET /healthz ms",
      "batches resent: connection reset / server error",
      "series-minutes marked for rollup after the phase / ms until cleared",
    ],
    rows,
  );
}

function bytesPer(bytes: number | undefined, n: number | undefined): string {
  if (bytes === undefined || !n) return "–";
  return (bytes / n).toFixed(1);
}

/** "149.6 MiB (VACUUM FULL: 21.0 MiB)" */
function sizePair(a: number | undefined, b: number | undefined, per?: number): string {
  if (a === undefined) return "–";
  const f = (x: number) => (per === undefined ? mib(x) : bytesPer(x, per));
  return b === undefined ? f(a) : `${f(a)} (${f(b)})`;
}

function storageTable(runs: DatabaseRun[]): string {
  const rows: string[][] = [];
  for (const run of runs) {
    const f = run.footprint;
    const st = f?.storage;
    if (!f || !st) continue;
    const c = f.compacted;
    const s = st.samples;
    const rollup = (x: Storage | undefined) => (x ? x.rollups1m.totalBytes + x.rollups1h.totalBytes : undefined);
    rows.push([
      run.database,
      `${int(s.rows)}${s.rowsAll !== s.rows ? ` (partitions hold ${int(s.rowsAll)})` : ""} in ${s.partitions} partition${s.partitions === 1 ? "" : "s"}`,
      `**${sizePair(s.totalBytes, c?.samples.totalBytes, s.rows)}**`,
      `${bytesPer(s.heapBytes, s.rows)} / ${bytesPer(s.indexBytes, s.rows)}`,
      `${int(st.rollups1m.rows)} / ${sizePair(st.rollups1m.totalBytes, c?.rollups1m.totalBytes)}`,
      `${int(st.rollups1h.rows)} / ${sizePair(st.rollups1h.totalBytes, c?.rollups1h.totalBytes)}`,
      sizePair(rollup(st), rollup(c), s.rows),
      `${int(st.series.rows)} / ${sizePair(st.series.totalBytes, c?.series.totalBytes, st.series.rows)}`,
      f.dataDirBytes === undefined ? "–" : mib(f.dataDirBytes),
    ]);
  }
  return table(
    [
      "Database",
      "sample rows",
      "bytes per sample (after VACUUM FULL)",
      "heap / index bytes per sample",
      "1-minute rollups: rows / size (after VACUUM FULL)",
      "1-hour rollups: rows / size (after VACUUM FULL)",
      "rollup bytes per sample (after VACUUM FULL)",
      "metric_series: rows / bytes per series (after VACUUM FULL)",
      "DATA_DIR on disk",
    ],
    rows,
  );
}

function footprintTable(runs: DatabaseRun[]): string {
  const rows: string[][] = [];
  for (const run of runs) {
    const f = run.footprint;
    if (!f) continue;
    rows.push([
      run.database,
      `**${int(f.ingest.points / f.ingest.seconds)}**`,
      ms(quantile(f.ingest.latencies, 0.5)),
      ms(Math.max(...f.ingest.latencies)),
      ms(f.ingest.stallMs),
      `${f.ingest.resets} / ${f.ingest.serverErrors}`,
      mib(f.rssAtStart),
      `**${mib(f.rssAfterIngest)}**`,
      mib(f.hwmAfterIngest),
      f.rssAfterDrain === undefined ? "–" : mib(f.rssAfterDrain),
      `${int(f.drain.pendingAtStart)} / ${ms(f.drain.ms)}${f.drain.drained ? "" : " (not cleared)"}${f.drain.restarts ? `, ${f.drain.restarts} restarts` : ""}`,
    ]);
  }
  return table(
    [
      "Database",
      "ingest points/s",
      "p50 ms/batch",
      "max ms/batch",
      "longest GET /healthz ms",
      "batches resent: connection reset / server error",
      "server RSS at start",
      "RSS after the ingest",
      "peak RSS (VmHWM)",
      "RSS once rollups caught up",
      "series-minutes marked for rollup / ms until cleared",
    ],
    rows,
  );
}

function summaryLines(runs: DatabaseRun[]): string[] {
  const lines: string[] = [];
  for (const run of runs) {
    const groups = groupsOf(run);
    const parts = groups
      .filter((g) => !isRaw(g.path))
      .map((g) => {
        const raw = rawGroupFor(groups, g);
        const ratios = roundRatios(g, raw);
        const rounds = g.rounds.length > 1 ? `median of ${g.rounds.length} rounds: ` : "";
        const ratio = raw && ratios.length ? ` = ${percent(median(ratios))} of raw (${int(median(raw.rounds.map(rateOf)))})` : "";
        return `${int(g.batchSize)}: ${rounds}${int(median(g.rounds.map(rateOf)))} points/s${ratio}`;
      });
    lines.push(`- ${run.database}, GraphQL points/s by batch size — ${parts.join("; ")}.`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  const opts = parseOptions(argv);
  if (!existsSync(VIGIL_MAIN)) throw new Error(`${VIGIL_MAIN} is missing: run \`npm run build\` first (npm run bench:ingest does).`);
  const began = performance.now();
  const loadBefore = os.loadavg()[0]!;
  const date = new Date().toISOString();
  const workDir = mkdtempSync(join(os.tmpdir(), "vigil-bench-ingest-"));
  cleanupWorkDir(workDir, opts.keep);
  process.stderr.write(`bench:ingest: work directory ${workDir}\n`);
  const adminKey = randomBytes(24).toString("hex");
  const otherCpu = otherCpuMeter();

  const runs: DatabaseRun[] = [];
  let pgLine = "not measured (--skip-postgres)";
  if (opts.databaseUrl) {
    const db = await prepareBenchDatabase(opts.databaseUrl);
    pgLine = settingsLine(db);
    runs.push(await runPostgres(workDir, db, adminKey, opts));
  }
  if (!opts.skipEmbedded) runs.push(await runEmbedded(workDir, adminKey, opts));

  const per = opts.points ? `${int(opts.points)} points` : `${opts.duration} s`;
  const how =
    opts.rounds > 1
      ? `On PostgreSQL, ${opts.rounds} rounds per batch size, each a GraphQL phase of ${per} and then the raw SQL phase of the same rows; the figures are the medians over the rounds, ` +
        `and GraphQL / raw is the median of the rounds' own ratios (the two phases of a round run one right after the other, so a drift of the machine's speed ` +
        `over tens of seconds weighs on both alike). The embedded database: one GraphQL phase of ${per} per batch size`
      : `${per} per batch size`;
  const section = [
    `## ingest: points per second through GraphQL, against raw SQL; bytes per sample and RSS`,
    "",
    ...headerLines({ name: "ingest", argv, date, began, loadBefore, postgres: pgLine, otherCpu: otherCpu() }),
    "",
    `### Throughput`,
    "",
    `\`ingestMetrics\` with the batch as a GraphQL variable, POSTed by ${opts.clients} concurrent clients (one keep-alive node:http connection each, in the benchmark process) to Vigil ` +
      `(\`node ${START_FLAGS.map((f) => `${f} `).join("")}dist/src/main.js\` as \`npm start\` runs it, LOG_LEVEL=${opts.logLevel}, default pool size${opts.cpuProf ? ", **--cpu-prof** (profiling slows the server)" : ""}) on 127.0.0.1; ${int(opts.series)} series \`${SERIES_NAME}{host="h0".."h${opts.series - 1}"}\`, ` +
      `GAUGE, every batch a block of whole timestamps 1 s apart that no earlier batch used (so every row is new). ${how}, after one request that creates ` +
      `the series and ${opts.warmup} s of unmeasured warm-up; points/s counts accepted points over the wall time from the first request to the last answer. ` +
      `The raw SQL rows write the same number of rows with the same batch size and ${opts.clients} sessions into the same metric_samples table for the same ` +
      `series ids and new timestamps: \`${RAW_INSERT}\` (a named prepared statement; on the embedded database, PGlite opened in the benchmark process ` +
      `on the stopped server's DATA_DIR, one session). Raw SQL writes samples only — no series resolution, no rollup markers, no HTTP or GraphQL — so it ` +
      `is the ceiling of any ingest path on that database. After each GraphQL phase on PostgreSQL the benchmark waits until the tenant's ` +
      `metric_rollup_pending is empty (the background rollup job has caught up) before the raw phase.`,
    "",
    throughputTable(runs),
    "",
    ...summaryLines(runs),
    `- Targets (PostgreSQL): ≥ ${int(TARGET_POINTS_PER_SECOND)} points/s through GraphQL and ≥ ${TARGET_RATIO * 100} % of raw SQL.`,
    "",
    `Where the time goes, per phase: CPU is user+system seconds of the Vigil process, of every \`postgres\` process on the machine ` +
      `and of the benchmark process, per 1,000 points. "longest GET /healthz" is the slowest answer of a probe polling \`/healthz\` (no database) every 200 ms ` +
      `during the phase: how long the server could not answer anything. A connection the server reset before answering is counted and the ` +
      `batch sent again (the same points again change nothing), and so is an INTERNAL_SERVER_ERROR answer (the server log's messages are listed below). The rollup job runs every ROLLUP_INTERVAL_MS (default 5 s), so "ms until ` +
      `cleared" includes up to one interval of waiting for its next run.`,
    "",
    costTable(runs),
    "",
    ...FAST_PATH_NOTES,
    "",
    ...(runs.some((r) => r.footprint)
      ? [
          `### Storage and memory after ${int(opts.footprintPoints)} points in ${int(opts.footprintSeries)} series`,
          "",
          `A tenant of its own, first on an empty database: batches of ${int(opts.footprintSeries)} points (one timestamp for every series, ${FOOTPRINT_STEP_MS / 1000} s apart, ` +
            `all on the day before yesterday), ${opts.clients} clients. RSS is VmRSS of the server process (/proc/<pid>/status); on the embedded ` +
            `database it includes PGlite's WebAssembly heap. The rollup markers are counted when the ingest ends (embedded: when the server has been ` +
            `stopped, which lets a rollup pass in progress finish; the server is then restarted until none are left).`,
          "",
          footprintTable(runs),
          "",
          `Sizes are \`pg_total_relation_size\` (heap, indexes, TOAST, free-space and visibility maps) of the metric_samples and ` +
            `metric_rollups_1m partitions that hold the tenant's rows (found by tableoid; they hold no other rows unless the cell says so), and of ` +
            `metric_rollups_1h and metric_series (not partitioned; only this tenant's rows exist at that point), read once the rollup job had emptied ` +
            `metric_rollup_pending for the tenant, then again in parentheses after \`VACUUM FULL\` of the same relations: the first is the disk ` +
            `the server's writes occupy (rewritten rollup and series rows leave dead tuples; PostgreSQL's autovacuum makes their space reusable ` +
            `but keeps the files, PGlite has no autovacuum), the second the live rows alone. Per-sample figures divide by the sample rows. ` +
            `Embedded: read with PGlite in the benchmark process after the server stopped.`,
          "",
          storageTable(runs),
          "",
        ]
      : []),
    ...runs.flatMap((r) => r.notes.map((n) => `- ${r.database}: ${n}`)),
    `- Vigil processes after SIGTERM, in start order (exit code and time to exit; 0 is a clean shutdown, SIGKILL means it had not exited ` +
      `${VIGIL_STOP_TIMEOUT_MS / 1000} s after SIGTERM): ${runs.map((r) => `${r.database}: ${r.serverExit.join(", ")}`).join("; ")}.`,
    "",
  ].join("\n");

  process.stdout.write(`\n${section}\n`);
  writeBenchmarksMd("ingest", section);
  process.stderr.write(`wrote ${BENCHMARKS_MD}\n`);
}

runBench("ingest", main);
