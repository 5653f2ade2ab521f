import { mkdtempSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { measureDetectorThroughput } from "./anomaly-throughput";
import { BatchTemplate, DEFAULT_BENCH_DATABASE_URL, createMetricsTenant, hostLabels, prepareBenchDatabase, sendIngest, settingsLine } from "./metrics-support";
import {
  BENCHMARKS_MD,
  cleanupWorkDir,
  graphqlOk,
  headerLines,
  int,
  intOption,
  otherCpuMeter,
  redactUrl,
  runBench,
  startVigil,
  stopChild,
  table,
  type VigilStart,
  writeBenchmarksMd,
} from "./support";

/**
 * `npm run bench:anomaly`: the cost of anomaly monitors on ingest. In one run, against one Vigil
 * process (child, `node dist/src/main.js`): GraphQL ingest into a tenant without monitors, then the
 * same load into a tenant with `--monitors` monitors watching all of its series. Scoring runs after
 * commit, off the ingest call, so the client-side rate alone would hide a backlog: the "scored"
 * rate ends when the engine has scored the last point, found with a probe (a spike in a third
 * tenant, ingested after the load and polled through `anomalies`: batches are scored in order).
 * Also the detectors' own throughput through AUTO (bench/anomaly-throughput.ts), in this process.
 * Target: scored rate with monitors ≥ 70 % of the rate without.
 */

const SERIES_NAME = "bench_anomaly";
const STEP_MS = 1_000;
const TARGET_RATIO = 0.7;
const TARGET_DETECTOR_RATE = 500_000;

interface Options {
  duration: number;
  clients: number;
  series: number;
  batchSize: number;
  monitors: number;
  databaseUrl: string | undefined;
  embedded: boolean;
  keep: boolean;
}

const USAGE = `usage: npm run bench:anomaly -- [options]
  --duration <s>        seconds of ingest per phase (default 15)
  --clients <n>         concurrent clients (default 2)
  --series <n>          series per tenant (default 1000; divides --batch-size)
  --batch-size <n>      points per request (default 5000)
  --monitors <n>        monitors watching every series of the monitored tenant (default 10)
  --database-url <url>  PostgreSQL (default env BENCH_DATABASE_URL, else ${DEFAULT_BENCH_DATABASE_URL}_anomaly);
                        a database named vigil_bench* is dropped and created empty; "test" is refused
  --embedded            the embedded database instead of PostgreSQL
  --keep                keep the temporary data and log directory`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: "string", default: "15" },
      clients: { type: "string", default: "2" },
      series: { type: "string", default: "1000" },
      "batch-size": { type: "string", default: "5000" },
      monitors: { type: "string", default: "10" },
      "database-url": { type: "string" },
      embedded: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const series = intOption("series", values.series, 1, 10_000);
  const batchSize = intOption("batch-size", values["batch-size"], 1, 10_000);
  if (batchSize % series) throw new Error(`--batch-size must be a multiple of --series`);
  const url = values.embedded ? undefined : (values["database-url"] ?? process.env.BENCH_DATABASE_URL ?? `${DEFAULT_BENCH_DATABASE_URL}_anomaly`);
  if (url && !/^postgres(ql)?:\/\//.test(url)) throw new Error(`--database-url must be a postgres:// URL, got ${redactUrl(url)}`);
  return {
    duration: intOption("duration", values.duration, 1, 600),
    clients: intOption("clients", values.clients, 1, 64),
    series,
    batchSize,
    monitors: intOption("monitors", values.monitors, 0, 100),
    databaseUrl: url,
    embedded: values.embedded,
    keep: values.keep,
  };
}

interface Phase {
  points: number;
  seconds: number;
  /** from the start of the phase until the engine had scored its last point */
  scoredSeconds?: number;
}

