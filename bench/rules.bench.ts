import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { alignedAfter, ruleOffsetMs } from "../src/domain/rules/engine/schedule";
import { nextSlot } from "../src/domain/rules/rule.service";
import {
  type BenchTenant,
  connectPg,
  cpuMeter,
  type DrainFigures,
  ingestRetries,
  sendIngest,
  serverErrors,
  type Sql,
  sqlOf,
  startPostgres,
  stopVigil,
  verdict,
  VIGIL_STOP_TIMEOUT_MS,
  waitForRollups,
} from "./metrics-support";
import {
  busyValue,
  type ClientsResult,
  copyRules,
  CREATE_RULE,
  createRulesTenant,
  DEFAULT_RULES_DATABASE_URL,
  type Delivery,
  hostOf,
  METRIC,
  partitionTimestamps,
  prepareRulesDatabase,
  quietValue,
  ruleInput,
  samplesBody,
  summarizeProfile,
} from "./rules-support";
import {
  assertAlive,
  BENCHMARKS_MD,
  type Child,
  childEnv,
  cleanupWorkDir,
  databaseLine,
  freePort,
  graphqlOk,
  headerLines,
  int,
  intOption,
  logTail,
  ms,
  onCleanup,
  otherCpuMeter,
  postgresCpuSeconds,
  quantile,
  redactUrl,
  runBench,
  spawnNode,
  startVigil,
  stopChild,
  table,
  VIGIL_MAIN,
  type VigilStart,
  waitUntil,
  writeBenchmarksMd,
} from "./support";

/**
 * `npm run bench:rules`: 10,000 alert rules over 10,000 series on PostgreSQL.
 *
 * 1. Setup (not measured), on a first Vigil process: a tenant, 10,000 series `bench_cpu{host}` with
 *    a sample every 10 s from 2 minutes before the run to 9 minutes after its start (ingest accepts
 *    10 minutes ahead), 5 rules through `createRule` and the rest as SQL copies of the first, each
 *    with next_evaluation_at computed as the server does (nextSlot()). Vigil's idle CPU is read
 *    before the rules exist.
 * 2. CPU: a fresh Vigil (default RULES_TICK_MS) runs one unmeasured cycle, then its CPU and
 *    PostgreSQL's are read over one 60 s cycle [C, C + 60 s); the database then shows which slot
 *    each rule was last evaluated at. Hosts of set A are busy in the window of their slot in that
 *    cycle, so ~1 % of the rules fire there.
 * 3. Latency: a third Vigil with RULES_TICK_MS=100 (the smallest the config accepts) and 100
 *    graphql-ws clients in a child process subscribed to `alertEvents`; in the cycle
 *    [L, L + 60 s) set B starts firing and set A resolves. Latency = receive time − AlertEvent.at
 *    (the evaluation slot). Vigil's debug log gives each rule tick's start, which splits it into
 *    the wait for the tick and the rest.
 * 4. Baselines in the same run: the same clients against a bare `ws` server that broadcasts
 *    frames of the same size (child process), and raw SQL that computes the cycle's 10,000 window
 *    averages and threshold comparisons (one statement, and 20 statements of 500).
 *
 * Output: a Markdown report on stdout and the `<!-- bench:rules:start/end -->` section of
 * BENCHMARKS.md. Every child is stopped by its pid (bench/support.ts) and every wait is bounded.
 */

const INTERVAL_MS = 60_000;
const STEP_MS = 10_000;
const THRESHOLD = 80;
const GRAPHQL_RULES = 5;
/** samples start this long before the run and end this long after its start (ingest allows 10 min ahead) */
const PAST_MS = 120_000;
const AHEAD_MS = 540_000;
/** unmeasured time on the CPU-phase server before the measured cycle: at least one full cycle */
const WARMUP_MS = 65_000;
/** between the CPU cycle and the latency cycle: restart Vigil, connect and subscribe the clients */
const GAP_MS = 20_000;
const LATENCY_TICK_MS = 100;
const SETTLE_MS = 3_000;
const BASELINE_SPACING_MS = 100;
const IDLE_MS = 10_000;
const SQL_RUNS = 3;
const SQL_BATCH = 500;
const RULE_JOB = "rule-evaluation";

const TARGET_CPU_SHARE = 0.25;
const TARGET_P99_MS = 100;

const RULES_SUPPORT_JS = join(__dirname, "rules-support.js");

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  rules: number;
  firing: number;
  clients: number;
  databaseUrl: string;
  cpuProf: boolean;
  keep: boolean;
}

const USAGE = `usage: npm run bench:rules -- [options]
  --rules <n>            rules, one per series (default 10000)
  --firing <n>           rules that fire in the CPU cycle, and again (others) in the latency cycle (default 1 % of --rules)
  --clients <n>          graphql-ws clients subscribed to alertEvents (default 100)
  --database-url <url>   PostgreSQL (default env BENCH_DATABASE_URL, else ${DEFAULT_RULES_DATABASE_URL});
                         a database named vigil_bench* is dropped and created empty; "test" is refused
  --cpu-prof             run the CPU-phase Vigil with --cpu-prof and summarise the profile (adds overhead to its CPU figure)
  --keep                 keep the temporary log directory (and profiles)`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      rules: { type: "string", default: "10000" },
      firing: { type: "string" },
      clients: { type: "string", default: "100" },
      "database-url": { type: "string" },
      "cpu-prof": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const url = values["database-url"] ?? process.env.BENCH_DATABASE_URL ?? DEFAULT_RULES_DATABASE_URL;
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error(`--database-url must be a postgres:// URL, got ${redactUrl(url)}`);
  const rules = intOption("rules", values.rules, 200, 100_000);
  const firing = intOption("firing", values.firing ?? String(Math.max(1, Math.round(rules / 100))), 1, Math.floor(rules / 20));
  return { rules, firing, clients: intOption("clients", values.clients, 1, 1_000), databaseUrl: url, cpuProf: values["cpu-prof"], keep: values.keep };
}

// ---------------------------------------------------------------------------------------------
// Setup

interface Plan {
  /** rule id of host index i */
  ruleIds: string[];
  /** host indexes busy in the CPU cycle (set A) and from the latency cycle on (set B) */
  setA: number[];
  setB: number[];
  firstTs: number;
  lastTs: number;
}

