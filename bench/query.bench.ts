import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import {
  type BenchDatabase,
  type BenchTenant,
  DAY_MS,
  ingestRetries,
  connectPg,
  createMetricsTenant,
  DEFAULT_BENCH_DATABASE_URL,
  drainEmbedded,
  type DrainFigures,
  ingestBody,
  openPglite,
  type PointInput,
  prepareBenchDatabase,
  sendIngest,
  serverErrors,
  settingsLine,
  type Sql,
  sqlOf,
  startEmbedded,
  startPostgres,
  stopVigil,
  verdict,
  VIGIL_STOP_TIMEOUT_MS,
  waitForRollups,
} from "./metrics-support";
import {
  assertAlive,
  BENCHMARKS_MD,
  cleanupWorkDir,
  dataOf,
  headerLines,
  int,
  intOption,
  LOG_LEVELS,
  ms,
  otherCpuMeter,
  postGraphQL,
  quantile,
  redactUrl,
  runBench,
  table,
  VIGIL_MAIN,
  type VigilStart,
  writeBenchmarksMd,
} from "./support";

/**
 * `npm run bench:query`: latency of `aggregate` (GraphQL over HTTP) over one series of 1 M samples
 * and over 100 series × 10 k samples grouped by a label, against the equivalent SQL sent by pg
 * straight to metric_samples (and, where the server reads rollups, to the rollup table).
 *
 * The data is seeded through `ingestMetrics`, as production writes it, and the benchmark waits
 * until the rollup job has emptied metric_rollup_pending for the tenant before measuring. Requests
 * are sequential (one at a time): these are latencies, not throughput. Every GraphQL answer is
 * compared with the raw SQL answer (bucket starts and values), so a fast wrong answer shows.
 *
 * PostgreSQL first, then the embedded database; there the raw SQL runs on PGlite opened in this
 * process on the stopped server's DATA_DIR (one process owns it). Vigil is a child process
 * (`node dist/src/main.js`, LOG_LEVEL=warn) on 127.0.0.1, stopped by pid (bench/support.ts).
 *
 * Output: a Markdown report on stdout and the `<!-- bench:query:start/end -->` section of BENCHMARKS.md.
 */

const BIG_NAME = "bench_query_big";
const GROUPED_NAME = "bench_query_grouped";
const GROUPS = 10;
const BATCH = 10_000;
const SEED_CLIENTS = 2;
const TARGET_P95_MS = 150;
const AGGREGATE_QUERY =
  "query Aggregate($s: SeriesSelectorInput!, $from: DateTime!, $to: DateTime!, $step: Int!, $fn: AggregateFn!, $g: [String!]) " +
  "{ aggregate(selector: $s, from: $from, to: $to, stepSeconds: $step, fn: $fn, groupBy: $g) { labels buckets { timestamp value } } }";

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  runs: number;
  warmup: number;
  samples: number;
  groupSeries: number;
  groupSamples: number;
  groupInterval: number;
  embeddedScale: number;
  caseBudget: number;
  databaseUrl: string | undefined;
  skipEmbedded: boolean;
  drainTimeout: number;
  logLevel: string;
  keep: boolean;
}

