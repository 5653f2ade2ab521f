import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import os from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";

/**
 * What every `bench/*.bench.ts` shares: child processes started from dist and stopped by their own
 * pid, GraphQL over HTTP to 127.0.0.1, figures formatting, the machine header of a report and the
 * `<!-- bench:NAME:start/end -->` sections of BENCHMARKS.md.
 *
 * Contract: every child spawned here is in `live` until it has exited, and `runBench` stops all of
 * them (and runs the registered cleanups) on success, on failure and on SIGINT/SIGTERM.
 */

export const ROOT = resolve(__dirname, "..", "..");
export const VIGIL_MAIN = join(ROOT, "dist", "src", "main.js");
export const BENCHMARKS_MD = join(ROOT, "BENCHMARKS.md");

/** Every variable src/config reads: the children get exactly the ones a benchmark sets. */
const VIGIL_ENV_VARS = [
  "PORT",
  "HOST",
  "DATABASE_URL",
  "DATABASE_POOL_SIZE",
  "DATA_DIR",
  "VIGIL_ADMIN_KEY",
  "LOG_LEVEL",
  "INTROSPECTION",
  "MAX_BODY_BYTES",
  "MAX_QUERY_DEPTH",
  "MAX_ALIASES",
  "SHUTDOWN_GRACE_MS",
  "WS_INIT_TIMEOUT_MS",
];

const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;
export const POLL_INTERVAL_MS = 10;

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@");
  }
}