interface SetupFigures {
  points: number;
  ingestSeconds: number;
  resets: number;
  serverErrors: number;
  drain: DrainFigures;
  idleCpuShare: number;
  graphqlRuleMs: number[];
  sqlCopySeconds: number;
  scheduleCheck: { checked: number; wrong: number };
}

function slotFrom(ruleId: string, from: number): number {
  return alignedAfter(from - 1, INTERVAL_MS, ruleOffsetMs(ruleId, INTERVAL_MS / 1000));
}

async function seed(server: VigilStart, tenant: BenchTenant, opts: Options, plan: Plan): Promise<{ points: number; seconds: number }> {
  const slots = (plan.lastTs - plan.firstTs) / STEP_MS + 1;
  const days = partitionTimestamps(plan.firstTs, plan.lastTs).map((ts) => ({ i: 0, ts, v: quietValue(0, (ts - plan.firstTs) / STEP_MS) }));
  await sendIngest(server.url, tenant.key, samplesBody(days), days.length);
  const jobs: Array<{ hosts: [number, number]; ks: [number, number] }> = [];
  for (let h = 0; h < opts.rules; h += 1_000) for (let k = 0; k < slots; k += 10) jobs.push({ hosts: [h, Math.min(opts.rules, h + 1_000)], ks: [k, Math.min(slots, k + 10)] });
  let next = 0;
  let points = 0;
  const t0 = performance.now();
  const loop = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const batch: Array<{ i: number; ts: number; v: number }> = [];
      for (let k = job.ks[0]; k < job.ks[1]; k++) for (let i = job.hosts[0]; i < job.hosts[1]; i++) batch.push({ i, ts: plan.firstTs + k * STEP_MS, v: quietValue(i, k) });
      await sendIngest(server.url, tenant.key, samplesBody(batch), batch.length);
      points += batch.length;
    }
  };
  await Promise.all([loop(), loop()]);
  assertAlive(server.child);
  return { points, seconds: (performance.now() - t0) / 1000 };
}

/** 5 rules through createRule (checking the shape and the schedule), the rest copied with SQL. */
async function createRules(server: VigilStart, tenant: BenchTenant, sql: Sql, opts: Options): Promise<{ ruleIds: string[]; graphqlRuleMs: number[]; sqlCopySeconds: number }> {
  const ruleIds: string[] = [];
  const graphqlRuleMs: number[] = [];
  for (let i = 0; i < GRAPHQL_RULES; i++) {
    const t0 = performance.now();
    const before = Date.now();
    const created = (await graphqlOk(server.url, tenant.key, CREATE_RULE, { input: ruleInput(hostOf(i), THRESHOLD) })).createRule as {
      id: string;
      intervalSeconds: number;
      nextEvaluationAt: string;
      conditions: Array<{ selector: { matchers: Array<{ value: string }> }; aggregation: string; windowSeconds: number; operator: string; threshold: number }>;
    };
    graphqlRuleMs.push(performance.now() - t0);
    const next = Date.parse(created.nextEvaluationAt);
    const c = created.conditions[0];
    if (created.intervalSeconds !== 60 || c?.aggregation !== "AVG" || c.windowSeconds !== 60 || c.operator !== "GT" || c.threshold !== THRESHOLD || c.selector.matchers[0]?.value !== hostOf(i)) {
      throw new Error(`createRule stored an unexpected rule: ${JSON.stringify(created)}`);
    }
    // the server's nextSlot() at its own `now`, which lies between `before` and now
    if (next !== nextSlot(created.id, 60, before) && next !== nextSlot(created.id, 60, Date.now())) {
      throw new Error(`rule ${created.id}: nextEvaluationAt ${created.nextEvaluationAt} is not the slot nextSlot() computes`);
    }
    ruleIds.push(created.id);
  }
  const t0 = performance.now();
  const now = Date.now();
  const copies = [];
  for (let i = GRAPHQL_RULES; i < opts.rules; i++) {
    const id = randomUUID();
    ruleIds.push(id);
    copies.push({ id, host: hostOf(i), next: nextSlot(id, 60, now) });
  }
  await copyRules(sql, tenant.id, ruleIds[0]!, copies);
  return { ruleIds, graphqlRuleMs, sqlCopySeconds: (performance.now() - t0) / 1000 };
}

/** Every rule's next_evaluation_at must be one of its own slots (offset + k · 60 s). */
async function checkSchedule(sql: Sql, tenantId: string): Promise<{ checked: number; wrong: number }> {
  const rows = await sql<{ id: string; next: number }>(
    `SELECT id::text AS id, (extract(epoch FROM next_evaluation_at) * 1000)::float8 AS next FROM alert_rules WHERE tenant_id = $1 AND enabled`,
    [tenantId],
  );
  const wrong = rows.filter((r) => (Math.round(r.next) - ruleOffsetMs(r.id, 60)) % INTERVAL_MS !== 0).length;
  return { checked: rows.length, wrong };
}

/** Set A busy in the window of its slot in [C, C + 60 s); set B busy from the window of its slot in [L, L + 60 s) on. */
async function sendBusyStretches(server: VigilStart, tenant: BenchTenant, plan: Plan, c: number, l: number): Promise<number> {
  const points: Array<{ i: number; ts: number; v: number }> = [];
  const stretch = (i: number, from: number, to: number) => {
    for (let ts = plan.firstTs; ts <= plan.lastTs; ts += STEP_MS) if (ts > from && ts <= to) points.push({ i, ts, v: busyValue(i, (ts - plan.firstTs) / STEP_MS) });
  };
  for (const i of plan.setA) {
    const t = slotFrom(plan.ruleIds[i]!, c);
    stretch(i, t - INTERVAL_MS, t);
  }
  for (const i of plan.setB) stretch(i, slotFrom(plan.ruleIds[i]!, l) - INTERVAL_MS, plan.lastTs);
  for (let k = 0; k < points.length; k += 10_000) {
    const chunk = points.slice(k, k + 10_000);
    await sendIngest(server.url, tenant.key, samplesBody(chunk), chunk.length);
  }
  return points.length;
}

// ---------------------------------------------------------------------------------------------
// Vigil's log: rule ticks

interface Tick {
  start: number;
  ms: number;
}

