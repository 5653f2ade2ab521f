import { randomBytes, randomInt } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { ALL_SCOPES } from "../src/domain/auth/scopes";
import { summarizeProfile } from "./rules-support";
import {
  assertAlive,
  childEnv,
  cleanupWorkDir,
  databaseLine,
  graphqlOk,
  headerLines,
  int,
  intOption,
  ms,
  otherCpuMeter,
  prepareDatabase,
  quantile,
  redactUrl,
  runBench,
  startVigil,
  stopChild,
  table,
  type VigilStart,
  writeBenchmarksMd,
} from "./support";
import { Driver, type MemoryReading, type RoundFigures, readMemory, rssOf, startRawServer, vigilMetric } from "./ws-support";

/**
 * `npm run bench:ws`: 10,000 concurrent graphql-ws subscribers on one Vigil process, driven from a
 * separate client process (bench/ws-driver.ts) on loopback.
 *
 * 1. Vigil (`node dist/src/main.js`, PostgreSQL) with the connection limits raised. The driver
 *    opens N graphql-ws sockets (connection_init with one of K keys of one tenant, acknowledged),
 *    then subscribes each once to `auditEvents`. Vigil's RSS (/proc) and V8 heap (GET /metrics)
 *    are read before, after the connections and after the subscriptions: memory per connection.
 * 2. Fan-out: each round the driver POSTs one `updateTenant` mutation (one audit event, delivered
 *    to all N subscribers) and times every socket's receipt from just before the POST.
 * 3. Baseline in the same run: a bare `ws` server process (bench/ws-raw.server.ts) with N plain
 *    sockets from the same driver; each round it broadcasts the exact frame a Vigil subscriber
 *    received, triggered by an HTTP POST, timed the same way.
 * 4. Two Vigil processes A and B with REDIS_URL: the N subscribers on B, the mutation sent to A.
 *
 * Only one server runs during each phase. Every child is stopped by its pid; every wait is bounded.
 */

const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vigil_bench_ws";
const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
const ADMIN_KEY = `bench-ws-admin-${randomBytes(16).toString("hex")}`;
const SUBSCRIPTION = `subscription { auditEvents { id at actor action targetType targetId details } }`;
const RENAME = `mutation($id: ID!, $name: String!) { updateTenant(id: $id, input: { name: $name }) { id } }`;
const SETTLE_MS = 3_000;
const CONCURRENCY = 50;
const WARMUP_ROUNDS = 2;
const GAP_MS = 500;
const ROUND_TIMEOUT_MS = 15_000;

const TARGET_BYTES_PER_CONNECTION = 20 * 1024;
const TARGET_P99_MS = 500;
const TARGET_RATIO = 3;

interface Options {
  connections: number;
  keys: number;
  rounds: number;
  databaseUrl: string;
  redisUrl: string | undefined;
  cpuProf: boolean;
  keep: boolean;
}

const USAGE = `usage: npm run bench:ws -- [options]
  --connections <n>      concurrent subscribers (default 10000)
  --keys <n>             API keys of the one tenant the subscribers use, in turn (default 10)
  --rounds <n>           measured fan-out rounds per target (default 20; ${WARMUP_ROUNDS} warm-up rounds first)
  --database-url <url>   PostgreSQL (default env BENCH_DATABASE_URL, else ${DEFAULT_DATABASE_URL});
                         a database named vigil_bench* is dropped and created empty; "test" is refused
  --redis-url <url>      Redis for the two-process phase (default ${DEFAULT_REDIS_URL}); channels get a random prefix
  --no-redis             skip the two-process phase
  --cpu-prof             run the single Vigil with --cpu-prof and summarise where its CPU went
  --keep                 keep the work directory (logs, profiles)`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      connections: { type: "string", default: "10000" },
      keys: { type: "string", default: "10" },
      rounds: { type: "string", default: "20" },
      "database-url": { type: "string" },
      "redis-url": { type: "string" },
      "no-redis": { type: "boolean", default: false },
      "cpu-prof": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  return {
    connections: intOption("connections", values.connections, 1, 15_000),
    keys: intOption("keys", values.keys, 1, 1_000),
    rounds: intOption("rounds", values.rounds, 1, 1_000),
    databaseUrl: values["database-url"] ?? process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL,
    redisUrl: values["no-redis"] ? undefined : (values["redis-url"] ?? DEFAULT_REDIS_URL),
    cpuProf: values["cpu-prof"],
    keep: values.keep,
  };
}

interface Fanout {
  label: string;
  figures: RoundFigures[];
  all: number[];
}

