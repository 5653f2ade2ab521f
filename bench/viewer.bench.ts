import autocannon from "autocannon";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { ALL_SCOPES } from "../src/domain/auth/scopes";
import {
  BENCHMARKS_MD,
  cleanupWorkDir,
  graphqlOk,
  headerLines,
  int,
  intOption,
  LOG_LEVELS,
  median,
  ms,
  POLL_INTERVAL_MS,
  postGraphQL,
  postgresVersion,
  readGeneratedAdminKey,
  redactUrl,
  runBench,
  startVigil,
  stopAll,
  stopChild,
  table,
  type VigilStart,
  VIGIL_MAIN,
  writeBenchmarksMd,
  BARE_APOLLO_MAIN,
  startBareApollo,
} from "./support";

/**
 * `npm run bench:viewer`: cold start of Vigil (embedded PGlite and PostgreSQL) and the throughput
 * of an authenticated `viewer` query, compared with a bare Apollo Server 5 on express 5.
 *
 * Every server is a child process of this one (`node dist/...`), so the load generator
 * (autocannon, in this process) never shares an event loop with a server; on a 2-core machine
 * they still share the cores, and so does PostgreSQL. All traffic goes to 127.0.0.1. Children are
 * stopped by their own pid, in `finally` blocks and on SIGINT/SIGTERM of this process (bench/support.ts).
 *
 * Output: a Markdown report on stdout, and the section between `<!-- bench:viewer:start -->` and
 * `<!-- bench:viewer:end -->` of BENCHMARKS.md at the repository root (replaced, or appended).
 */

const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";

const VIEWER_QUERY = "{ viewer { platformAdmin scopes tenant { id slug } } }";
const VIEWER_BODY = JSON.stringify({ query: VIEWER_QUERY });
/** What bench/bare-apollo.server.ts answers. */
const BARE_TENANT = { id: "00000000-0000-4000-8000-000000000000", slug: "bench-0123456789" };

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  duration: number;
  connections: number;
  warmup: number;
  runs: number;
  databaseUrl: string | undefined;
  logLevel: string;
  keep: boolean;
}

const USAGE = `usage: npm run bench:viewer -- [options]
  --duration <s>        seconds of measured load per target (default 10)
  --connections <n>     concurrent connections of autocannon (default 10)
  --warmup <s>          seconds of unmeasured load before each measurement (default 2; 0 = none)
  --runs <n>            repetitions of each cold-start measurement; the median is reported (default 3)
  --database-url <url>  PostgreSQL for the second set of figures (default: env BENCH_DATABASE_URL,
                        else ${DEFAULT_DATABASE_URL}); "" or --skip-postgres skips it
  --skip-postgres       measure the embedded database and the bare server only
  --log-level <level>   LOG_LEVEL of Vigil during the throughput runs (default info, as in production)
  --keep                keep the temporary data and log directory`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      duration: { type: "string", default: "10" },
      connections: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      runs: { type: "string", default: "3" },
      "database-url": { type: "string" },
      "skip-postgres": { type: "boolean", default: false },
      "log-level": { type: "string", default: "info" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const url = values["skip-postgres"] ? "" : (values["database-url"] ?? process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL);
  if (url && !/^postgres(ql)?:\/\//.test(url)) throw new Error(`--database-url must be a postgres:// URL, got ${redactUrl(url)}`);
  const logLevel = values["log-level"];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new Error(`--log-level must be one of fatal, error, warn, info, debug, trace, silent`);
  }
  return {
    duration: intOption("duration", values.duration, 1, 600),
    connections: intOption("connections", values.connections, 1, 1000),
    warmup: intOption("warmup", values.warmup, 0, 60),
    runs: intOption("runs", values.runs, 1, 20),
    databaseUrl: url || undefined,
    logLevel,
    keep: values.keep,
  };
}

// ---------------------------------------------------------------------------------------------
// Vigil processes

/**
 * What Vigil logged about its start. Read after the process has exited: pino may still hold
 * lines in its buffer while the process runs.
 */