/** The rule scheduler's ticks (start = log time − duration) and transitions, from Vigil's debug log. */
function ruleTicks(child: Child): { ticks: Tick[]; transitions: Array<{ time: number; n: number }> } {
  const ticks: Tick[] = [];
  const transitions: Array<{ time: number; n: number }> = [];
  for (const line of readFileSync(child.logPath, "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const e = JSON.parse(line) as { time?: number | string; msg?: string; job?: string; ms?: number; transitions?: number };
      // pino's time: epoch ms, or an ISO string (Vigil's logger uses isoTime)
      const time = typeof e.time === "string" ? Date.parse(e.time) : e.time;
      if (time === undefined || Number.isNaN(time)) continue;
      if (e.msg === "job ran" && e.job === RULE_JOB && typeof e.ms === "number") ticks.push({ start: time - e.ms, ms: e.ms });
      if (e.msg === "rules evaluated") transitions.push({ time, n: e.transitions ?? 0 });
    } catch {
      // not a pino line
    }
  }
  return { ticks: ticks.sort((a, b) => a.start - b.start), transitions };
}

// ---------------------------------------------------------------------------------------------
// CPU phase

interface CpuFigures {
  vigilSeconds: number;
  postgresSeconds: number;
  wallSeconds: number;
  /** rules whose last evaluation was their slot in the cycle (of those, evaluated after its end) */
  atCycleSlot: number;
  afterEnd: number;
  otherSlot: number;
  errors: number;
  transitions: Record<string, number>;
  ticks: { count: number; totalMs: number; maxMs: number; p50Ms: number };
}