/** An integer option parsed from its string value, or an error naming the option. */
export function intOption(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

// ---------------------------------------------------------------------------------------------
// Child processes

export interface Child {
  name: string;
  proc: ChildProcess;
  logPath: string;
  /** set once the process has exited (or failed to spawn) */
  exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
  exited: Promise<void>;
}

/** Children that may still be running; everything in here is stopped before this process ends. */
const live = new Set<Child>();

/**
 * Starts `node [flags] <script>` with stdout and stderr appended to `logPath` (a file, never a pipe
 * that could fill up).
 */
export function spawnNode(name: string, script: string, env: NodeJS.ProcessEnv, logPath: string, flags: readonly string[] = []): Child {
  const fd = openSync(logPath, "a");
  let proc: ChildProcess;
  try {
    proc = spawn(process.execPath, [...flags, script], { cwd: ROOT, env, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  let markExited!: () => void;
  const child: Child = { name, proc, logPath, exit: undefined, exited: new Promise<void>((r) => (markExited = r)) };
  live.add(child);
  proc.once("exit", (code, signal) => {
    child.exit = { code, signal };
    live.delete(child);
    markExited();
  });
  proc.once("error", (error) => {
    // Only spawn failures arrive here without an exit event; kill() errors are ignored.
    if (proc.pid !== undefined) return;
    child.exit = { code: null, signal: null, error };
    live.delete(child);
    markExited();
  });
  return child;
}

/** SIGTERM to the child's pid, SIGKILL if it is still there after `timeoutMs`. Returns ms until exit. */
export async function stopChild(child: Child, timeoutMs = STOP_TIMEOUT_MS): Promise<number> {
  if (child.exit) return 0;
  const t0 = performance.now();
  child.proc.kill("SIGTERM");
  const timedOut = await Promise.race([child.exited.then(() => false), sleep(timeoutMs).then(() => true)]);
  if (timedOut && !child.exit) {
    process.stderr.write(`${child.name} (pid ${child.proc.pid}) did not exit ${timeoutMs} ms after SIGTERM: SIGKILL\n`);
    child.proc.kill("SIGKILL");
    await Promise.race([child.exited, sleep(5_000)]);
  }
  return performance.now() - t0;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c).catch(() => undefined)));
}

export function logTail(child: Child, lines = 30): string {
  try {
    const text = readFileSync(child.logPath, "utf8").trimEnd().split("\n");
    return text.slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function describeExit(child: Child): string {
  const e = child.exit;
  if (!e) return "still running";
  if (e.error) return `failed to spawn: ${e.error.message}`;
  return e.signal ? `killed by ${e.signal}` : `exited with code ${e.code}`;
}

/** Polls `probe` until it answers true; throws if the child exits first or the time runs out. */
export async function waitUntil(child: Child, what: string, probe: () => Promise<boolean>, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.exit) throw new Error(`${child.name} ${describeExit(child)} before ${what}. Its log ends with:\n${logTail(child)}`);
    if (await probe().catch(() => false)) return;
    if (performance.now() > deadline) throw new Error(`${child.name}: no ${what} within ${timeoutMs} ms. Its log ends with:\n${logTail(child)}`);
    await sleep(POLL_INTERVAL_MS);
  }
}

/** Throws with the log's tail if the child has exited (for long loops that talk to it). */
export function assertAlive(child: Child): void {
  if (child.exit) throw new Error(`${child.name} ${describeExit(child)}. Its log ends with:\n${logTail(child)}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolvePort(port) : reject(new Error("no free port"))));
    });
  });
}

/** The parent's environment without any Vigil setting, plus `extra`. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of VIGIL_ENV_VARS) delete env[name];
  delete env.BENCH_DATABASE_URL;
  return { ...env, ...extra };
}

// ---------------------------------------------------------------------------------------------
// Vigil processes

export interface VigilStart {
  child: Child;
  port: number;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  /** spawn() until GET /readyz answered 200 */
  readyMs: number;
}

let processCounter = 0;

/**
 * `node [flags] dist/src/main.js` on a free port of 127.0.0.1, resolved once GET /readyz answers 200.
 * `flags` are node's own (`--cpu-prof`, say: NODE_OPTIONS refuses it).
 */
export async function startVigil(
  workDir: string,
  label: string,
  extraEnv: Record<string, string>,
  logLevel = "info",
  flags: readonly string[] = [],
): Promise<VigilStart> {
  const port = await freePort();
  const logPath = join(workDir, `${String(++processCounter).padStart(2, "0")}-${label}.log`);
  const env = childEnv({ PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: logLevel, ...extraEnv });
  const readyz = `http://127.0.0.1:${port}/readyz`;
  const t0 = performance.now();
  const child = spawnNode(`Vigil (${label})`, VIGIL_MAIN, env, logPath, flags);
  await waitUntil(child, "GET /readyz 200", async () => {
    const res = await fetch(readyz, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  });
  return { child, port, url: `http://127.0.0.1:${port}/graphql`, readyMs: performance.now() - t0 };
}

export const BARE_APOLLO_MAIN = join(ROOT, "dist", "bench", "bare-apollo.server.js");

/**
 * bench/bare-apollo.server.ts as a child on a free port of 127.0.0.1: Apollo Server 5 on express 5
 * answering `viewer` with a constant (no authentication, no database, no Vigil), the floor of a
 * GraphQL request over HTTP on this machine. Resolved once it answers `query`.
 */
export async function startBareApollo(workDir: string, label: string, query: string): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/graphql`;
  const child = spawnNode("bare Apollo", BARE_APOLLO_MAIN, childEnv({ PORT: String(port) }), join(workDir, `bare-apollo-${label}.log`));
  await waitUntil(child, "an answer to the viewer query", async () => (await postGraphQL(url, undefined, query)).status === 200);
  return { child, url };
}

/** main.ts prints a generated platform admin key once, on the first start of an empty database. */
export async function readGeneratedAdminKey(child: Child): Promise<string> {
  const deadline = performance.now() + 5_000;
  for (;;) {
    const m = /\bvgl_a_[0-9a-f]{12}_[0-9a-f]{64}\b/.exec(readFileSync(child.logPath, "utf8"));
    if (m) return m[0];
    if (performance.now() > deadline || child.exit) {
      throw new Error(`${child.name} did not print a generated admin key on its first start. Its log ends with:\n${logTail(child)}`);
    }
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------
// GraphQL over HTTP

export interface GraphQLReply {
  status: number;
  text: string;
  body: { data?: Record<string, unknown> | null; errors?: unknown[] } | undefined;
}

/** A request that got no HTTP answer at all (connection refused or reset, timeout); `code` is undici's or the socket's. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = "TransportError";
  }
}

/** POSTs `body` (an already serialised GraphQL request) and parses the answer; never throws on GraphQL errors. */
export async function postGraphQLBody(url: string, key: string | undefined, body: string, timeoutMs = 10_000): Promise<GraphQLReply> {
  const t0 = performance.now();
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    // undici says only "fetch failed"; the reason (reset, refused, timeout) is in its cause.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause ? `${cause.code ?? ""} ${cause.message ?? ""}`.trim() : (err as Error).message;
    throw new TransportError(`POST ${url} (${body.length.toLocaleString("en-US")} bytes) failed after ${Math.round(performance.now() - t0)} ms: ${why}`, cause?.code, err);
  }
  return replyOf(res.status, await res.text());
}

/** A reply from its status and body text; `body` undefined when the text is not JSON. */
function replyOf(status: number, text: string): GraphQLReply {
  let parsed: GraphQLReply["body"];
  try {
    parsed = JSON.parse(text) as GraphQLReply["body"];
  } catch {
    parsed = undefined;
  }
  return { status, text, body: parsed };
}

/**
 * One keep-alive connection through node:http, for latency series sent one request at a time.
 * fetch (undici) spent 0.3–0.6 ms of client CPU per request here against 0.13–0.22 ms for
 * node:http, with a longer tail (measured 2026-11-23 against a constant HTTP server): on a 2-core
 * machine shared with the server, that is time the measurement adds to what it measures.
 */
export class KeepAliveClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  post(url: string, key: string | undefined, body: string, timeoutMs = 10_000): Promise<GraphQLReply> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: "POST",
          agent: this.agent,
          timeout: timeoutMs,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            ...(key ? { authorization: `Bearer ${key}` } : {}),
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => resolve(replyOf(res.statusCode ?? 0, text)));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new TransportError(`POST ${url} timed out after ${timeoutMs} ms`, "ETIMEDOUT", undefined)));
      req.on("error", (err) => reject(err instanceof TransportError ? err : new TransportError(`POST ${url} failed: ${err.message}`, (err as NodeJS.ErrnoException).code, err)));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export function postGraphQL(url: string, key: string | undefined, query: string, variables?: Record<string, unknown>, timeoutMs?: number): Promise<GraphQLReply> {
  return postGraphQLBody(url, key, variables ? JSON.stringify({ query, variables }) : JSON.stringify({ query }), timeoutMs);
}

/** The `data` of a reply, or an error that shows the request's query and the answer. */
export function dataOf(reply: GraphQLReply, query: string): Record<string, unknown> {
  if (reply.status !== 200 || !reply.body?.data || reply.body.errors?.length) {
    throw new Error(`GraphQL request failed: ${query.slice(0, 300)}\n→ HTTP ${reply.status} ${reply.text.slice(0, 1000)}`);
  }
  return reply.body.data;
}

export async function graphqlOk(url: string, key: string, query: string, variables: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>> {
  return dataOf(await postGraphQL(url, key, query, variables, timeoutMs), query);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

export async function postgresVersion(url: string): Promise<{ version?: string; error?: string }> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000, application_name: "vigil-bench" });
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string }>("SELECT version()");
    return { version: rows[0]?.version };
  } catch (err) {
    return { error: (err as Error).message || String(err) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc)

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** user + system CPU seconds of a process (all its threads), plus those of its waited-for children when `children`. */
export function cpuSecondsOf(pid: number | string, children = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields 14-17 of proc(5) (utime, stime, cutime, cstime) are 11-14 here: the split starts at field 3
  const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  return ticks / ticksPerSecond();
}

/**
 * CPU seconds of every process named `postgres` on this machine, with the reaped children of each
 * (so backends that exit during a phase still count, through the postmaster). Other users of the
 * same PostgreSQL server count too: this is a machine-wide figure.
 */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "postgres") continue;
      total += cpuSecondsOf(entry, true);
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** Busy CPU seconds of the whole machine (all cores): user, nice, system, irq, softirq, steal. */
function machineBusySeconds(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return (user + nice + system + irq + softirq + steal) / ticksPerSecond();
}

/**
 * Starts counting the CPU that other work on the machine takes while a benchmark runs: machine-wide
 * busy time minus this process, its exited (reaped) children and every PostgreSQL process. Call the
 * result after all children have been stopped. A figure near zero means the run had the machine to
 * itself; PostgreSQL work for others (test suites on the same server) is not separated.
 */
export function otherCpuMeter(): () => { otherSeconds: number; wallSeconds: number } {
  const ours = () => cpuSecondsOf("self", true) + postgresCpuSeconds();
  const busy0 = machineBusySeconds();
  const ours0 = ours();
  const t0 = performance.now();
  return () => ({
    otherSeconds: Math.max(0, machineBusySeconds() - busy0 - (ours() - ours0)),
    wallSeconds: (performance.now() - t0) / 1000,
  });
}

// ---------------------------------------------------------------------------------------------
// Figures

export function median(values: number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The q-quantile (0..1) by linear interpolation between closest ranks, as numpy's default. */
export function quantile(values: number[], q: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function ms(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return "–";
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1);
}

export function int(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return "–";
  return Math.round(n).toLocaleString("en-US");
}

export function mib(bytes: number | undefined): string {
  if (bytes === undefined || Number.isNaN(bytes)) return "–";
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** A Markdown table whose first `textColumns` columns are left-aligned and the rest (figures) right-aligned. */
export function table(header: string[], rows: string[][], textColumns = 2): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const rule = header.map((_, i) => (i < textColumns ? "---" : "---:"));
  return [line(header), line(rule), ...rows.map(line)].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Reports

/** How to rerun this benchmark: the npm script when run through it, else the node command. */
export function commandLine(name: string, argv: string[]): string {
  const args = argv.map((a) => (a.includes("://") ? redactUrl(a) : a)).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`));
  if (process.env.npm_lifecycle_event === `bench:${name}`) return `npm run bench:${name}${args.length ? ` -- ${args.join(" ")}` : ""}`;
  return ["node", `dist/bench/${name}.bench.js`, ...args].join(" ");
}