function parseStartLog(log: string): { startupMs: number | undefined; migrationsApplied: number } {
  let startupMs: number | undefined;
  let migrationsApplied = 0;
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; startupMs?: number; migrations?: unknown[] };
      if (entry.msg === "Vigil is listening" && typeof entry.startupMs === "number") startupMs = entry.startupMs;
      if (entry.msg === "applied migrations" && Array.isArray(entry.migrations)) migrationsApplied += entry.migrations.length;
    } catch {
      // not a pino line
    }
  }
  return { startupMs, migrationsApplied };
}

// ---------------------------------------------------------------------------------------------
// GraphQL over HTTP

/** A new tenant and an all-scope key, made with the platform admin key as test/builders/tenant.builder.ts does. */
async function seedTenant(url: string, adminKey: string): Promise<{ id: string; slug: string; key: string }> {
  const slug = `bench-${randomBytes(5).toString("hex")}`;
  const created = await graphqlOk(url, adminKey, `mutation($input: CreateTenantInput!) { createTenant(input: $input) { id slug } }`, {
    input: { slug, name: `Benchmark ${slug}` },
  });
  const tenant = created.createTenant as { id: string; slug: string };
  const keyed = await graphqlOk(
    url,
    adminKey,
    `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`,
    { input: { name: "bench:viewer", scopes: ALL_SCOPES, tenantId: tenant.id } },
  );
  return { id: tenant.id, slug: tenant.slug, key: (keyed.createApiKey as { secret: string }).secret };
}

/**
 * Sends the benchmark's exact request once and fails unless it answers 200 with the expected
 * viewer and no errors. Returns the body text, which autocannon then expects on every response.
 */
async function verifyViewer(target: string, url: string, key: string | undefined, tenant: { id: string; slug: string }): Promise<string> {
  const r = await postGraphQL(url, key, VIEWER_QUERY);
  const viewer = r.body?.data?.viewer as { platformAdmin?: unknown; scopes?: unknown; tenant?: { id?: unknown; slug?: unknown } | null } | undefined;
  const problems: string[] = [];
  if (r.status !== 200) problems.push(`HTTP ${r.status}`);
  if (r.body?.errors?.length) problems.push("errors in the response");
  if (!viewer) problems.push("no data.viewer");
  else {
    if (viewer.platformAdmin !== false) problems.push(`platformAdmin is ${JSON.stringify(viewer.platformAdmin)}, expected false`);
    const scopes = Array.isArray(viewer.scopes) ? [...(viewer.scopes as string[])].sort() : viewer.scopes;
    if (JSON.stringify(scopes) !== JSON.stringify([...ALL_SCOPES].sort())) problems.push(`scopes are ${JSON.stringify(viewer.scopes)}`);
    if (viewer.tenant?.id !== tenant.id || viewer.tenant?.slug !== tenant.slug) {
      problems.push(`tenant is ${JSON.stringify(viewer.tenant)}, expected ${JSON.stringify(tenant)}`);
    }
  }
  if (problems.length) throw new Error(`${target}: the viewer query did not return the expected data (${problems.join("; ")}):\n${r.text.slice(0, 1000)}`);
  return r.text;
}

// ---------------------------------------------------------------------------------------------
// Measurements

interface StartFigures {
  label: string;
  database: string;
  readyMs: number[];
  startupMs: number[];
  stopMs: number[];
  migrationsApplied: number[];
  /** exit code (or signal) after SIGTERM */
  exits: string[];
}

interface LoadFigures {
  target: string;
  database: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  seconds: number;
  /** why an earlier attempt on this target was discarded, if one was */
  retriedBecause?: string;
}

function emptyStart(label: string, database: string): StartFigures {
  return { label, database, readyMs: [], startupMs: [], stopMs: [], migrationsApplied: [], exits: [] };
}

/** Stops the started process and records its figures. */
async function stopAndRecord(f: StartFigures, s: VigilStart): Promise<void> {
  const stopMs = await stopChild(s.child);
  const { startupMs, migrationsApplied } = parseStartLog(readFileSync(s.child.logPath, "utf8"));
  f.readyMs.push(s.readyMs);
  if (startupMs !== undefined) f.startupMs.push(startupMs);
  f.stopMs.push(stopMs);
  f.migrationsApplied.push(migrationsApplied);
  f.exits.push(s.child.exit?.signal ?? String(s.child.exit?.code ?? "?"));
}