/** `clients` loops sending batches of the template for `seconds`; timestamps advance one slot per batch. */
async function ingestFor(server: VigilStart, key: string, template: BatchTemplate, startTs: number, seconds: number, clients: number): Promise<Phase & { nextTs: number }> {
  let next = startTs;
  let points = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const ts = next;
        next += template.slots * STEP_MS;
        points += (await sendIngest(server.url, key, template.body(ts), template.points)).accepted;
      }
    }),
  );
  return { points, seconds: (performance.now() - t0) / 1000, nextTs: next };
}

const ANOMALIES = `query($m: ID) { anomalies(monitorId: $m, first: 1) { nodes { value } } }`;

async function measure(opts: Options, workDir: string, env: Record<string, string>, label: string) {
  const adminKey = "bench-admin-key-0123456789abcdef0123456789";
  const server = await startVigil(workDir, label, { ...env, VIGIL_ADMIN_KEY: adminKey }, "warn");
  try {
    const plain = await createMetricsTenant(server.url, adminKey, "anomaly:plain");
    const watched = await createMetricsTenant(server.url, adminKey, "anomaly:watched");
    const probe = await createMetricsTenant(server.url, adminKey, "anomaly:probe");
    const rulesKey = async (tenantId: string) =>
      ((await graphqlOk(server.url, adminKey, `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`, {
        input: { name: "bench:rules", scopes: ["RULES_WRITE", "ALERTS_READ"], tenantId },
      })).createApiKey as { secret: string }).secret;
    const create = `mutation($input: AnomalyMonitorInput!) { createAnomalyMonitor(input: $input) { id } }`;
    const watchedKey = await rulesKey(watched.id);
    const directions = ["BOTH", "UP", "DOWN"];
    for (let i = 0; i < opts.monitors; i++) {
      await graphqlOk(server.url, watchedKey, create, {
        input: { name: `m${i}`, selector: { name: SERIES_NAME }, threshold: 0.5 + (0.45 * i) / Math.max(1, opts.monitors), direction: directions[i % 3] },
      });
    }
    const probeKey = await rulesKey(probe.id);
    const probeMonitor = ((await graphqlOk(server.url, probeKey, create, { input: { name: "probe", selector: { name: "probe" }, algorithm: "ZSCORE" } })).createAnomalyMonitor as {
      id: string;
    }).id;

    const template = new BatchTemplate(SERIES_NAME, hostLabels(opts.series), opts.batchSize / opts.series, STEP_MS);
    const day = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000;
    // series creation and JIT outside the measurement: one batch each
    let plainTs = day;
    let watchedTs = day;
    plainTs = (await ingestFor(server, plain.key, template, plainTs, 0.001, 1)).nextTs;
    watchedTs = (await ingestFor(server, watched.key, template, watchedTs, 0.001, 1)).nextTs;
    const probePoint = (i: number, v: number) => ({ name: "probe", value: v, timestamp: day + i * STEP_MS, type: "GAUGE", labels: {} });
    await sendIngest(
      server.url,
      probe.key,
      JSON.stringify({ query: "mutation($p: [MetricPointInput!]!) { ingestMetrics(points: $p) { accepted seriesCreated } }", variables: { p: Array.from({ length: 100 }, (_, i) => probePoint(i, 10 + (i % 3))) } }),
      100,
    );

    process.stderr.write(`  ${label}: ${opts.duration} s without monitors\n`);
    const without = await ingestFor(server, plain.key, template, plainTs, opts.duration, opts.clients);
    process.stderr.write(`  ${label}: ${opts.duration} s with ${opts.monitors} monitors\n`);
    const t0 = performance.now();
    const withMonitors: Phase = await ingestFor(server, watched.key, template, watchedTs, opts.duration, opts.clients);
    // the probe's spike is scored after every batch before it
    await sendIngest(
      server.url,
      probe.key,
      JSON.stringify({ query: "mutation($p: [MetricPointInput!]!) { ingestMetrics(points: $p) { accepted seriesCreated } }", variables: { p: [probePoint(100, 1_000)] } }),
      1,
    );
    for (;;) {
      const found = (await graphqlOk(server.url, probeKey, ANOMALIES, { m: probeMonitor })).anomalies as { nodes: unknown[] };
      if (found.nodes.length) break;
      if (performance.now() - t0 > 600_000) throw new Error("the engine never scored the probe");
      await sleep(50);
    }
    withMonitors.scoredSeconds = (performance.now() - t0) / 1000;
    return { without, withMonitors };
  } finally {
    await stopChild(server.child);
  }
}