/** What a report says about the run before its figures: command, date, machine, load, PostgreSQL. */
export interface RunHeader {
  name: string;
  argv: string[];
  date: string;
  /** performance.now() at the start of the run */
  began: number;
  /** 1-minute load average before the run */
  loadBefore: number;
  /** the PostgreSQL line: version, or why it is absent */
  postgres: string;
  /** from otherCpuMeter(), read once the children have stopped */
  otherCpu?: { otherSeconds: number; wallSeconds: number };
}

/** The commit the figures belong to, and whether src/ differed from it. */
function vigilRevision(): string {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    const sha = git("log", "-1", "--format=%h");
    const subject = git("log", "-1", "--format=%s");
    const dirty = git("status", "--porcelain", "--", "src").split("\n").filter(Boolean).length;
    return `commit ${sha} ("${subject.length > 80 ? `${subject.slice(0, 79)}…` : subject}")${dirty ? `, plus uncommitted changes to ${dirty} path${dirty === 1 ? "" : "s"} under src/` : ""}`;
  } catch {
    return "unknown (no git)";
  }
}

export function headerLines(h: RunHeader): string[] {
  const cpus = os.cpus();
  return [
    `- Vigil: ${vigilRevision()}`,
    `- Command: \`${commandLine(h.name, h.argv)}\``,
    `- Date: ${h.date} (run took ${Math.round((performance.now() - h.began) / 1000)} s)`,
    `- Machine: ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `${os.type()} ${os.release()}, Node ${process.version}, NODE_ENV ${process.env.NODE_ENV ? `"${process.env.NODE_ENV}"` : "unset"}`,
    `- Load average (1 min): ${h.loadBefore.toFixed(2)} before the run (other work competing for the ${cpus.length} cores), ` +
      `${os.loadavg()[0]!.toFixed(2)} at its end (including this benchmark)` +
      (h.otherCpu
        ? `; CPU taken by processes other than this benchmark, its servers and PostgreSQL during the run: ${h.otherCpu.otherSeconds.toFixed(0)} s ` +
          `in ${h.otherCpu.wallSeconds.toFixed(0)} s (${((100 * h.otherCpu.otherSeconds) / h.otherCpu.wallSeconds / cpus.length).toFixed(0)} % of the ${cpus.length} cores)`
        : ""),
    `- PostgreSQL: ${h.postgres}`,
  ];
}

/** Replaces (or appends) the `<!-- bench:NAME:start -->` … `<!-- bench:NAME:end -->` section of BENCHMARKS.md. */
export function writeBenchmarksMd(name: string, section: string): void {
  const startMark = `<!-- bench:${name}:start -->`;
  const endMark = `<!-- bench:${name}:end -->`;
  const block = `${startMark}\n${section.trim()}\n${endMark}`;
  let text: string;
  if (!existsSync(BENCHMARKS_MD)) {
    text =
      `# Benchmarks\n\nThe figures below come from the \`npm run bench:*\` scripts run on the shared 2-core machines; ` +
      `they describe one run each and are not timed assertions (no test fails on them).\n\n${block}\n`;
  } else {
    const current = readFileSync(BENCHMARKS_MD, "utf8");
    const start = current.indexOf(startMark);
    const end = current.indexOf(endMark, start + startMark.length);
    if (start !== -1 && end !== -1) {
      text = current.slice(0, start) + block + current.slice(end + endMark.length);
    } else {
      text = `${current.trimEnd()}\n\n${block}\n`;
    }
  }
  writeFileSync(BENCHMARKS_MD, text);
}