/** Cold start on a fresh empty DATA_DIR, then a warm restart on the same directory; `runs` times. */
async function measureEmbeddedStarts(workDir: string, runs: number): Promise<{ cold: StartFigures; warm: StartFigures; dataDir: string; adminKey: string }> {
  const cold = emptyStart("cold start, fresh empty DATA_DIR", "embedded (PGlite)");
  const warm = emptyStart("warm restart, same DATA_DIR", "embedded (PGlite)");
  let dataDir = "";
  let adminKey = "";
  for (let i = 1; i <= runs; i++) {
    dataDir = join(workDir, `data-${i}`);
    mkdirSync(dataDir);
    const first = await startVigil(workDir, `embedded-cold-${i}`, { DATA_DIR: dataDir });
    try {
      adminKey = await readGeneratedAdminKey(first.child);
    } finally {
      await stopAndRecord(cold, first);
    }
    const again = await startVigil(workDir, `embedded-warm-${i}`, { DATA_DIR: dataDir });
    await stopAndRecord(warm, again);
    process.stderr.write(`  embedded run ${i}/${runs}: cold ${ms(first.readyMs)} ms, warm ${ms(again.readyMs)} ms\n`);
  }
  return { cold, warm, dataDir, adminKey };
}

async function measurePostgresStarts(workDir: string, runs: number, databaseUrl: string, adminKey: string): Promise<{ first: StartFigures; again: StartFigures }> {
  const first = emptyStart("start, VIGIL_ADMIN_KEY set", "PostgreSQL");
  const again = emptyStart("restart", "PostgreSQL");
  const env = { DATABASE_URL: databaseUrl, VIGIL_ADMIN_KEY: adminKey };
  for (let i = 1; i <= runs; i++) {
    const a = await startVigil(workDir, `postgres-start-${i}`, env);
    await stopAndRecord(first, a);
    const b = await startVigil(workDir, `postgres-restart-${i}`, env);
    await stopAndRecord(again, b);
    process.stderr.write(`  PostgreSQL run ${i}/${runs}: start ${ms(a.readyMs)} ms, restart ${ms(b.readyMs)} ms\n`);
  }
  return { first, again };
}

async function load(target: string, database: string, url: string, key: string | undefined, expectBody: string, opts: Options): Promise<LoadFigures> {
  const base: autocannon.Options = {
    url,
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: VIEWER_BODY,
    connections: opts.connections,
    pipelining: 1,
    timeout: 10,
    expectBody,
  };
  if (opts.warmup > 0) await autocannon({ ...base, duration: opts.warmup });
  const r = await autocannon({ ...base, duration: opts.duration });
  return {
    target,
    database,
    rps: r.requests.mean,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    mismatches: r.mismatches,
    seconds: r.duration,
  };
}

async function loadVigil(label: string, database: string, start: () => Promise<VigilStart>, adminKey: string, opts: Options): Promise<LoadFigures> {
  const vigil = await start();
  try {
    const url = `http://127.0.0.1:${vigil.port}/graphql`;
    const tenant = await seedTenant(url, adminKey);
    const expected = await verifyViewer(label, url, tenant.key, tenant);
    process.stderr.write(`  ${label}: tenant ${tenant.slug}, verified; loading ${opts.warmup} s + ${opts.duration} s\n`);
    const figures = await load(label, database, url, tenant.key, expected, opts);
    await verifyViewer(`${label} (after the load)`, url, tenant.key, tenant);
    return figures;
  } finally {
    await stopChild(vigil.child);
  }
}

/**
 * On PostgreSQL the database is shared: a test run's global setup there drops and recreates the
 * public schema, which takes this benchmark's tenant and key with it (seen as "invalid API key"
 * after the load). Such an attempt is discarded, said loudly, and repeated once; a second failure
 * ends the benchmark.
 */
async function loadVigilOnSharedDatabase(...args: Parameters<typeof loadVigil>): Promise<LoadFigures> {
  try {
    return await loadVigil(...args);
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0]!;
    process.stderr.write(`  WARNING: ${reason}\n  (the shared database may have been reset by a test run meanwhile): repeating once with a new tenant\n`);
    return { ...(await loadVigil(...args)), retriedBecause: reason };
  }
}