async function main(argv: string[]): Promise<void> {
  const opts = parseOptions(argv);
  const began = performance.now();
  const loadBefore = os.loadavg()[0]!;
  const other = otherCpuMeter();
  const workDir = mkdtempSync(join(os.tmpdir(), "vigil-bench-anomaly-"));
  cleanupWorkDir(workDir, opts.keep);

  process.stderr.write("detector throughput (AUTO, in process)\n");
  const single = measureDetectorThroughput("AUTO", 1_000_000);
  const many = measureDetectorThroughput("AUTO", 1_000_000, { series: 1_000 });

  let postgres = "not used (--embedded)";
  const env: Record<string, string> = {};
  if (opts.databaseUrl) {
    const db = await prepareBenchDatabase(opts.databaseUrl);
    postgres = settingsLine(db);
    env.DATABASE_URL = opts.databaseUrl;
  } else env.DATA_DIR = join(workDir, "data");
  const label = opts.databaseUrl ? "postgres" : "embedded";
  const r = await measure(opts, workDir, env, label);

  const rate = (p: Phase, s = p.seconds) => p.points / s;
  const base = rate(r.without);
  const client = rate(r.withMonitors);
  const scored = rate(r.withMonitors, r.withMonitors.scoredSeconds);
  const ratio = scored / base;
  const lines = [
    "## anomaly",
    "",
    ...headerLines({ name: "anomaly", argv, date: new Date().toISOString(), began, loadBefore, postgres, otherCpu: other() }),
    "",
    `Ingest through GraphQL (${int(opts.batchSize)} points per request, ${int(opts.series)} series, ${opts.clients} clients, ${opts.duration} s per phase, ${label} database), ` +
      `without monitors and then with ${opts.monitors} monitors (AUTO, thresholds 0.5–0.95, directions BOTH/UP/DOWN) watching every series, in the same run:`,
    "",
    table(
      ["phase", "points", "seconds", "points/s", "vs. without"],
      [
        ["without monitors", int(r.without.points), r.without.seconds.toFixed(1), int(base), "100 %"],
        ["with monitors, as clients see it", int(r.withMonitors.points), r.withMonitors.seconds.toFixed(1), int(client), `${((100 * client) / base).toFixed(0)} %`],
        ["with monitors, until all scored", int(r.withMonitors.points), r.withMonitors.scoredSeconds!.toFixed(1), int(scored), `${(100 * ratio).toFixed(0)} %`],
      ],
      1,
    ),
    "",
    `- Target: scored rate with monitors ≥ ${TARGET_RATIO * 100} % of the rate without: ${ratio >= TARGET_RATIO ? "met" : "**MISSED**"} (${(100 * ratio).toFixed(0)} %).`,
    `- Detector throughput through AUTO, one core, no I/O: ${int(single.pointsPerSecond)} points/s on one series, ${int(many.pointsPerSecond)} points/s over 1,000 series ` +
      `(target ≥ ${int(TARGET_DETECTOR_RATE)}: ${Math.min(single.pointsPerSecond, many.pointsPerSecond) >= TARGET_DETECTOR_RATE ? "met" : "**MISSED**"}).`,
    "- Monitors of one algorithm share one detector per series (src/domain/anomalies/engine.ts), so these 10 AUTO monitors cost one detector update per point plus ten threshold checks.",
  ];
  const section = lines.join("\n");
  process.stdout.write(`${section}\n`);
  writeBenchmarksMd("anomaly", section);
  process.stderr.write(`written to ${BENCHMARKS_MD}\n`);
}

runBench("anomaly", main);