// ---------------------------------------------------------------------------------------------
// Process lifetime

const cleanups: Array<() => Promise<void> | void> = [];

/** Runs `fn` once when the benchmark ends (success, failure or signal), after its children are stopped. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** Removes `dir` at the end unless `keep`, in which case its path is printed. */
export function cleanupWorkDir(dir: string, keep: boolean): void {
  onCleanup(() => {
    if (keep) process.stderr.write(`kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  });
}

async function finish(): Promise<void> {
  await stopAll();
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`cleanup failed: ${(err as Error).message}\n`);
    }
  }
}

/**
 * Runs a benchmark's `main` and owns the process exit: children are stopped by pid and cleanups run
 * on success (exit 0), on failure (exit 1, with the stack) and on SIGINT/SIGTERM (exit 130; a second
 * signal exits at once).
 */
export function runBench(name: string, main: (argv: string[]) => Promise<void>): void {
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      process.stderr.write(`\n${signal}: stopping the servers this benchmark started\n`);
      void finish().finally(() => process.exit(130));
    });
  }
  main(process.argv.slice(2)).then(
    () => finish().then(() => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`\nbench:${name} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      void finish().finally(() => process.exit(1));
    },
  );
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL databases of the benchmarks

export async function connectPg(url: string, name: string): Promise<Client> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000, application_name: name });
  await client.connect();
  return client;
}