async function loadBare(workDir: string, opts: Options): Promise<LoadFigures> {
  const { child, url } = await startBareApollo(workDir, "load", VIEWER_QUERY);
  try {
    const expected = await verifyViewer("bare Apollo", url, undefined, BARE_TENANT);
    process.stderr.write(`  bare Apollo: verified; loading ${opts.warmup} s + ${opts.duration} s\n`);
    const figures = await load("bare Apollo Server 5 + express 5", "none (constant)", url, undefined, expected, opts);
    await verifyViewer("bare Apollo (after the load)", url, undefined, BARE_TENANT);
    return figures;
  } finally {
    await stopChild(child);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function startTable(figures: StartFigures[]): string {
  return table(
    ["Database", "Start", "spawn → /readyz 200, median ms", "runs (ms)", "app.start() median ms", "SIGTERM → exit median ms", "exit codes", "migrations applied"],
    figures.map((f) => [
      f.database,
      f.label,
      `**${ms(median(f.readyMs))}**`,
      f.readyMs.map(ms).join(" / "),
      ms(median(f.startupMs)),
      ms(median(f.stopMs)),
      f.exits.join(" / "),
      f.migrationsApplied.join(" / "),
    ]),
  );
}

function loadTable(figures: LoadFigures[], bare: LoadFigures | undefined): string {
  return table(
    ["Target", "Database", "req/s (mean)", "p50 ms", "p99 ms", "requests", "errors (timeouts)", "non-2xx", "body mismatches", "ratio to bare (req/s)", "µs per request over bare"],
    figures.map((f) => {
      const isBare = f === bare;
      const ratio = bare && !isBare ? (f.rps / bare.rps).toFixed(3) : "–";
      const extra = bare && !isBare ? int(1e6 / f.rps - 1e6 / bare.rps) : "–";
      return [f.target, f.database, `**${int(f.rps)}**`, ms(f.p50), ms(f.p99), int(f.requests), `${f.errors} (${f.timeouts})`, String(f.non2xx), String(f.mismatches), ratio, extra];
    }),
  );
}

function ratioSentence(vigil: LoadFigures[], bare: LoadFigures | undefined): string {
  if (!bare || !vigil.length) return "";
  const parts = vigil.map(
    (v) => `on ${v.database} Vigil serves ${(100 * (v.rps / bare.rps)).toFixed(0)} % of the bare server's requests per second (about ${int(1e6 / v.rps - 1e6 / bare.rps)} µs more per request)`,
  );
  return (
    `The ratio is the cost of Vigil's framework + authentication per request: both servers parse the same JSON body and run the same query through the same Apollo Server 5 on express 5, ` +
    `so the difference is Vigil's own work — pino-http request logging, the Apollo plugins, type-graphql's resolver layer, and the API-key lookup (SHA-256 plus one SQL query by prefix) ` +
    `and the tenant read that an authenticated \`viewer\` needs; ${parts.join("; ")}. ` +
    `"µs per request over bare" is 1/throughput minus the bare server's 1/throughput, which approximates the extra server time per request while the server is saturated.`
  );
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  const opts = parseOptions(argv);
  for (const file of [VIGIL_MAIN, BARE_APOLLO_MAIN]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first (npm run bench:viewer does).`);
  }
  const began = performance.now();
  const loadBefore = os.loadavg()[0]!;
  const date = new Date().toISOString();
  const workDir = mkdtempSync(join(os.tmpdir(), "vigil-bench-viewer-"));
  cleanupWorkDir(workDir, opts.keep);

  let pg: { version?: string; error?: string } = {};
  if (opts.databaseUrl) pg = await postgresVersion(opts.databaseUrl);
  const pgUrl = opts.databaseUrl && pg.version ? opts.databaseUrl : undefined;

  const starts: StartFigures[] = [];
  const loads: LoadFigures[] = [];
  let bare: LoadFigures | undefined;
  try {
    process.stderr.write(`bench:viewer: work directory ${workDir}\ncold starts (${opts.runs} runs each)\n`);
    const embedded = await measureEmbeddedStarts(workDir, opts.runs);
    starts.push(embedded.cold, embedded.warm);
    const pgAdminKey = randomBytes(24).toString("hex");
    if (pgUrl) {
      const pgStarts = await measurePostgresStarts(workDir, opts.runs, pgUrl, pgAdminKey);
      starts.push(pgStarts.first, pgStarts.again);
    } else if (opts.databaseUrl) {
      process.stderr.write(`  PostgreSQL at ${redactUrl(opts.databaseUrl)} is unreachable (${pg.error}): skipped\n`);
    }

    process.stderr.write(`throughput (${opts.connections} connections, ${opts.warmup} s warm-up + ${opts.duration} s each)\n`);
    bare = await loadBare(workDir, opts);
    loads.push(bare);
    loads.push(
      await loadVigil(
        "Vigil",
        "embedded (PGlite)",
        () => startVigil(workDir, "embedded-load", { DATA_DIR: embedded.dataDir }, opts.logLevel),
        embedded.adminKey,
        opts,
      ),
    );
    if (pgUrl) {
      loads.push(
        await loadVigilOnSharedDatabase(
          "Vigil",
          "PostgreSQL",
          () => startVigil(workDir, "postgres-load", { DATABASE_URL: pgUrl, VIGIL_ADMIN_KEY: pgAdminKey }, opts.logLevel),
          pgAdminKey,
          opts,
        ),
      );
    }
  } finally {
    await stopAll();
  }

  const cpus = os.cpus();
  const pgLine = opts.databaseUrl
    ? pg.version
      ? pg.version
      : `unreachable at ${redactUrl(opts.databaseUrl)} (${pg.error}); its rows are skipped`
    : "not measured (--skip-postgres)";
  const vigilLoads = loads.filter((l) => l !== bare);
  const section = [
    `## viewer: cold start and authenticated \`viewer\` throughput`,
    "",
    ...headerLines({ name: "viewer", argv, date, began, loadBefore, postgres: pgLine }),
    "",
    `### Cold start (median of ${opts.runs})`,
    "",
    `\`node dist/src/main.js\` as a child process, HOST=127.0.0.1, LOG_LEVEL=info; timed from spawn until \`GET /readyz\` answers 200 ` +
      `(polled every ${POLL_INTERVAL_MS} ms). "app.start()" is the startupMs Vigil logs (database, migrations, Apollo, listen); the rest is ` +
      `Node start-up, module loading and schema building. The embedded cold start runs without VIGIL_ADMIN_KEY, so it also generates ` +
      `the bootstrap admin key. PostgreSQL starts use the existing database (already migrated unless "migrations applied" says otherwise).`,
    "",
    startTable(starts),
    "",
    ...(starts.some((f) => f.exits.some((e) => e !== "0"))
      ? [
          `A non-zero exit code means that process did not finish its own shutdown after SIGTERM (main.ts exits 0 once ` +
            `sockets, HTTP and the database are closed): rerun with --keep and read its log in the printed work directory.`,
          "",
        ]
      : []),
    `### Throughput of \`${VIEWER_QUERY}\``,
    "",
    `autocannon in the benchmark process, ${opts.connections} connections, pipelining 1, ${opts.warmup} s warm-up then ${opts.duration} s measured, ` +
      `POST JSON with \`content-type: application/json\`; Vigil with a tenant key (all scopes) and LOG_LEVEL=${opts.logLevel}, one process each, ` +
      `default pool size on PostgreSQL. Each target answered the query correctly once before and once after its load; "body mismatches" counts ` +
      `responses whose body differed from that verified answer (for example GraphQL errors with status 200). Server, load generator and ` +
      `PostgreSQL share the machine's ${cpus.length} cores.`,
    "",
    loadTable(loads, bare),
    "",
    ...loads
      .filter((l) => l.retriedBecause)
      .map((l) => `${l.target} on ${l.database} was measured a second time: the first attempt failed with "${l.retriedBecause}" (the shared database is reset by test runs).\n`),
    ratioSentence(vigilLoads, bare),
    "",
  ].join("\n");

  process.stdout.write(`\n${section}\n`);
  writeBenchmarksMd("viewer", section);
  process.stderr.write(`wrote ${BENCHMARKS_MD}\n`);
}

runBench("viewer", main);