interface MemoryRow {
  label: string;
  connectMs: number;
  before: MemoryReading;
  connected: MemoryReading;
  subscribed: MemoryReading | undefined;
  n: number;
}

const vigilMemory = (v: VigilStart) => async (): Promise<MemoryReading> => ({
  rss: rssOf(v.child.proc.pid!),
  heapUsed: await vigilMetric(`http://127.0.0.1:${v.port}`, "vigil_process_nodejs_heap_size_used_bytes"),
});

async function waitForMetric(v: VigilStart, name: string, wanted: (x: number) => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    assertAlive(v.child);
    const last = await vigilMetric(`http://127.0.0.1:${v.port}`, name).catch(() => NaN);
    if (wanted(last)) return;
    if (performance.now() > deadline) throw new Error(`${v.child.name}: ${what} not reached within ${timeoutMs} ms (${name} = ${last})`);
    await sleep(200);
  }
}

async function main(argv: string[]): Promise<void> {
  const opts = parseOptions(argv);
  const began = performance.now();
  const date = new Date().toISOString();
  const loadBefore = os.loadavg()[0]!;
  const otherCpu = otherCpuMeter();
  const workDir = mkdtempSync(join(os.tmpdir(), "vigil-bench-ws-"));
  cleanupWorkDir(workDir, opts.keep || opts.cpuProf);
  const db = await prepareDatabase(opts.databaseUrl, [], DEFAULT_DATABASE_URL);
  const n = opts.connections;
  const log = (line: string) => process.stderr.write(`[bench:ws ${((performance.now() - began) / 1000).toFixed(0)} s] ${line}\n`);

  const vigilEnv: Record<string, string> = {
    DATABASE_URL: db.url,
    VIGIL_ADMIN_KEY: ADMIN_KEY,
    WS_MAX_CONNECTIONS_PER_KEY: String(n),
    WS_MAX_CONNECTIONS_PER_TENANT: String(n),
    LEADER_LOCK_KEY: String(randomInt(1, 2_147_483_647)),
  };
  const profDir = join(workDir, "prof");
  const single = await startVigil(workDir, "vigil", vigilEnv, "warn", opts.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : []);
  log(`Vigil pid ${single.child.proc.pid} on port ${single.port}`);

  // one tenant, K keys with every scope (auditEvents needs TENANT_ADMIN)
  const { createTenant } = (await graphqlOk(single.url, ADMIN_KEY, `mutation($input: CreateTenantInput!) { createTenant(input: $input) { id } }`, {
    input: { slug: `ws-bench-${randomBytes(4).toString("hex")}`, name: "ws bench" },
  })) as { createTenant: { id: string } };
  const tenantId = createTenant.id;
  const keys: string[] = [];
  for (let i = 0; i < opts.keys; i++) {
    const { createApiKey } = (await graphqlOk(
      single.url,
      ADMIN_KEY,
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`,
      { input: { name: `ws bench ${i}`, scopes: [...ALL_SCOPES], tenantId } },
    )) as { createApiKey: { secret: string } };
    keys.push(createApiKey.secret);
  }
  const renameBodies = (tag: string) =>
    Array.from({ length: WARMUP_ROUNDS + opts.rounds }, (_, r) => JSON.stringify({ query: RENAME, variables: { id: tenantId, name: `ws bench ${tag} round ${String(r).padStart(3, "0")}` } }));

  const driver = new Driver(join(workDir, "driver.log"));
  await driver.request(undefined, "ready", 30_000);
  log(`driver pid ${driver.pid}`);

  const memory: MemoryRow[] = [];
  const fanouts: Fanout[] = [];
  const notes: string[] = [];

  // ---- 1 + 2: one Vigil process
  const readVigil = vigilMemory(single);
  const before = await readMemory(readVigil);
  let t0 = performance.now();
  const conn = await driver.request({ cmd: "connect", url: `ws://127.0.0.1:${single.port}/graphql`, kind: "graphql", n, keys, concurrency: CONCURRENCY }, "connected", 600_000);
  const connectMs = performance.now() - t0;
  if (conn.open !== n) throw new Error(`only ${conn.open} of ${n} graphql-ws sockets were acknowledged: ${JSON.stringify(conn.errors)}`);
  await waitForMetric(single, "vigil_ws_connections", (x) => x >= n, `${n} connections`);
  await sleep(SETTLE_MS);
  const connected = await readMemory(readVigil);
  log(`${n} sockets acknowledged in ${ms(connectMs)} ms`);
  await driver.request({ cmd: "subscribe", query: SUBSCRIPTION }, "subscribed", 60_000);
  await waitForMetric(single, "vigil_ws_subscriptions", (x) => x >= n, `${n} subscriptions`);
  await sleep(SETTLE_MS);
  const subscribed = await readMemory(readVigil);
  memory.push({ label: "Vigil (graphql-ws)", connectMs, before, connected, subscribed, n });
  log("subscribed; fan-out rounds");
  const vigilRounds = await driver.request(
    {
      cmd: "rounds",
      warmup: WARMUP_ROUNDS,
      rounds: opts.rounds,
      gapMs: GAP_MS,
      timeoutMs: ROUND_TIMEOUT_MS,
      trigger: { url: single.url, headers: { authorization: `Bearer ${keys[0]}` }, bodies: renameBodies("single") },
    },
    "rounds",
    (WARMUP_ROUNDS + opts.rounds) * (ROUND_TIMEOUT_MS + GAP_MS + 10_000),
  );
  fanouts.push({ label: "Vigil, one process", figures: vigilRounds.figures, all: vigilRounds.all });
  const sample = vigilRounds.sample;
  if (!sample) throw new Error("no subscriber received anything from Vigil");
  const peak = await vigilMetric(`http://127.0.0.1:${single.port}`, "vigil_ws_queued_messages_peak");
  const slowClosed = await vigilMetric(`http://127.0.0.1:${single.port}`, "vigil_ws_slow_consumers_closed_total");
  notes.push(`Vigil's longest send queue of one socket during the run: ${int(peak)} message(s); slow consumers closed: ${int(slowClosed)}.`);
  await driver.request({ cmd: "close" }, "closed", 120_000);
  await stopChild(single.child);
  log("single Vigil stopped");

  // ---- 3: raw ws baseline
  const raw = await startRawServer(join(workDir, "raw.log"), childEnv({}));
  const rawBase = `http://127.0.0.1:${raw.port}`;
  const readRaw = async (): Promise<MemoryReading> => {
    const stats = (await (await fetch(`${rawBase}/stats`)).json()) as { memory: { heapUsed: number } };
    return { rss: rssOf(raw.child.proc.pid!), heapUsed: stats.memory.heapUsed };
  };
  const rawBefore = await readMemory(readRaw);
  t0 = performance.now();
  const rawConn = await driver.request({ cmd: "connect", url: `ws://127.0.0.1:${raw.port}/ws`, kind: "raw", n, keys: [], concurrency: CONCURRENCY }, "connected", 600_000);
  const rawConnectMs = performance.now() - t0;
  if (rawConn.open !== n) throw new Error(`only ${rawConn.open} of ${n} raw sockets opened: ${JSON.stringify(rawConn.errors)}`);
  await sleep(SETTLE_MS);
  const rawConnected = await readMemory(readRaw);
  memory.push({ label: "raw ws", connectMs: rawConnectMs, before: rawBefore, connected: rawConnected, subscribed: undefined, n });
  log("raw sockets open; fan-out rounds");
  const rawRounds = await driver.request(
    {
      cmd: "rounds",
      warmup: WARMUP_ROUNDS,
      rounds: opts.rounds,
      gapMs: GAP_MS,
      timeoutMs: ROUND_TIMEOUT_MS,
      trigger: { url: `${rawBase}/broadcast`, headers: {}, bodies: [sample] },
    },
    "rounds",
    (WARMUP_ROUNDS + opts.rounds) * (ROUND_TIMEOUT_MS + GAP_MS + 10_000),
  );
  fanouts.push({ label: "raw ws broadcast", figures: rawRounds.figures, all: rawRounds.all });
  await driver.request({ cmd: "close" }, "closed", 120_000);
  await stopChild(raw.child);
  log("raw server stopped");

  // ---- 4: two Vigil processes over Redis
  let redisLine = "not run (--no-redis)";
  if (opts.redisUrl) {
    const prefix = `vigil-bench-ws-${randomBytes(4).toString("hex")}:`;
    const redisEnv = { ...vigilEnv, REDIS_URL: opts.redisUrl, REDIS_CHANNEL_PREFIX: prefix };
    const a = await startVigil(workDir, "vigil-a", redisEnv, "warn");
    const b = await startVigil(workDir, "vigil-b", redisEnv, "warn");
    redisLine = `${redactUrl(opts.redisUrl)}, channel prefix \`${prefix}\``;
    const bConn = await driver.request({ cmd: "connect", url: `ws://127.0.0.1:${b.port}/graphql`, kind: "graphql", n, keys, concurrency: CONCURRENCY }, "connected", 600_000);
    if (bConn.open !== n) throw new Error(`only ${bConn.open} of ${n} sockets were acknowledged by B: ${JSON.stringify(bConn.errors)}`);
    await driver.request({ cmd: "subscribe", query: SUBSCRIPTION }, "subscribed", 60_000);
    await waitForMetric(b, "vigil_ws_subscriptions", (x) => x >= n, `${n} subscriptions on B`);
    await sleep(SETTLE_MS);
    log("subscribed on B; fan-out rounds triggered through A");
    const redisRounds = await driver.request(
      {
        cmd: "rounds",
        warmup: WARMUP_ROUNDS,
        rounds: opts.rounds,
        gapMs: GAP_MS,
        timeoutMs: ROUND_TIMEOUT_MS,
        trigger: { url: a.url, headers: { authorization: `Bearer ${keys[0]}` }, bodies: renameBodies("redis") },
      },
      "rounds",
      (WARMUP_ROUNDS + opts.rounds) * (ROUND_TIMEOUT_MS + GAP_MS + 10_000),
    );
    fanouts.push({ label: "Vigil A → Redis → Vigil B", figures: redisRounds.figures, all: redisRounds.all });
    await driver.request({ cmd: "close" }, "closed", 120_000);
    await stopChild(b.child);
    await stopChild(a.child);
    log("A and B stopped");
  }
  await driver.stop();

  let profile: ReturnType<typeof summarizeProfile> | undefined;
  if (opts.cpuProf && existsSync(profDir)) {
    const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
    if (file) profile = summarizeProfile(join(profDir, file), 20);
  }

  const report = renderReport({ opts, date, began, loadBefore, otherCpu: otherCpu(), dbLine: databaseLine(db), redisLine, memory, fanouts, notes, profile, sampleBytes: Buffer.byteLength(sample), argv });
  process.stdout.write(`${report}\n`);
  writeBenchmarksMd("ws", report);
}

interface ReportInput {
  opts: Options;
  argv: string[];
  date: string;
  began: number;
  loadBefore: number;
  otherCpu: { otherSeconds: number; wallSeconds: number };
  dbLine: string;
  redisLine: string;
  memory: MemoryRow[];
  fanouts: Fanout[];
  notes: string[];
  profile: ReturnType<typeof summarizeProfile> | undefined;
  sampleBytes: number;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

function summary(f: Fanout) {
  const p50s = f.figures.map((r) => r.p50);
  const p99s = f.figures.map((r) => r.p99);
  return {
    p50: quantile(p50s, 0.5),
    p99: quantile(p99s, 0.5),
    worstP99: Math.max(...p99s),
    pooledP50: quantile(f.all, 0.5),
    pooledP99: quantile(f.all, 0.99),
    max: Math.max(...f.figures.map((r) => r.max)),
    answered: quantile(
      f.figures.map((r) => r.triggerAnsweredMs),
      0.5,
    ),
    missing: f.figures.reduce((s, r) => s + r.missing, 0),
  };
}

function renderReport(r: ReportInput): string {
  const n = r.opts.connections;
  const memRows = r.memory.map((m) => {
    const perConn = (m.connected.rss - m.before.rss) / m.n;
    const perConnHeap = (m.connected.heapUsed - m.before.heapUsed) / m.n;
    const perSub = m.subscribed ? (m.subscribed.rss - m.before.rss) / m.n : NaN;
    const perSubHeap = m.subscribed ? (m.subscribed.heapUsed - m.before.heapUsed) / m.n : NaN;
    return [
      m.label,
      int(m.n),
      ms(m.connectMs),
      `${(m.before.rss / 2 ** 20).toFixed(0)} → ${(m.connected.rss / 2 ** 20).toFixed(0)}${m.subscribed ? ` → ${(m.subscribed.rss / 2 ** 20).toFixed(0)}` : ""} MiB`,
      `**${kib(perConn)}**`,
      kib(perConnHeap),
      Number.isNaN(perSub) ? "–" : `**${kib(perSub)}**`,
      Number.isNaN(perSubHeap) ? "–" : kib(perSubHeap),
    ];
  });
  const rawSummary = r.fanouts.find((f) => f.label.startsWith("raw")) ? summary(r.fanouts.find((f) => f.label.startsWith("raw"))!) : undefined;
  const fanRows = r.fanouts.map((f) => {
    const s = summary(f);
    return [
      f.label,
      String(f.figures.length),
      ms(s.p50),
      `**${ms(s.p99)}**`,
      ms(s.worstP99),
      ms(s.pooledP50),
      ms(s.pooledP99),
      ms(s.max),
      ms(s.answered),
      int(s.missing),
      rawSummary ? `${(s.p99 / rawSummary.p99).toFixed(2)}×` : "–",
    ];
  });
  const vigil = r.memory.find((m) => m.label.startsWith("Vigil"));
  const vigilFan = r.fanouts.find((f) => f.label === "Vigil, one process");
  const verdicts: string[] = [];
  if (vigil) {
    const idle = (vigil.connected.rss - vigil.before.rss) / vigil.n;
    verdicts.push(`- Memory per idle connection ≤ ${kib(TARGET_BYTES_PER_CONNECTION)}: ${kib(idle)} RSS → ${idle <= TARGET_BYTES_PER_CONNECTION ? "met" : "**missed**"}.`);
  }
  if (vigilFan) {
    const s = summary(vigilFan);
    verdicts.push(`- Fan-out p99 ≤ ${TARGET_P99_MS} ms for ${int(n)} subscribers: ${ms(s.p99)} ms (median of the rounds' p99) → ${s.p99 <= TARGET_P99_MS ? "met" : "**missed**"}.`);
    if (rawSummary) {
      const ratio = s.p99 / rawSummary.p99;
      verdicts.push(`- Within ${TARGET_RATIO}× of raw ws (p99): ${ratio.toFixed(2)}× → ${ratio <= TARGET_RATIO ? "met" : "**missed**"}.`);
    }
  }
  const lines = [
    `## ws: ${int(n)} graphql-ws subscribers on one process, against a raw ws broadcast`,
    "",
    ...headerLines({ name: "ws", argv: r.argv, date: r.date, began: r.began, loadBefore: r.loadBefore, postgres: r.dbLine, otherCpu: r.otherCpu }),
    `- Redis (two-process phase): ${r.redisLine}`,
    "",
    `Each server runs alone in its own process (\`node dist/src/main.js\` on PostgreSQL, or \`dist/bench/ws-raw.server.js\`); a separate driver process ` +
      `(\`dist/bench/ws-driver.js\`, plain \`ws\` clients) opens ${int(n)} sockets on 127.0.0.1, ${CONCURRENCY} handshakes at a time. Vigil's sockets use ` +
      `${r.opts.keys} API keys of one tenant in turn (connection limits raised to ${int(n)} through WS_MAX_CONNECTIONS_PER_KEY/TENANT), send connection_init and wait for the ack, ` +
      `then subscribe once each to \`${SUBSCRIPTION}\`.`,
    "",
    "### Memory per connection",
    "",
    `RSS from /proc/<pid>/status, heap = V8 heapUsed (Vigil: GET /metrics; raw: process.memoryUsage()); each reading is the median of 5 taken 0.4 s apart, ` +
      `${SETTLE_MS / 1000} s after the sockets were open. Per connection = (after − before) / ${int(n)}.`,
    "",
    table(["Server", "Sockets", "Open + ack, ms", "RSS before → connected → subscribed", "RSS per idle connection", "Heap per idle connection", "RSS per connection with 1 subscription", "Heap per connection with 1 subscription"], memRows, 1),
    "",
    "### Fan-out latency of one event to every subscriber",
    "",
    `${WARMUP_ROUNDS} warm-up rounds, then ${r.opts.rounds} measured rounds ${GAP_MS} ms apart. A round starts in the driver just before it POSTs the trigger: for Vigil an ` +
      `\`updateTenant\` mutation (one audit event, i.e. a database transaction and the publish, then one GraphQL execution and one message per subscriber); ` +
      `for the baseline \`POST /broadcast\` with the exact text frame a Vigil subscriber received (${r.sampleBytes} bytes). A socket's latency is the driver's ` +
      `\`message\` event for it, minus the round's start. p50/p99 columns are the median over rounds of each round's percentile; "pooled" takes all receipts of all rounds together.`,
    "",
    table(["Target", "Rounds", "p50 ms", "p99 ms", "worst round p99", "pooled p50", "pooled p99", "max ms", "trigger answered, ms", "missing receipts", "p99 / raw p99"], fanRows, 1),
    "",
    "### Targets",
    "",
    ...verdicts,
    "",
    ...r.notes.map((note) => `- ${note}`),
  ];
  if (r.profile) {
    lines.push(
      "",
      `### CPU profile of the single Vigil (--cpu-prof, its whole life; ${int(r.profile.totalMs)} ms of samples)`,
      "",
      table(
        ["Where", "ms"],
        r.profile.places.map(([k, v]) => [k, ms(v)]),
        1,
      ),
      "",
      table(
        ["Function", "ms"],
        r.profile.functions.map(([k, v]) => [`\`${k}\``, ms(v)]),
        1,
      ),
    );
  }
  return lines.join("\n");
}


runBench("ws", main);