export interface BenchDatabase {
  url: string;
  version: string;
  /** true when the database was dropped and created empty for this run */
  fresh: boolean;
  /** settings that change these figures */
  settings: Record<string, string>;
}

/**
 * The PostgreSQL database for a run. A database whose name starts with `vigil_bench` belongs to the
 * benchmarks: it is dropped and created empty, so sizes and plans do not depend on earlier runs (the
 * server migrates it on start). Any other database is used as it is, and `test` (the test suites')
 * is refused. `settings` are read back for the report; `suggested` is named in the refusal.
 */
export async function prepareDatabase(url: string, settings: readonly string[], suggested: string): Promise<BenchDatabase> {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  if (!name) throw new Error(`--database-url names no database: ${redactUrl(url)}`);
  if (name === "test") throw new Error(`refusing the "test" database: the test suites own it; use the default ${suggested}`);
  const fresh = name.startsWith("vigil_bench");
  if (fresh) {
    const maintenance = new URL(url);
    maintenance.pathname = "/postgres";
    const admin = await connectPg(maintenance.toString(), "vigil-bench-admin");
    try {
      const ident = `"${name.replace(/"/g, '""')}"`;
      // Plain DROP (not WITH (FORCE)): if another session uses the database, this run stops here.
      await admin.query(`DROP DATABASE IF EXISTS ${ident}`);
      await admin.query(`CREATE DATABASE ${ident}`);
    } finally {
      await admin.end().catch(() => undefined);
    }
  }
  const client = await connectPg(url, "vigil-bench");
  try {
    const version = (await client.query<{ v: string }>("SELECT version() AS v")).rows[0]!.v;
    const values: Record<string, string> = {};
    for (const setting of settings) {
      values[setting] = (await client.query<{ v: string }>(`SELECT current_setting($1) AS v`, [setting])).rows[0]!.v;
    }
    return { url, version, fresh, settings: values };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** One line for the report header: version, database (and whether it was recreated), settings. */
export function databaseLine(db: BenchDatabase): string {
  const s = Object.entries(db.settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  return `${db.version}; database ${redactUrl(db.url)} ${db.fresh ? "(dropped and created empty for this run)" : "(used as it was)"}; ${s}`;
}