async function measureCycle(server: VigilStart, sql: Sql, tenantId: string, plan: Plan, c: number): Promise<CpuFigures> {
  if (Date.now() > c) throw new Error(`the setup of the CPU phase ran past the cycle's start (${new Date(c).toISOString()})`);
  await sleep(c - Date.now());
  const meter = cpuMeter(server.child.proc.pid, true);
  const t0 = performance.now();
  await sleep(c + INTERVAL_MS - Date.now());
  const used = meter();
  const wallSeconds = (performance.now() - t0) / 1000;
  assertAlive(server.child);

  // which slot each rule was last evaluated at: read now, and again for the rules still due
  const read = async () =>
    new Map(
      (
        await sql<{ id: string; last: number | null; error: string | null }>(
          `SELECT id::text AS id, (extract(epoch FROM last_evaluated_at) * 1000)::float8 AS last, last_evaluation_error AS error FROM alert_rules WHERE tenant_id = $1`,
          [tenantId],
        )
      ).map((r) => [r.id, r]),
    );
  const first = await read();
  let late = first;
  const pending = () => plan.ruleIds.filter((id) => (late.get(id)?.last ?? 0) < slotFrom(id, c));
  for (let waited = 0; pending().length > 0 && waited < 15_000; waited += 200) {
    await sleep(200);
    late = await read();
  }
  let atCycleSlot = 0;
  let afterEnd = 0;
  let otherSlot = 0;
  let errors = 0;
  for (const id of plan.ruleIds) {
    const slot = slotFrom(id, c);
    const r1 = first.get(id);
    const r2 = late.get(id);
    if (r1 && Math.round(r1.last ?? 0) === slot) atCycleSlot++;
    else if (r2 && Math.round(r2.last ?? 0) === slot) {
      atCycleSlot++;
      afterEnd++;
    } else otherSlot++;
    if ((r2 ?? r1)?.error) errors++;
  }
  const transitions = Object.fromEntries(
    (
      await sql<{ to_state: string; n: number }>(
        `SELECT to_state, count(*)::int AS n FROM alert_transitions WHERE tenant_id = $1 AND at >= to_timestamp($2 / 1000.0) AND at < to_timestamp($3 / 1000.0) GROUP BY 1`,
        [tenantId, c, c + INTERVAL_MS],
      )
    ).map((r) => [r.to_state, r.n]),
  );
  const inCycle = ruleTicks(server.child).ticks.filter((t) => t.start >= c && t.start < c + INTERVAL_MS);
  return {
    vigilSeconds: used.server,
    postgresSeconds: used.postgres,
    wallSeconds,
    atCycleSlot,
    afterEnd,
    otherSlot,
    errors,
    transitions,
    ticks: {
      count: inCycle.length,
      totalMs: inCycle.reduce((s, t) => s + t.ms, 0),
      maxMs: Math.max(0, ...inCycle.map((t) => t.ms)),
      p50Ms: quantile(
        inCycle.map((t) => t.ms),
        0.5,
      ),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Latency phase

interface LatencyRun {
  name: string;
  result: ClientsResult;
  /** deliveries counted: in the latency cycle (Vigil) or all (baseline) */
  counted: Delivery[];
  expected: number;
  events: number;
  notes: string[];
}

function startClients(workDir: string, label: string, wsUrl: string, key: string, clients: number, until: number): { child: Child; out: string } {
  const out = join(workDir, `${label}.json`);
  const env = childEnv({
    RULES_BENCH_ROLE: "clients",
    RB_WS_URL: wsUrl,
    RB_KEY: key,
    RB_CLIENTS: String(clients),
    RB_OUT: out,
    RB_UNTIL: String(until),
    RB_HARD_STOP_MS: String(until - Date.now() + 30_000),
  });
  return { child: spawnNode(`clients (${label})`, RULES_SUPPORT_JS, env, join(workDir, `${label}.log`)), out };
}

/** Waits for the clients' "ready" line; returns how many connected. */
async function clientsReady(child: Child, timeoutMs: number): Promise<{ ready: boolean; connected: number; errors: string[] }> {
  let line: { ready: boolean; connected: number; errors: string[] } | undefined;
  await waitUntil(
    child,
    "clients connected",
    async () => {
      const m = /^\{"ready".*$/m.exec(readFileSync(child.logPath, "utf8"));
      if (m) line = JSON.parse(m[0]) as typeof line;
      return line !== undefined;
    },
    timeoutMs,
  );
  return line!;
}

async function subscriptionsOf(server: VigilStart): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
  return Number(/^vigil_ws_subscriptions (\d+)/m.exec(text)?.[1] ?? NaN);
}

async function finishClients(child: Child, out: string, timeoutMs: number): Promise<ClientsResult> {
  await Promise.race([child.exited, sleep(timeoutMs)]);
  if (!child.exit) {
    await stopChild(child);
    throw new Error(`${child.name} did not finish within ${timeoutMs} ms. Its log ends with:\n${logTail(child)}`);
  }
  if (!existsSync(out)) throw new Error(`${child.name} wrote no result (${child.exit.code}). Its log ends with:\n${logTail(child)}`);
  return JSON.parse(readFileSync(out, "utf8")) as ClientsResult;
}

interface VigilLatency {
  run: LatencyRun;
  cpu: { vigilSeconds: number; postgresSeconds: number; wallSeconds: number };
  /** slot → claiming tick and claiming tick → receive, per counted delivery */
  schedMs: number[];
  afterClaimMs: number[];
  ticks: number;
}

async function vigilLatency(server: VigilStart, tenant: BenchTenant, sql: Sql, opts: Options, l: number, workDir: string): Promise<VigilLatency> {
  const notes: string[] = [];
  const wsUrl = `ws://127.0.0.1:${server.port}/graphql`;
  const { child, out } = startClients(workDir, "clients-vigil", wsUrl, tenant.key, opts.clients, l + INTERVAL_MS + SETTLE_MS);
  const ready = await clientsReady(child, Math.max(5_000, l - Date.now()));
  if (!ready.ready) throw new Error(`only ${ready.connected} of ${opts.clients} clients connected to Vigil: ${ready.errors.join("; ")}`);
  let held = await subscriptionsOf(server);
  for (let waited = 0; held < opts.clients && waited < 10_000; waited += 100) {
    await sleep(100);
    held = await subscriptionsOf(server);
  }
  if (held < opts.clients) notes.push(`Vigil held ${held} of ${opts.clients} subscriptions when the cycle began.`);
  if (Date.now() > l) notes.push(`The clients were subscribed ${ms(Date.now() - l)} ms after the latency cycle began; earlier events may be missing.`);
  await sleep(Math.max(0, l - Date.now()));
  const meter = cpuMeter(server.child.proc.pid, true);
  const t0 = performance.now();
  await sleep(l + INTERVAL_MS - Date.now());
  const used = meter();
  const wallSeconds = (performance.now() - t0) / 1000;
  const result = await finishClients(child, out, SETTLE_MS + 30_000);
  assertAlive(server.child);

  const inCycle = (d: Delivery) => d.at >= l && d.at < l + INTERVAL_MS;
  const counted = result.deliveries.filter(inCycle);
  const [{ n: events }] = (await sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM alert_transitions WHERE tenant_id = $1 AND at >= to_timestamp($2 / 1000.0) AND at < to_timestamp($3 / 1000.0)`,
    [tenant.id, l, l + INTERVAL_MS],
  )) as [{ n: number }];
  const { ticks } = ruleTicks(server.child);
  const schedMs: number[] = [];
  const afterClaimMs: number[] = [];
  for (const d of counted) {
    const claim = ticks.find((t) => t.start >= d.at);
    if (!claim) continue;
    schedMs.push(claim.start - d.at);
    afterClaimMs.push(d.recv - claim.start);
  }
  const distinct = new Set(counted.map((d) => `${d.alertId}/${d.state}/${d.at}`)).size;
  return {
    run: { name: "Vigil `alertEvents`", result, counted, expected: events * opts.clients, events: distinct, notes },
    cpu: { vigilSeconds: used.server, postgresSeconds: used.postgres, wallSeconds },
    schedMs,
    afterClaimMs,
    ticks: ticks.filter((t) => t.start >= l && t.start < l + INTERVAL_MS).length,
  };
}

async function baselineLatency(workDir: string, opts: Options, messages: number, sampleFrame: string): Promise<LatencyRun> {
  const port = await freePort();
  const frame = JSON.parse(sampleFrame) as { payload: unknown };
  const timeoutMs = 30_000 + messages * BASELINE_SPACING_MS;
  const broadcaster = spawnNode(
    "baseline ws broadcaster",
    RULES_SUPPORT_JS,
    childEnv({
      RULES_BENCH_ROLE: "broadcaster",
      RB_PORT: String(port),
      RB_CLIENTS: String(opts.clients),
      RB_MESSAGES: String(messages),
      RB_SPACING_MS: String(BASELINE_SPACING_MS),
      RB_FRAME_BYTES: String(sampleFrame.length),
      RB_TEMPLATE: JSON.stringify(frame.payload),
      RB_TIMEOUT_MS: String(timeoutMs),
      RB_HARD_STOP_MS: String(timeoutMs + 10_000),
    }),
    join(workDir, "baseline-broadcaster.log"),
  );
  await sleep(300);
  const { child, out } = startClients(workDir, "clients-baseline", `ws://127.0.0.1:${port}/graphql`, "", opts.clients, Date.now() + timeoutMs);
  try {
    const result = await finishClients(child, out, timeoutMs + 10_000);
    await Promise.race([broadcaster.exited, sleep(5_000)]);
    const notes = result.errors.length ? [`Baseline client errors: ${result.errors.slice(0, 3).join("; ")}`] : [];
    const sent = /^\{"subscriptions".*$/m.exec(readFileSync(broadcaster.logPath, "utf8"));
    const frameBytes = sent ? (JSON.parse(sent[0]) as { frameBytes: number }).frameBytes : NaN;
    notes.push(`Frame sizes: Vigil's \`next\` frame ${int(sampleFrame.length)} bytes, the baseline's ${int(frameBytes)} bytes.`);
    return { name: "baseline: bare `ws` broadcast", result, counted: result.deliveries, expected: messages * opts.clients, events: messages, notes };
  } finally {
    await stopChild(broadcaster);
  }
}

// ---------------------------------------------------------------------------------------------
// Raw SQL baseline of a cycle

interface SqlFigures {
  name: string;
  statements: number;
  wallMs: number[];
  postgresSeconds: number[];
  firing: number;
}

/** The cycle's database work at its minimum: each rule's window average and threshold comparison, the firing ones returned. */
async function rawSqlCycle(sql: Sql, tenantId: string, plan: Plan, c: number, batch: number, name: string): Promise<SqlFigures> {
  const series = new Map(
    (await sql<{ id: string; host: string }>(`SELECT id::text AS id, labels->>'host' AS host FROM metric_series WHERE tenant_id = $1 AND name = 'bench_cpu'`, [tenantId])).map((r) => [
      r.host,
      r.id,
    ]),
  );
  const items = plan.ruleIds.map((id, i) => ({ series: series.get(hostOf(i))!, t: slotFrom(id, c) }));
  const figures: SqlFigures = { name, statements: Math.ceil(items.length / batch), wallMs: [], postgresSeconds: [], firing: 0 };
  for (let run = 0; run < SQL_RUNS; run++) {
    const pg0 = postgresCpuSeconds();
    const t0 = performance.now();
    let firing = 0;
    for (let k = 0; k < items.length; k += batch) {
      const chunk = items.slice(k, k + batch);
      const rows = await sql<{ k: number; v: number }>(
        `SELECT u.k, a.v FROM unnest($2::bigint[], $3::bigint[], $4::float8[]) WITH ORDINALITY AS u(series_id, t, threshold, k)
           CROSS JOIN LATERAL (SELECT avg(value) AS v FROM metric_samples m
                                WHERE m.tenant_id = $1 AND m.series_id = u.series_id AND m.ts > u.t - ${INTERVAL_MS} AND m.ts <= u.t) a
          WHERE a.v > u.threshold`,
        [tenantId, chunk.map((x) => x.series), chunk.map((x) => x.t), chunk.map(() => THRESHOLD)],
      );
      firing += rows.length;
    }
    figures.wallMs.push(performance.now() - t0);
    figures.postgresSeconds.push(postgresCpuSeconds() - pg0);
    figures.firing = firing;
  }
  return figures;
}

// ---------------------------------------------------------------------------------------------
// Where the time goes: one rule's selector, resolved as Vigil resolves it

/** SERIES_COLUMNS of src/domain/rules/data.ts and metrics/query.service.ts (not exported), for the same statement. */
const SERIES_COLUMNS = `id::text AS id, name, type, labels, first_sample_at::float8 AS "firstSampleAt", last_sample_at::float8 AS "lastSampleAt"`;

interface SelectorCost {
  /** selectors per statement */
  perStatement: number;
  statements: number;
  p50Ms: number;
  postgresMsEach: number;
  plan: string;
}

/**
 * The statement RuleDataLoader.seriesByName sends once per run of the scheduler for the batch's
 * selectors of one metric name (`labels @> ANY(…)` over their equality labels), for `perStatement`
 * hosts at a time, `n` times one after the other; and the plan PostgreSQL picks for it.
 */
async function selectorCost(sql: Sql, tenantId: string, perStatement: number, n: number): Promise<SelectorCost> {
  const statement = (k: number) => {
    const equal = Array.from({ length: perStatement }, (_, j) => JSON.stringify({ host: hostOf((k * perStatement + j) % 10_000) }));
    return { text: `SELECT ${SERIES_COLUMNS} FROM metric_series WHERE tenant_id = $1 AND name = $2 AND labels @> ANY($3::jsonb[]) ORDER BY id`, params: [tenantId, METRIC, equal] };
  };
  const times: number[] = [];
  const pg0 = postgresCpuSeconds();
  for (let k = 0; k < n; k++) {
    const { text, params } = statement(k);
    const t0 = performance.now();
    await sql(text, params);
    times.push(performance.now() - t0);
  }
  const postgresMsEach = ((postgresCpuSeconds() - pg0) * 1000) / n;
  const { text, params } = statement(Math.floor(n / 2));
  const [row] = await sql<{ "QUERY PLAN": Array<{ Plan: PlanNode; "Execution Time": number }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
  const explained = row!["QUERY PLAN"][0]!;
  const nodes: string[] = [];
  const walk = (p: PlanNode) => {
    if (p["Index Name"] || p["Relation Name"]) {
      nodes.push(`${p["Node Type"]}${p["Index Name"] ? ` using ${p["Index Name"]}` : ` on ${p["Relation Name"]}`}${p["Rows Removed by Filter"] ? `, ${int(p["Rows Removed by Filter"])} rows removed by the filter` : ""}`);
    }
    for (const child of p.Plans ?? []) walk(child);
  };
  walk(explained.Plan);
  return { perStatement, statements: n, p50Ms: quantile(times, 0.5), postgresMsEach, plan: `${nodes.join("; ")} (EXPLAIN ANALYZE: ${ms(explained["Execution Time"])} ms)` };
}

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  "Relation Name"?: string;
  "Rows Removed by Filter"?: number;
  Plans?: PlanNode[];
}

// ---------------------------------------------------------------------------------------------
// Report

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

function latencyRow(name: string, values: number[], run: LatencyRun | undefined, perEvent: { first: number[]; last: number[] } | undefined, target: string): string[] {
  return [
    name,
    run ? int(run.events) : "–",
    run ? `${int(run.counted.length)} / ${int(run.expected)}` : "–",
    ms(quantile(values, 0.5)),
    `**${ms(quantile(values, 0.99))}**`,
    ms(values.length ? Math.max(...values) : NaN),
    perEvent ? `${ms(quantile(perEvent.first, 0.5))} / ${ms(quantile(perEvent.last, 0.5))}` : "–",
    target,
  ];
}

/** Per event (alert, state, time), the latency of the first and the last client to receive it. */
function perEvent(deliveries: Delivery[]): { first: number[]; last: number[] } {
  const by = new Map<string, number[]>();
  for (const d of deliveries) {
    const key = `${d.alertId}/${d.state}/${d.at}`;
    by.set(key, [...(by.get(key) ?? []), d.recv - d.at]);
  }
  const groups = [...by.values()];
  return { first: groups.map((g) => Math.min(...g)), last: groups.map((g) => Math.max(...g)) };
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  const opts = parseOptions(argv);
  if (!existsSync(VIGIL_MAIN)) throw new Error(`${VIGIL_MAIN} is missing: run \`npm run build\` first (npm run bench:rules does).`);
  const began = performance.now();
  const loadBefore = os.loadavg()[0]!;
  const date = new Date().toISOString();
  const workDir = mkdtempSync(join(os.tmpdir(), "vigil-bench-rules-"));
  cleanupWorkDir(workDir, opts.keep || opts.cpuProf);
  process.stderr.write(`bench:rules: work directory ${workDir}\n`);
  const adminKey = randomBytes(24).toString("hex");
  const otherCpu = otherCpuMeter();
  const db = await prepareRulesDatabase(opts.databaseUrl);
  const client = await connectPg(db.url, "vigil-bench-rules");
  onCleanup(() => client.end());
  const sql = sqlOf(client);
  const vigilEnv = { DATABASE_URL: db.url, VIGIL_ADMIN_KEY: adminKey };
  const stops: string[] = [];
  const servers: VigilStart[] = [];
  const notes: string[] = [];

  // 1. setup
  process.stderr.write(`  setup: ${int(opts.rules)} series and rules\n`);
  const s1 = await startPostgres(workDir, "setup", db.url, adminKey, "warn");
  servers.push(s1);
  const tenant = await createRulesTenant(s1.url, adminKey);
  const firstTs = Math.floor(Date.now() / STEP_MS) * STEP_MS - PAST_MS;
  const plan: Plan = { ruleIds: [], setA: [], setB: [], firstTs, lastTs: firstTs + PAST_MS + AHEAD_MS };
  const stride = Math.floor(opts.rules / opts.firing);
  for (let j = 0; j < opts.firing; j++) {
    plan.setA.push(j * stride + GRAPHQL_RULES + 2);
    plan.setB.push(j * stride + GRAPHQL_RULES + 2 + Math.floor(stride / 2));
  }
  let setup: SetupFigures;
  try {
    const seeded = await seed(s1, tenant, opts, plan);
    process.stderr.write(`    ${int(seeded.points)} points in ${seeded.seconds.toFixed(1)} s; waiting for the rollup job\n`);
    const drain = await waitForRollups(sql, tenant.id, s1.child, 300_000);
    const idle = cpuMeter(s1.child.proc.pid, false);
    await sleep(IDLE_MS);
    const idleCpuShare = idle().server / (IDLE_MS / 1000);
    const created = await createRules(s1, tenant, sql, opts);
    plan.ruleIds = created.ruleIds;
    const scheduleCheck = await checkSchedule(sql, tenant.id);
    if (scheduleCheck.checked !== opts.rules || scheduleCheck.wrong) throw new Error(`schedule check failed: ${JSON.stringify(scheduleCheck)}`);
    setup = { points: seeded.points, ingestSeconds: seeded.seconds, resets: ingestRetries.resets, serverErrors: ingestRetries.serverErrors, drain, idleCpuShare, ...created, scheduleCheck };
  } finally {
    stops.push(`setup: ${await stopVigil(s1)}`);
  }

  // 2. CPU of one cycle
  const profDir = join(workDir, "prof");
  const s2 = await startVigil(workDir, "cpu", vigilEnv, "debug", opts.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : []);
  servers.push(s2);
  const c = Math.ceil((Date.now() + WARMUP_MS) / 1000) * 1000;
  const l = c + INTERVAL_MS + GAP_MS;
  if (l + INTERVAL_MS + SETTLE_MS > plan.lastTs) throw new Error(`the setup took too long: the samples end at ${new Date(plan.lastTs).toISOString()}, before the latency cycle would`);
  let cpu: CpuFigures;
  let busyPoints: number;
  try {
    busyPoints = await sendBusyStretches(s2, tenant, plan, c, l);
    await waitForRollups(sql, tenant.id, s2.child, Math.max(1_000, c - Date.now() - 5_000));
    process.stderr.write(`  CPU: measuring the cycle from ${new Date(c).toISOString()} (${((c - Date.now()) / 1000).toFixed(0)} s of warm-up left)\n`);
    cpu = await measureCycle(s2, sql, tenant.id, plan, c);
    process.stderr.write(`    Vigil ${cpu.vigilSeconds.toFixed(2)} CPU s (${pct(cpu.vigilSeconds / 60)}), PostgreSQL ${cpu.postgresSeconds.toFixed(2)} s; ${int(cpu.atCycleSlot)} rules at their cycle slot\n`);
  } finally {
    stops.push(`CPU phase: ${await stopVigil(s2)}`);
  }

  // 3. latency: Vigil
  const s3 = await startVigil(workDir, "latency", { ...vigilEnv, RULES_TICK_MS: String(LATENCY_TICK_MS) }, "debug");
  servers.push(s3);
  let vigil: VigilLatency;
  try {
    process.stderr.write(`  latency: ${opts.clients} clients, cycle from ${new Date(l).toISOString()}\n`);
    vigil = await vigilLatency(s3, tenant, sql, opts, l, workDir);
  } finally {
    stops.push(`latency phase: ${await stopVigil(s3)}`);
  }
  const vigilLat = vigil.run.counted.map((d) => d.recv - d.at);
  process.stderr.write(`    ${int(vigil.run.counted.length)} deliveries: p50 ${ms(quantile(vigilLat, 0.5))} ms, p99 ${ms(quantile(vigilLat, 0.99))} ms\n`);
  if (!vigil.run.result.sampleFrame) throw new Error("no alertEvents message reached the clients: nothing to compare");

  // 4. baselines
  process.stderr.write(`  baseline: bare ws broadcast of ${vigil.run.events} messages\n`);
  const baseline = await baselineLatency(workDir, opts, Math.max(50, vigil.run.events), vigil.run.result.sampleFrame);
  const baseLat = baseline.counted.map((d) => d.recv - d.at);
  process.stderr.write(`  baseline: raw SQL of the CPU cycle\n`);
  const sqlRuns = [await rawSqlCycle(sql, tenant.id, plan, c, opts.rules, "one statement"), await rawSqlCycle(sql, tenant.id, plan, c, SQL_BATCH, `${SQL_BATCH} rules per statement`)];
  const perRun = Math.max(1, Math.round(opts.rules / Math.max(1, cpu.ticks.count)));
  const selectors = [await selectorCost(sql, tenant.id, perRun, 300), ...(perRun === SQL_BATCH ? [] : [await selectorCost(sql, tenant.id, SQL_BATCH, 20)])];

  // profile
  let profile: ReturnType<typeof summarizeProfile> | undefined;
  if (opts.cpuProf) {
    const file = existsSync(profDir) ? readdirSync(profDir).find((f) => f.endsWith(".cpuprofile")) : undefined;
    if (file) profile = summarizeProfile(join(profDir, file));
    else notes.push("--cpu-prof: the CPU-phase Vigil wrote no profile.");
  }
  for (const s of servers) {
    const errs = serverErrors(s);
    if (errs.length) notes.push(`Errors logged by ${s.child.name}: ${errs.join("; ")}.`);
  }

  // report
  const firingA = cpu.transitions.FIRING ?? 0;
  const cpuShare = cpu.vigilSeconds / cpu.wallSeconds;
  const sqlRow = (f: SqlFigures) => [
    `baseline: raw SQL, ${f.name}`,
    `${f.statements} statement${f.statements === 1 ? "" : "s"}, median of ${SQL_RUNS}: ${ms(quantile(f.wallMs, 0.5))} ms wall`,
    "–",
    "–",
    (quantile(f.postgresSeconds, 0.5) || 0).toFixed(2),
    `${int(opts.rules)} windows; ${int(f.firing)} above the threshold`,
    "–",
  ];
  const vigilFiring = vigil.run.counted.filter((d) => d.state === "FIRING");
  const vigilResolved = vigil.run.counted.filter((d) => d.state === "RESOLVED");
  const p99 = quantile(vigilLat, 0.99);
  const section = [
    `## rules: ${int(opts.rules)} rules on PostgreSQL — CPU of a 60 s cycle, \`alertEvents\` latency`,
    "",
    ...headerLines({ name: "rules", argv, date, began, loadBefore, postgres: databaseLine(db), otherCpu: otherCpu() }),
    "",
    `### Setup (not measured)`,
    "",
    `A tenant with ${int(opts.rules)} GAUGE series \`bench_cpu{host="h00001"…}\`, one sample every 10 s from 2 minutes before the run to 9 minutes after ` +
      `its start (${int(setup.points)} points through \`ingestMetrics\`, batches of 10,000, 2 clients, ${int(setup.points / setup.ingestSeconds)} points/s; ` +
      `rollup job drained in ${ms(setup.drain.ms)} ms). One rule per series: \`AVG\` over 60 s \`GT ${THRESHOLD}\` on \`bench_cpu{host=…}\`, ` +
      `intervalSeconds 60, forSeconds 0, one annotation template, no channels. The first ${GRAPHQL_RULES} were created with \`createRule\` ` +
      `(median ${ms(quantile(setup.graphqlRuleMs, 0.5))} ms each; their stored shape and nextEvaluationAt were checked against nextSlot()); the other ` +
      `${int(opts.rules - GRAPHQL_RULES)} are SQL copies of the first row with their own id, selector and next_evaluation_at = nextSlot(id, 60 s, now) ` +
      `(${setup.sqlCopySeconds.toFixed(1)} s; no audit rows). All ${int(setup.scheduleCheck.checked)} rules were checked to be scheduled on their own ` +
      `slots (offset = FNV-1a of the id): ${setup.scheduleCheck.wrong} wrong. Quiet hosts have values in [10, 50); ${opts.firing} hosts (set A, ` +
      `${pct(opts.firing / opts.rules)}) are in [90, 100) exactly in the window of their rule's slot in the CPU cycle, and ${opts.firing} others (set B) ` +
      `from the window of their slot in the latency cycle on (${int(busyPoints)} points rewritten before the CPU phase). Vigil processes: ` +
      `\`node dist/src/main.js\` on 127.0.0.1 with DATABASE_URL, one per phase (setup; CPU; latency), LOG_LEVEL=debug in the measured phases ` +
      `(for the scheduler's "job ran" lines: a few lines per second).`,
    "",
    `### CPU of one full cycle (every rule evaluated once)`,
    "",
    `Vigil with the default RULES_TICK_MS (1,000 ms; the scheduler runs, then sleeps until the next rule's slot, at most that long), no subscribers, after one unmeasured cycle. CPU is user + system time from /proc of ` +
      `the Vigil process, and of every \`postgres\` process on the machine (other users of the server count too), over the wall interval ` +
      `[C, C + 60 s) where C = ${new Date(c).toISOString()}. Work for slots just before C spills into the interval and work for its last slots ` +
      `spills out of it. The raw SQL baseline runs after all Vigil processes stopped, on the same data and the same slots: for each rule the ` +
      `\`avg(value)\` of its series over (t − 60 s, t] and the comparison with the threshold, returning the rules above it (series ids resolved ` +
      `beforehand); this is the least database work a cycle needs, with nothing written.`,
    "",
    table(
      ["Target", "Run", "CPU s", "share of one core", "PostgreSQL CPU s", "evaluations", "target"],
      [
        [
          "Vigil, RULES_TICK_MS=1000",
          `${cpu.wallSeconds.toFixed(1)} s wall`,
          cpu.vigilSeconds.toFixed(2),
          `**${pct(cpuShare)}**`,
          `${cpu.postgresSeconds.toFixed(2)} (${pct(cpu.postgresSeconds / cpu.wallSeconds)})`,
          `${int(cpu.atCycleSlot)} of ${int(opts.rules)} rules at their slot in the cycle; ${firingA} FIRING, ${cpu.transitions.RESOLVED ?? 0} RESOLVED, ${cpu.errors} errors`,
          `< ${pct(TARGET_CPU_SHARE)}: ${verdict(cpuShare < TARGET_CPU_SHARE)}`,
        ],
        [
          "Vigil, RULES_TICK_MS=100, 100 subscribers (latency cycle)",
          `${vigil.cpu.wallSeconds.toFixed(1)} s wall`,
          vigil.cpu.vigilSeconds.toFixed(2),
          pct(vigil.cpu.vigilSeconds / vigil.cpu.wallSeconds),
          `${vigil.cpu.postgresSeconds.toFixed(2)} (${pct(vigil.cpu.postgresSeconds / vigil.cpu.wallSeconds)})`,
          `${int(vigil.ticks)} scheduler runs`,
          "–",
        ],
        ["Vigil idle, before any rule existed", `${IDLE_MS / 1000} s wall`, (setup.idleCpuShare * (IDLE_MS / 1000)).toFixed(2), pct(setup.idleCpuShare), "–", "–", "–"],
        ...sqlRuns.map(sqlRow),
      ],
    ),
    "",
    `- Evaluations: read from alert_rules at the end of the cycle (and again until every slot before the end had been evaluated): ` +
      `${int(cpu.atCycleSlot)} rules had last_evaluated_at = their one slot in [C, C + 60 s) (${int(cpu.afterEnd)} of them evaluated just after ` +
      `the end, in the tick that followed), ${int(cpu.otherSlot)} at another slot. A slot is claimed once (FOR UPDATE SKIP LOCKED moving ` +
      `next_evaluation_at on), so each of those rules was evaluated once in the cycle. Transitions in the cycle: ${JSON.stringify(cpu.transitions)}; ` +
      `the raw SQL found ${sqlRuns[0]!.firing} rules above the threshold at the same slots.`,
    `- The scheduler's runs that started in the cycle (its "job ran" debug lines): ${cpu.ticks.count}, busy ${int(cpu.ticks.totalMs)} ms in all ` +
      `(median ${ms(cpu.ticks.p50Ms)} ms, longest ${ms(cpu.ticks.maxMs)} ms).`,
    `- Where PostgreSQL's time goes, per run of the scheduler: besides the claim, the next-due query and the batch's window samples ` +
      `(all the cycle's averages cost the raw SQL above ${(quantile(sqlRuns[1]!.postgresSeconds, 0.5) || 0).toFixed(2)} s), the data loader resolves the ` +
      `batch's selectors of one metric name in one statement (RuleDataLoader.seriesByName, \`labels @> ANY(…)\`). Sent again after the run, one ` +
      `at a time: ${selectors
        .map(
          (x) =>
            `${x.perStatement} selector${x.perStatement === 1 ? "" : "s"} per statement (${x.perStatement === perRun ? "the cycle's mean batch" : "a full batch"}): ` +
            `median ${ms(x.p50Ms)} ms, ${ms(x.postgresMsEach)} ms of PostgreSQL CPU each; plan: ${x.plan}`,
        )
        .join("; ")}. ` +
      `At ${int(cpu.ticks.count)} runs per cycle that is about ${((selectors[0]!.postgresMsEach * cpu.ticks.count) / 1000).toFixed(1)} s of PostgreSQL CPU per cycle for selectors alone.`,
    "",
    `### Latency from the evaluation to the \`alertEvents\` message, ${opts.clients} subscribed clients`,
    "",
    `Vigil restarted with RULES_TICK_MS=${LATENCY_TICK_MS} (the smallest value the config accepts). ${opts.clients} ` +
      `graphql-ws clients (the \`graphql-ws\` client on \`ws\`, as test/support/ws.ts) in one child process, one connection each, subscribed to ` +
      `\`${"subscription { alertEvents { state at alert { id labels } } }"}\` with a key of the tenant. Counted: every message whose AlertEvent.at ` +
      `lies in the cycle [L, L + 60 s), L = ${new Date(l).toISOString()}; latency = receive time in the client process ` +
      `(performance.timeOrigin + performance.now()) − AlertEvent.at, the evaluation slot. **It includes the scheduler's wait from the slot to the run that ` +
      `claimed it** (at most RULES_TICK_MS, or a run in progress): the two rows "slot → the run that claimed it" and "that run's start → message" ` +
      `split it, using the run starts in Vigil's debug log (log time − duration, ms resolution). "Expected" is the transitions stored with \`at\` in the cycle × ${opts.clients}. Baseline: a bare ` +
      `\`ws\` server in its own child process that speaks just enough graphql-ws (ack, then \`next\` frames) for the same client code, and sends ` +
      `${baseline.events} messages of Vigil's frame size (a captured Vigil message, the send time in \`extensions\` and a label shortened or ` +
      `padded to keep the size), one every ${BASELINE_SPACING_MS} ms, to all ${opts.clients} subscriptions: latency = receive − send time, with one ` +
      `serialisation per message. Server, clients and PostgreSQL share the machine's 2 cores.`,
    "",
    table(
      ["Target", "events", "messages received / expected", "p50 ms", "p99 ms", "max ms", "per event: first / last client, p50 ms", "target"],
      [
        latencyRow("Vigil, all transitions", vigilLat, vigil.run, perEvent(vigil.run.counted), `p99 ≤ ${TARGET_P99_MS} ms: ${verdict(p99 <= TARGET_P99_MS)}`),
        latencyRow(
          `Vigil, FIRING (set B starts firing)`,
          vigilFiring.map((d) => d.recv - d.at),
          undefined,
          perEvent(vigilFiring),
          `p99 ≤ ${TARGET_P99_MS} ms: ${verdict(quantile(vigilFiring.map((d) => d.recv - d.at), 0.99) <= TARGET_P99_MS)}`,
        ),
        latencyRow(`Vigil, RESOLVED (set A resolves)`, vigilResolved.map((d) => d.recv - d.at), undefined, perEvent(vigilResolved), "–"),
        latencyRow("Vigil: slot → the run that claimed it (scheduling wait)", vigil.schedMs, undefined, undefined, "–"),
        latencyRow("Vigil: that run's start → message (claim, data, evaluation, commit, publish, fan-out)", vigil.afterClaimMs, undefined, undefined, "–"),
        latencyRow(baseline.name, baseLat, baseline, perEvent(baseline.counted), "–"),
      ],
    ),
    "",
    ...[...vigil.run.notes, ...baseline.notes, ...notes].map((n) => `- ${n}`),
    ...(vigil.run.result.errors.length ? [`- Vigil client errors: ${vigil.run.result.errors.slice(0, 3).join("; ")}`] : []),
    `- Vigil processes after SIGTERM, in start order (exit code and time to exit; ${VIGIL_STOP_TIMEOUT_MS / 1000} s before SIGKILL): ${stops.join("; ")}.`,
    ...(profile
      ? [
          "",
          `### CPU profile of the CPU-phase Vigil (--cpu-prof: its whole life, start-up, warm-up cycle and measured cycle; ${int(profile.totalMs)} ms of samples)`,
          "",
          table(
            ["Where (package or dist path)", "self ms"],
            profile.places.map(([k, v]) => [k, int(v)]),
            1,
          ),
          "",
          table(
            ["Function", "self ms"],
            profile.functions.map(([k, v]) => [`\`${k}\``, int(v)]),
            1,
          ),
        ]
      : []),
    "",
  ].join("\n");

  process.stdout.write(`\n${section}\n`);
  writeBenchmarksMd("rules", section);
  process.stderr.write(`wrote ${BENCHMARKS_MD}\n`);
}

runBench("rules", main);