const USAGE = `usage: npm run bench:query -- [options]
  --runs <n>               measured runs per query and target (default 50)
  --warmup <n>             unmeasured runs first (default 5)
  --samples <n>            samples of the single series, 1 s apart, ending now (default 1000000)
  --group-series <n>       series of the grouped case (default 100; label group has ${GROUPS} values)
  --group-samples <n>      samples per grouped series (default 10000)
  --group-interval <s>     seconds between samples of the grouped series (default 10)
  --embedded-scale <pct>   percentage of both sample counts seeded into the embedded database (default 100)
  --case-budget <s>        stop measuring a query on one target after this many seconds, with fewer runs (default 20)
  --database-url <url>     PostgreSQL (default env BENCH_DATABASE_URL, else ${DEFAULT_BENCH_DATABASE_URL});
                           a database named vigil_bench* is dropped and created empty; "test" is refused
  --skip-postgres          embedded database only
  --skip-embedded          PostgreSQL only
  --drain-timeout <s>      longest wait for the rollup job after seeding (default 300)
  --log-level <level>      LOG_LEVEL of Vigil (default warn)
  --keep                   keep the temporary data and log directory`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      runs: { type: "string", default: "50" },
      warmup: { type: "string", default: "5" },
      samples: { type: "string", default: "1000000" },
      "group-series": { type: "string", default: "100" },
      "group-samples": { type: "string", default: "10000" },
      "group-interval": { type: "string", default: "10" },
      "embedded-scale": { type: "string", default: "100" },
      "case-budget": { type: "string", default: "20" },
      "database-url": { type: "string" },
      "skip-postgres": { type: "boolean", default: false },
      "skip-embedded": { type: "boolean", default: false },
      "drain-timeout": { type: "string", default: "300" },
      "log-level": { type: "string", default: "warn" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const url = values["skip-postgres"] ? "" : (values["database-url"] ?? process.env.BENCH_DATABASE_URL ?? DEFAULT_BENCH_DATABASE_URL);
  if (url && !/^postgres(ql)?:\/\//.test(url)) throw new Error(`--database-url must be a postgres:// URL, got ${redactUrl(url)}`);
  if (!LOG_LEVELS.includes(values["log-level"])) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  if (!url && values["skip-embedded"]) throw new Error("--skip-postgres and --skip-embedded leave nothing to measure");
  const groupSamples = intOption("group-samples", values["group-samples"], 100, 1_000_000);
  const groupInterval = intOption("group-interval", values["group-interval"], 1, 3_600);
  if (groupSamples * groupInterval > 25 * 86_400) throw new Error("--group-samples × --group-interval must stay within 25 days (the tenant keeps 30)");
  return {
    runs: intOption("runs", values.runs, 1, 10_000),
    warmup: intOption("warmup", values.warmup, 0, 1_000),
    // 25 days at 1 s apart stays inside the tenant's 30-day retention
    samples: intOption("samples", values.samples, 10_000, 2_160_000),
    groupSeries: intOption("group-series", values["group-series"], GROUPS, 1_000),
    groupSamples,
    groupInterval,
    embeddedScale: intOption("embedded-scale", values["embedded-scale"], 1, 100),
    caseBudget: intOption("case-budget", values["case-budget"], 1, 3_600),
    databaseUrl: url || undefined,
    skipEmbedded: values["skip-embedded"],
    drainTimeout: intOption("drain-timeout", values["drain-timeout"], 1, 3_600),
    logLevel: values["log-level"],
    keep: values.keep,
  };
}

// ---------------------------------------------------------------------------------------------
// Seed

interface Dataset {
  samples: number;
  groupSeries: number;
  groupSamples: number;
  groupIntervalMs: number;
  /** last timestamp of every series (epoch ms, whole seconds) */
  end: number;
}

/** A deterministic value with a daily cycle and noise, so averages and percentiles are not trivial. */
function valueAt(ts: number, offset: number): number {
  let h = Math.imul((ts / 1000) ^ (offset * 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  const noise = ((h >>> 0) / 2 ** 32) * 20 - 10;
  return Math.round((50 + offset + 30 * Math.sin((2 * Math.PI * ts) / 86_400_000) + noise) * 1000) / 1000;
}

/** The bodies of the seed, 10,000 points each, built when sent (not all held at once). */
function* seedBatches(d: Dataset): Generator<{ label: string; body: () => string; points: number }> {
  const first = d.end - (d.samples - 1) * 1000;
  for (let start = 0; start < d.samples; start += BATCH) {
    const n = Math.min(BATCH, d.samples - start);
    yield {
      label: BIG_NAME,
      points: n,
      body: () => {
        const points: PointInput[] = [];
        for (let i = start; i < start + n; i++) {
          const ts = first + i * 1000;
          points.push({ name: BIG_NAME, type: "GAUGE", labels: { series: "big" }, timestamp: ts, value: valueAt(ts, 0) });
        }
        return ingestBody(points);
      },
    };
  }
  // Grouped: every batch holds whole timestamps for every series, like scrapes.
  const perBatch = Math.max(1, Math.floor(BATCH / d.groupSeries));
  const gFirst = d.end - (d.groupSamples - 1) * d.groupIntervalMs;
  for (let k0 = 0; k0 < d.groupSamples; k0 += perBatch) {
    const slots = Math.min(perBatch, d.groupSamples - k0);
    yield {
      label: GROUPED_NAME,
      points: slots * d.groupSeries,
      body: () => {
        const points: PointInput[] = [];
        for (let k = k0; k < k0 + slots; k++) {
          const ts = gFirst + k * d.groupIntervalMs;
          for (let s = 0; s < d.groupSeries; s++) {
            points.push({ name: GROUPED_NAME, type: "GAUGE", labels: { host: `s${s}`, group: `g${s % GROUPS}` }, timestamp: ts, value: valueAt(ts, s) });
          }
        }
        return ingestBody(points);
      },
    };
  }
}

interface SeedFigures {
  points: number;
  seconds: number;
  /** batches of the seed sent again: the connection was reset, or the server answered INTERNAL_SERVER_ERROR */
  resets: number;
  serverErrors: number;
  drain: DrainFigures & { restarts?: number };
  rows?: { samples: number; rollups1m: number; rollups1h: number };
}

/**
 * One point per UTC day of the range (the single series' first sample of that day, as the seed
 * writes it), sent alone before the seed: every day partition then exists before the concurrent
 * seed and the rollup job run. Creating partitions while the rollup job works can deadlock (seen:
 * "deadlock detected" in Partitions.ensureFor, answered as INTERNAL_SERVER_ERROR), which is not what
 * this benchmark measures.
 */
function partitionPoints(d: Dataset): PointInput[] {
  const first = d.end - (d.samples - 1) * 1000;
  const points: PointInput[] = [];
  for (let day = Math.floor(first / DAY_MS); day <= Math.floor(d.end / DAY_MS); day++) {
    const ts = first + Math.max(0, Math.ceil((day * DAY_MS - first) / 1000)) * 1000;
    points.push({ name: BIG_NAME, type: "GAUGE", labels: { series: "big" }, timestamp: ts, value: valueAt(ts, 0) });
  }
  return points;
}

async function seed(server: VigilStart, tenant: BenchTenant, d: Dataset): Promise<{ points: number; seconds: number; resets: number; serverErrors: number }> {
  const retries0 = { ...ingestRetries };
  const days = partitionPoints(d);
  await sendIngest(server.url, tenant.key, ingestBody(days), days.length);
  const batches = [...seedBatches(d)];
  let next = 0;
  let points = 0;
  const t0 = performance.now();
  let lastReport = t0;
  const loop = async () => {
    while (next < batches.length) {
      const b = batches[next++]!;
      await sendIngest(server.url, tenant.key, b.body(), b.points);
      points += b.points;
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        process.stderr.write(`    ${int(points)} points seeded\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: SEED_CLIENTS }, loop));
  assertAlive(server.child);
  return { points, seconds: (performance.now() - t0) / 1000, resets: ingestRetries.resets - retries0.resets, serverErrors: ingestRetries.serverErrors - retries0.serverErrors };
}

async function rowCounts(sql: Sql, tenantId: string): Promise<SeedFigures["rows"]> {
  const count = async (table: string) => (await sql<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${table} WHERE tenant_id = $1`, [tenantId]))[0]!.n;
  return { samples: await count("metric_samples"), rollups1m: await count("metric_rollups_1m"), rollups1h: await count("metric_rollups_1h") };
}

// ---------------------------------------------------------------------------------------------
// Cases

/** group key → bucket start (epoch ms) → value; null values are left out. */
type Answer = Map<string, Map<number, number>>;

interface QueryCase {
  name: string;
  /** what the server reads for it, from the step (see MetricsQueryService.aggregateFor) */
  source: string;
  stepSeconds: number;
  fn: "AVG" | "P95";
  seriesName: string;
  groupBy: string[] | null;
  from: number;
  to: number;
  /** raw SQL with $1 tenant, $2 series name, $3 step ms, $4 from, $5 to (exclusive) */
  rawSql: string;
  /** the same from the rollup table the server reads, where it reads one */
  rollupSql?: string;
}

const STEP_EXPR = (col: string) => `(${col} - ${col} % $3)::float8`;

function rawSql(fn: QueryCase["fn"], grouped: boolean): string {
  const agg = fn === "AVG" ? "avg(m.value)" : "percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value)";
  const g = grouped ? "s.labels ->> 'group'" : "''";
  return `SELECT ${g} AS g, ${STEP_EXPR("m.ts")} AS bucket, ${agg} AS value
  FROM metric_samples m JOIN metric_series s ON s.tenant_id = m.tenant_id AND s.id = m.series_id
 WHERE s.tenant_id = $1 AND s.name = $2 AND m.tenant_id = $1 AND m.ts >= $4 AND m.ts < $5
 GROUP BY 1, 2 ORDER BY 1, 2`;
}

/**
 * AVG from a rollup table; rows whose grain start lies before `from` are included (no sample lies
 * before `from` here). The floor for a rollup-based answer: each series' group label read once (a
 * materialized CTE), not per rollup row, and each series' rows summed per bucket by their own index
 * search (lateral) before the groups are: joined plainly, PostgreSQL 15 sorted every rollup row of
 * the grouped case and took longer than the server (193 ms p50 against 67).
 */
function rollupSql(table: string, grainMs: number, grouped: boolean): string {
  const g = grouped ? "labels ->> 'group'" : "''";
  return `WITH s AS MATERIALIZED (SELECT id, ${g} AS g FROM metric_series WHERE tenant_id = $1 AND name = $2)
SELECT s.g, x.bucket::float8 AS bucket, sum(x.sum) / sum(x.n) AS value
  FROM s CROSS JOIN LATERAL (
    SELECT r.bucket - r.bucket % $3 AS bucket, sum(r.value_sum) AS sum, sum(r.sample_count) AS n FROM ${table} r
     WHERE r.tenant_id = $1 AND r.series_id = s.id AND r.bucket >= $4::bigint - $4::bigint % ${grainMs} AND r.bucket < $5 GROUP BY 1) x
 GROUP BY 1, 2 ORDER BY 1, 2`;
}

function cases(d: Dataset): QueryCase[] {
  // Half a second beyond the first and last samples: inclusive or exclusive bounds cannot differ.
  const bigFrom = d.end - (d.samples - 1) * 1000 - 500;
  const bigTo = d.end + 500;
  const bigRangeS = (bigTo - bigFrom) / 1000;
  const hourStep = Math.max(1, Math.round(bigRangeS / 100 / 3600)) * 3600;
  let rawStep = Math.max(1, Math.round(bigRangeS / 100));
  if (rawStep % 60 === 0) rawStep += 1;
  const gFrom = d.end - (d.groupSamples - 1) * d.groupIntervalMs - 500;
  const gTo = d.end + 500;
  const minuteStep = Math.max(1, Math.round((gTo - gFrom) / 1000 / 100 / 60)) * 60;
  const minuteSource = minuteStep % 3600 === 0 ? "hour rollups + minute and raw edges" : "minute rollups + raw edges";
  return [
    {
      name: `AVG of 1 series × ${int(d.samples)} samples`,
      source: "hour rollups + minute and raw edges",
      stepSeconds: hourStep,
      fn: "AVG",
      seriesName: BIG_NAME,
      groupBy: null,
      from: bigFrom,
      to: bigTo,
      rawSql: rawSql("AVG", false),
      rollupSql: rollupSql("metric_rollups_1h", 3_600_000, false),
    },
    {
      name: `AVG of 1 series × ${int(d.samples)} samples, step not a multiple of 60 s`,
      source: "whole hours and minutes of each bucket from rollups, the minutes cut by its edges raw",
      stepSeconds: rawStep,
      fn: "AVG",
      seriesName: BIG_NAME,
      groupBy: null,
      from: bigFrom,
      to: bigTo,
      rawSql: rawSql("AVG", false),
    },
    {
      name: `P95 of 1 series × ${int(d.samples)} samples`,
      source: "raw samples (percentile)",
      stepSeconds: hourStep,
      fn: "P95",
      seriesName: BIG_NAME,
      groupBy: null,
      from: bigFrom,
      to: bigTo,
      rawSql: rawSql("P95", false),
    },
    {
      name: `AVG of ${d.groupSeries} series × ${int(d.groupSamples)} samples, groupBy [group] (${GROUPS} groups)`,
      source: minuteSource,
      stepSeconds: minuteStep,
      fn: "AVG",
      seriesName: GROUPED_NAME,
      groupBy: ["group"],
      from: gFrom,
      to: gTo,
      rawSql: rawSql("AVG", true),
      rollupSql: minuteStep % 3600 === 0 ? rollupSql("metric_rollups_1h", 3_600_000, true) : rollupSql("metric_rollups_1m", 60_000, true),
    },
  ];
}

function variables(c: QueryCase): Record<string, unknown> {
  return {
    s: { name: c.seriesName },
    from: new Date(c.from).toISOString(),
    to: new Date(c.to).toISOString(),
    step: c.stepSeconds,
    fn: c.fn,
    g: c.groupBy,
  };
}

async function graphqlAnswer(server: VigilStart, key: string, c: QueryCase): Promise<Answer> {
  const reply = await postGraphQL(server.url, key, AGGREGATE_QUERY, variables(c), 120_000);
  const series = dataOf(reply, AGGREGATE_QUERY).aggregate as Array<{ labels: Record<string, string>; buckets: Array<{ timestamp: string; value: number | null }> }>;
  const answer: Answer = new Map();
  for (const s of series) {
    const m = new Map<number, number>();
    for (const b of s.buckets) if (b.value !== null) m.set(Date.parse(b.timestamp), b.value);
    answer.set(c.groupBy ? (s.labels.group ?? "?") : "", m);
  }
  return answer;
}

async function sqlAnswer(sql: Sql, tenantId: string, c: QueryCase, text: string): Promise<Answer> {
  const rows = await sql<{ g: string; bucket: number; value: number }>(text, [tenantId, c.seriesName, c.stepSeconds * 1000, c.from, c.to]);
  const answer: Answer = new Map();
  for (const r of rows) {
    let m = answer.get(r.g);
    if (!m) answer.set(r.g, (m = new Map()));
    m.set(Number(r.bucket), Number(r.value));
  }
  return answer;
}

/** "equal" or what differs between the GraphQL answer and the raw SQL one. */
function compare(got: Answer, want: Answer): { ok: boolean; text: string; buckets: number; groups: number } {
  const problems: string[] = [];
  let maxRel = 0;
  let buckets = 0;
  for (const [g, wm] of want) {
    const gm = got.get(g);
    if (!gm) {
      problems.push(`group ${JSON.stringify(g)} missing`);
      continue;
    }
    buckets += wm.size;
    let missing = 0;
    for (const [ts, v] of wm) {
      const x = gm.get(ts);
      if (x === undefined) missing++;
      else maxRel = Math.max(maxRel, Math.abs(x - v) / Math.max(1e-12, Math.abs(v)));
    }
    if (missing) problems.push(`${missing} buckets of group ${JSON.stringify(g)} missing`);
    const extra = [...gm.keys()].filter((ts) => !wm.has(ts)).length;
    if (extra) problems.push(`${extra} buckets of group ${JSON.stringify(g)} that raw SQL does not have`);
  }
  for (const g of got.keys()) if (!want.has(g)) problems.push(`extra group ${JSON.stringify(g)}`);
  if (maxRel > 1e-9) problems.push(`values differ by up to ${maxRel.toExponential(1)} (relative)`);
  const ok = problems.length === 0;
  return { ok, text: ok ? `equal (max rel. diff ${maxRel.toExponential(0)})` : `**DIFFERS**: ${problems.join("; ")}`, buckets, groups: want.size };
}

// ---------------------------------------------------------------------------------------------
// Measurement

interface Timings {
  runs: number[];
  /** true when the case budget ended the runs early */
  cut: boolean;
}

/** `warmup` unmeasured calls, then up to `runs` timed ones, stopping after `budgetMs`. */
async function time(fn: () => Promise<unknown>, warmup: number, runs: number, budgetMs: number): Promise<Timings> {
  const t0 = performance.now();
  for (let i = 0; i < warmup && performance.now() - t0 < budgetMs / 4; i++) await fn();
  const out: number[] = [];
  const m0 = performance.now();
  for (let i = 0; i < runs; i++) {
    if (out.length >= 3 && performance.now() - m0 > budgetMs) return { runs: out, cut: true };
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return { runs: out, cut: false };
}

interface CaseFigures {
  database: string;
  c: QueryCase;
  graphql?: Timings;
  raw?: Timings;
  rollup?: Timings;
  check?: ReturnType<typeof compare>;
  rollupCheck?: ReturnType<typeof compare>;
}

async function measureGraphql(database: string, server: VigilStart, tenant: BenchTenant, list: QueryCase[], opts: Options): Promise<{ figures: CaseFigures[]; answers: Answer[] }> {
  const figures: CaseFigures[] = [];
  const answers: Answer[] = [];
  for (const c of list) {
    process.stderr.write(`  ${database}: GraphQL ${c.name}, step ${c.stepSeconds} s\n`);
    answers.push(await graphqlAnswer(server, tenant.key, c));
    const t = await time(() => graphqlAnswer(server, tenant.key, c), opts.warmup, opts.runs, opts.caseBudget * 1000);
    process.stderr.write(`    p50 ${ms(quantile(t.runs, 0.5))} ms, p95 ${ms(quantile(t.runs, 0.95))} ms (${t.runs.length} runs)\n`);
    figures.push({ database, c, graphql: t });
  }
  return { figures, answers };
}

async function measureSql(database: string, sql: Sql, tenantId: string, figures: CaseFigures[], answers: Answer[], opts: Options): Promise<void> {
  for (const [i, f] of figures.entries()) {
    const c = f.c;
    process.stderr.write(`  ${database}: SQL ${c.name}\n`);
    f.check = compare(answers[i]!, await sqlAnswer(sql, tenantId, c, c.rawSql));
    f.raw = await time(() => sqlAnswer(sql, tenantId, c, c.rawSql), opts.warmup, opts.runs, opts.caseBudget * 1000);
    process.stderr.write(`    raw p50 ${ms(quantile(f.raw.runs, 0.5))} ms, p95 ${ms(quantile(f.raw.runs, 0.95))} ms; ${f.check.text}\n`);
    if (c.rollupSql) {
      const text = c.rollupSql;
      f.rollupCheck = compare(await sqlAnswer(sql, tenantId, c, text), await sqlAnswer(sql, tenantId, c, c.rawSql));
      f.rollup = await time(() => sqlAnswer(sql, tenantId, c, text), opts.warmup, opts.runs, opts.caseBudget * 1000);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Runs per database

interface DatabaseRun {
  database: string;
  dataset: Dataset;
  seed: SeedFigures;
  cases: CaseFigures[];
  serverExit: string[];
  notes: string[];
}

function dataset(opts: Options, scalePct: number): Dataset {
  const scale = (n: number) => Math.max(1_000, Math.round((n * scalePct) / 100));
  return {
    samples: scale(opts.samples),
    groupSeries: opts.groupSeries,
    groupSamples: scale(opts.groupSamples),
    groupIntervalMs: opts.groupInterval * 1000,
    end: Math.floor(Date.now() / 1000) * 1000 - 1000,
  };
}

async function runPostgres(workDir: string, db: BenchDatabase, adminKey: string, opts: Options): Promise<DatabaseRun> {
  const database = "PostgreSQL";
  const d = dataset(opts, 100);
  const server = await startPostgres(workDir, "postgres", db.url, adminKey, opts.logLevel);
  const client = await connectPg(db.url, "vigil-bench-query");
  const sql = sqlOf(client);
  const serverExit: string[] = [];
  let run: DatabaseRun;
  try {
    const tenant = await createMetricsTenant(server.url, adminKey, "query");
    process.stderr.write(`  ${database}: seeding ${int(d.samples + d.groupSeries * d.groupSamples)} points through ingestMetrics\n`);
    const seeded = await seed(server, tenant, d);
    process.stderr.write(`    ${int(seeded.points / seeded.seconds)} points/s; waiting for the rollup job\n`);
    const drain = await waitForRollups(sql, tenant.id, server.child, opts.drainTimeout * 1000);
    process.stderr.write(`    rollups caught up in ${ms(drain.ms)} ms\n`);
    const notes: string[] = [];
    if (!drain.drained) notes.push(`The rollup job had not caught up after ${opts.drainTimeout} s (${int(drain.pendingLeft)} markers left): the queries refreshed those minutes themselves.`);
    const rows = await rowCounts(sql, tenant.id);
    const list = cases(d);
    const { figures, answers } = await measureGraphql(database, server, tenant, list, opts);
    await measureSql(database, sql, tenant.id, figures, answers, opts);
    run = { database, dataset: d, seed: { ...seeded, drain, rows }, cases: figures, serverExit, notes };
  } finally {
    await client.end().catch(() => undefined);
    serverExit.push(await stopVigil(server));
  }
  const errors = serverErrors(server);
  if (errors.length) run.notes.push(`Errors the server logged: ${errors.join("; ")}.`);
  return run;
}

async function runEmbedded(workDir: string, adminKey: string, opts: Options): Promise<DatabaseRun> {
  const database = "embedded (PGlite)";
  const d = dataset(opts, opts.embeddedScale);
  const dataDir = join(workDir, "embedded-data");
  mkdirSync(dataDir);
  const servers: VigilStart[] = [];
  let label = 0;
  const start = async () => {
    const s = await startEmbedded(workDir, `embedded-${++label}`, dataDir, adminKey, opts.logLevel);
    servers.push(s);
    return s;
  };
  const notes: string[] = [];
  const serverExit: string[] = [];
  try {
    let server = await start();
    const tenant = await createMetricsTenant(server.url, adminKey, "query");
    process.stderr.write(`  ${database}: seeding ${int(d.samples + d.groupSeries * d.groupSamples)} points through ingestMetrics\n`);
    const seeded = await seed(server, tenant, d);
    process.stderr.write(`    ${int(seeded.points / seeded.seconds)} points/s; waiting for the rollup job (server restarts, DATA_DIR read in this process)\n`);
    const { drain, inspected: rows } = await drainEmbedded(server, start, dataDir, tenant.id, opts.drainTimeout * 1000, (sql) => rowCounts(sql, tenant.id));
    serverExit.push(...drain.stops);
    if (!drain.drained) notes.push(`The rollup job had not caught up after ${opts.drainTimeout} s (${int(drain.pendingLeft)} markers left): the queries refreshed those minutes themselves.`);
    server = await start();
    const list = cases(d);
    const { figures, answers } = await measureGraphql(database, server, tenant, list, opts);
    serverExit.push(await stopVigil(server));
    const pg = await openPglite(dataDir);
    try {
      await measureSql(database, pg.sql, tenant.id, figures, answers, opts);
    } finally {
      await pg.close();
    }
    return { database, dataset: d, seed: { ...seeded, drain, rows }, cases: figures, serverExit, notes };
  } finally {
    for (const s of servers) if (!s.child.exit) await stopVigil(s);
    const errors = servers.flatMap(serverErrors);
    if (errors.length) notes.push(`Errors the servers logged: ${errors.join("; ")}.`);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function p(t: Timings | undefined, q: number): string {
  return t ? ms(quantile(t.runs, q)) : "–";
}

function runsOf(f: CaseFigures): string {
  const parts = [f.graphql, f.raw, f.rollup].filter((t): t is Timings => t !== undefined).map((t) => `${t.runs.length}${t.cut ? "*" : ""}`);
  return parts.join(" / ");
}

function casesTable(runs: DatabaseRun[]): string {
  const rows: string[][] = [];
  for (const run of runs) {
    for (const f of run.cases) {
      const g95 = f.graphql ? quantile(f.graphql.runs, 0.95) : NaN;
      const ratio = f.graphql && f.raw ? quantile(f.graphql.runs, 0.5) / quantile(f.raw.runs, 0.5) : NaN;
      rows.push([
        run.database,
        f.c.name,
        int(f.c.stepSeconds),
        f.c.source,
        f.check ? `${int(f.check.buckets)} × ${f.check.groups}` : "–",
        p(f.graphql, 0.5),
        `**${p(f.graphql, 0.95)}**`,
        p(f.raw, 0.5),
        p(f.raw, 0.95),
        f.rollup ? `${p(f.rollup, 0.5)} / ${p(f.rollup, 0.95)}` : "–",
        Number.isNaN(ratio) ? "–" : ratio.toFixed(2),
        runsOf(f),
        f.check?.text ?? "–",
        run.database === "PostgreSQL" ? `≤ ${TARGET_P95_MS} ms p95: ${verdict(g95 <= TARGET_P95_MS)}` : "–",
      ]);
    }
  }
  return table(
    [
      "Database",
      "Query",
      "step s",
      "server reads",
      "buckets × groups",
      "GraphQL p50 ms",
      "GraphQL p95 ms",
      "raw SQL p50 ms",
      "raw SQL p95 ms",
      "rollup-table SQL p50 / p95 ms",
      "GraphQL / raw SQL (p50)",
      "runs (GraphQL / raw / rollup)",
      "GraphQL answer vs raw SQL",
      "target",
    ],
    rows,
  );
}

function seedTable(runs: DatabaseRun[]): string {
  return table(
    ["Database", "series × samples", "points", "seed points/s", "batches resent: connection reset / server error", "rollup markers after the seed", "ms until the rollup job had cleared them", "sample rows", "1-minute rollup rows", "1-hour rollup rows"],
    runs.map((r) => [
      r.database,
      `1 × ${int(r.dataset.samples)} (1 s apart) + ${r.dataset.groupSeries} × ${int(r.dataset.groupSamples)} (${r.dataset.groupIntervalMs / 1000} s apart)`,
      int(r.seed.points),
      int(r.seed.points / r.seed.seconds),
      `${r.seed.resets} / ${r.seed.serverErrors}`,
      int(r.seed.drain.pendingAtStart),
      `${ms(r.seed.drain.ms)}${r.seed.drain.drained ? "" : " (not cleared)"}${r.seed.drain.restarts ? ` (${r.seed.drain.restarts} restarts)` : ""}`,
      int(r.seed.rows?.samples),
      int(r.seed.rows?.rollups1m),
      int(r.seed.rows?.rollups1h),
    ]),
  );
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  const opts = parseOptions(argv);
  if (!existsSync(VIGIL_MAIN)) throw new Error(`${VIGIL_MAIN} is missing: run \`npm run build\` first (npm run bench:query does).`);
  const began = performance.now();
  const loadBefore = os.loadavg()[0]!;
  const date = new Date().toISOString();
  const workDir = mkdtempSync(join(os.tmpdir(), "vigil-bench-query-"));
  cleanupWorkDir(workDir, opts.keep);
  process.stderr.write(`bench:query: work directory ${workDir}\n`);
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

  const embedded = runs.find((r) => r.database.startsWith("embedded"));
  const section = [
    `## query: \`aggregate\` latency against raw SQL`,
    "",
    ...headerLines({ name: "query", argv, date, began, loadBefore, postgres: pgLine, otherCpu: otherCpu() }),
    "",
    `### Data`,
    "",
    `Seeded through \`ingestMetrics\` (batches of ${int(BATCH)} points, ${SEED_CLIENTS} clients) into a tenant of its own on an empty database, every series ending ` +
      `at the start of the run; GAUGE values with a daily cycle and noise. \`${BIG_NAME}\` is one series; \`${GROUPED_NAME}\` has labels host and group ` +
      `(${GROUPS} values). Before any query the benchmark waited until the rollup job had emptied metric_rollup_pending for the tenant ` +
      `(PostgreSQL: polled with SQL; embedded: the server was stopped, DATA_DIR read in this process, and the server restarted while markers were left, ` +
      `so there "rollup markers after the seed" is the count once the first server had stopped). Before the seed, one point per UTC day of the range ` +
      `is ingested alone so that no day partition is created while the rollup job runs (that can deadlock: see the notes if any error was logged).` +
      (embedded && opts.embeddedScale < 100 ? ` **The embedded database holds ${opts.embeddedScale} % of the samples** (--embedded-scale), to keep the run within its time.` : ""),
    "",
    seedTable(runs),
    "",
    `### Latency`,
    "",
    `One request at a time: ${opts.warmup} unmeasured runs, then ${opts.runs} measured (fewer, marked *, when a query on one target used up ` +
      `--case-budget ${opts.caseBudget} s). GraphQL: POST \`aggregate\` with variables to Vigil (\`node dist/src/main.js\`, LOG_LEVEL=${opts.logLevel}) ` +
      `on 127.0.0.1, timed in the benchmark process until the JSON answer is parsed. The range is the whole of the series' samples (from half ` +
      `a second before the first to half a second after the last); steps give about 100 buckets. Raw SQL: the equivalent aggregate sent by pg ` +
      `(embedded: PGlite in the benchmark process on the stopped server's DATA_DIR) straight to metric_samples, joined to metric_series by name, ` +
      `\`GROUP BY\` bucket (\`ts - ts % step\`) with \`avg(value)\` or \`percentile_cont(0.95)\`, under the database's own settings. ` +
      `"rollup-table SQL" is AVG as \`sum(value_sum) / sum(sample_count)\` over the rollup table the server reads most of for that step (each ` +
      `series' group label read once, in a materialized CTE, not per rollup row; summed per series by a lateral index search, then per group; the raw and finer edges left out): the floor for ` +
      `a rollup-based answer. Every GraphQL answer was compared with the raw SQL answer, bucket by bucket.`,
    "",
    casesTable(runs),
    "",
    `- Target (PostgreSQL): ≤ ${TARGET_P95_MS} ms p95 for every query.`,
    ...runs.flatMap((r) =>
      r.cases.filter((f) => f.rollupCheck && !f.rollupCheck.ok).map((f) => `- ${r.database}, ${f.c.name}: the rollup-table SQL differs from raw SQL: ${f.rollupCheck!.text}.`),
    ),
    ...runs.flatMap((r) => r.notes.map((n) => `- ${r.database}: ${n}`)),
    `- Vigil processes after SIGTERM, in start order (exit code and time to exit; 0 is a clean shutdown, SIGKILL means it had not exited ` +
      `${VIGIL_STOP_TIMEOUT_MS / 1000} s after SIGTERM): ${runs.map((r) => `${r.database}: ${r.serverExit.join(", ")}`).join("; ")}.`,
    "",
  ].join("\n");

  process.stdout.write(`\n${section}\n`);
  writeBenchmarksMd("query", section);
  process.stderr.write(`wrote ${BENCHMARKS_MD}\n`);
}

runBench("query", main);
