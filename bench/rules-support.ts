import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "graphql-ws";
import WebSocket, { WebSocketServer } from "ws";
import { type BenchTenant, DAY_MS, type Sql } from "./metrics-support";
import { type BenchDatabase, graphqlOk, prepareDatabase } from "./support";

/**
 * What bench/rules.bench.ts needs besides support.ts: its database, a tenant with the rule and
 * alert scopes, the ingest bodies of its series, the SQL copy of rules, the CPU profile summary,
 * and the two child-process roles of its latency phase (run this file with RULES_BENCH_ROLE set):
 *
 * - `clients`: N graphql-ws clients (the `graphql-ws` package on `ws`, as test/support/ws.ts) that
 *   subscribe to `alertEvents` and record, for every message, its receive time and the time it
 *   stands for (AlertEvent.at, or the baseline's send time);
 * - `broadcaster`: the baseline, a bare `ws` server speaking just enough of the graphql-ws
 *   protocol (ack, then `next` frames of a given size) for the same clients, with no GraphQL.
 *
 * The roles live here rather than in files of their own because this benchmark owns only
 * bench/rules.bench.ts and this file. Both children end by themselves (a deadline in their env).
 */

export const DEFAULT_RULES_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/vigil_bench_rules";
export const METRIC = "bench_cpu";
export const SUBSCRIPTION = "subscription { alertEvents { state at alert { id labels } } }";

const SETTINGS = ["shared_buffers", "work_mem", "jit", "synchronous_commit", "max_wal_size"];

export function prepareRulesDatabase(url: string): Promise<BenchDatabase> {
  return prepareDatabase(url, SETTINGS, DEFAULT_RULES_DATABASE_URL);
}

/** host label of series number i (0-based): h00001 … */
export function hostOf(i: number): string {
  return `h${String(i + 1).padStart(5, "0")}`;
}

/** A tenant with unlimited metric quotas and a key with the scopes this benchmark uses. */
export async function createRulesTenant(url: string, adminKey: string): Promise<BenchTenant> {
  const slug = `bench-rules-${randomBytes(4).toString("hex")}`;
  const created = await graphqlOk(url, adminKey, `mutation($input: CreateTenantInput!) { createTenant(input: $input) { id slug } }`, {
    input: { slug, name: "Benchmark rules", maxSeries: 2_000_000, maxSamplesPerSecond: 100_000_000, retentionDays: 30 },
  });
  const tenant = created.createTenant as { id: string; slug: string };
  const keyed = await graphqlOk(url, adminKey, `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`, {
    input: { name: "bench:rules", scopes: ["METRICS_READ", "METRICS_WRITE", "RULES_READ", "RULES_WRITE", "ALERTS_READ"], tenantId: tenant.id },
  });
  return { id: tenant.id, slug: tenant.slug, key: (keyed.createApiKey as { secret: string }).secret };
}

// ---------------------------------------------------------------------------------------------
// Rules

export const CREATE_RULE = `mutation($input: AlertRuleInput!) {
  createRule(input: $input) { id intervalSeconds nextEvaluationAt conditions { selector { name matchers { label op value } } aggregation windowSeconds operator threshold } }
}`;

/** The rule of one host: AVG over 60 s above `threshold`, evaluated every 60 s, firing at once. */
export function ruleInput(host: string, threshold: number): Record<string, unknown> {
  return {
    name: `bench ${host} busy`,
    severity: "WARNING",
    conditions: [{ selector: { name: METRIC, matchers: [{ label: "host", op: "EQ", value: host }] }, aggregation: "AVG", windowSeconds: 60, operator: "GT", threshold }],
    intervalSeconds: 60,
    forSeconds: 0,
    annotations: { summary: "{{ $labels.host }} at {{ $value }} %" },
  };
}

/**
 * Copies the stored rule `templateId` as new rules (one SQL statement per 1,000): same columns,
 * with each copy's id, name, conditions (the template's, host matcher replaced) and
 * next_evaluation_at (the caller computes it as the server would: nextSlot()). Writes no audit
 * rows, unlike createRule.
 */
export async function copyRules(sql: Sql, tenantId: string, templateId: string, copies: ReadonlyArray<{ id: string; host: string; next: number }>): Promise<void> {
  const [template] = await sql<{ conditions: Array<{ selector: { matchers: Array<{ value: string }> } }> }>(
    `SELECT conditions FROM alert_rules WHERE tenant_id = $1 AND id = $2`,
    [tenantId, templateId],
  );
  if (!template) throw new Error(`rule ${templateId} not found`);
  for (let i = 0; i < copies.length; i += 1_000) {
    const chunk = copies.slice(i, i + 1_000);
    const conditions = chunk.map((c) => {
      const conds = structuredClone(template.conditions);
      conds[0]!.selector.matchers[0]!.value = c.host;
      return JSON.stringify(conds);
    });
    await sql(
      `INSERT INTO alert_rules (tenant_id, id, name, description, severity, category, conditions, combine, group_by, for_seconds,
                                keep_firing_for_seconds, interval_seconds, no_data, labels, annotations, enabled, created_at, updated_at,
                                next_evaluation_at)
       SELECT r.tenant_id, u.id, u.name, r.description, r.severity, r.category, u.conditions, r.combine, r.group_by, r.for_seconds,
              r.keep_firing_for_seconds, r.interval_seconds, r.no_data, r.labels, r.annotations, r.enabled, now(), now(), to_timestamp(u.next / 1000.0)
         FROM alert_rules r, unnest($3::uuid[], $4::text[], $5::jsonb[], $6::float8[]) AS u(id, name, conditions, next)
        WHERE r.tenant_id = $1 AND r.id = $2`,
      [tenantId, templateId, chunk.map((c) => c.id), chunk.map((c) => `bench ${c.host} busy`), conditions, chunk.map((c) => c.next)],
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Samples

const INGEST = "mutation Ingest($p: [MetricPointInput!]!) { ingestMetrics(points: $p) { accepted seriesCreated } }";

/** Quiet hosts stay in [10, 50); a busy stretch is in [90, 100). */
export function quietValue(i: number, k: number): number {
  return 10 + ((i * 7 + k * 13) % 40);
}

export function busyValue(i: number, k: number): number {
  return 90 + ((i + k) % 10);
}

/** An ingest body of the given (host index, timestamp, value) points. */
export function samplesBody(points: ReadonlyArray<{ i: number; ts: number; v: number }>): string {
  const parts = points.map((p) => `{"name":"${METRIC}","type":"GAUGE","labels":{"host":"${hostOf(p.i)}"},"value":${p.v},"timestamp":${p.ts}}`);
  return `{"query":${JSON.stringify(INGEST)},"variables":{"p":[${parts.join(",")}]}}`;
}

/** One timestamp per UTC day in [first, last]: sent alone first, so no day partition is created during the seed (see bench:query). */
export function partitionTimestamps(first: number, last: number): number[] {
  const out: number[] = [];
  for (let day = Math.floor(first / DAY_MS); day <= Math.floor(last / DAY_MS); day++) out.push(Math.max(first, day * DAY_MS));
  return out;
}

// ---------------------------------------------------------------------------------------------
// CPU profiles (node --cpu-prof)

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Self time by function and by where the code lives, from a .cpuprofile file. */
export function summarizeProfile(path: string, top = 15): { totalMs: number; functions: Array<[string, number]>; places: Array<[string, number]> } {
  const p = JSON.parse(readFileSync(path, "utf8")) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const place = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, k) => {
    const us = p.timeDeltas[k] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") return;
    total += us;
    const file = url.replace(/^file:\/\//, "");
    const where = placeOf(file, functionName);
    const name = `${functionName || "(anonymous)"} ${file ? `${shortPath(file)}:${lineNumber + 1}` : ""}`.trim();
    fn.set(name, (fn.get(name) ?? 0) + us);
    place.set(where, (place.get(where) ?? 0) + us);
  });
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => [k, us / 1000] as [string, number]);
  return { totalMs: total / 1000, functions: sorted(fn), places: sorted(place) };
}

function shortPath(file: string): string {
  const nm = file.lastIndexOf("node_modules/");
  if (nm >= 0) return file.slice(nm + "node_modules/".length);
  const dist = file.indexOf("/dist/");
  return dist >= 0 ? file.slice(dist + 1) : file;
}

function placeOf(file: string, functionName: string): string {
  if (!file) return functionName.startsWith("(") ? functionName : "(native/builtin)";
  const nm = file.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = file.slice(nm + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = /\/dist\/(src\/[^/]+(?:\/[^/]+)?)/.exec(file);
  if (src) return src[1]!.replace(/\.js$/, "");
  if (file.startsWith("node:")) return "node internals";
  return file;
}

// ---------------------------------------------------------------------------------------------
// Child roles of the latency phase

/** One received message: the time it stands for, its receive time (both epoch ms), the event. */
export interface Delivery {
  at: number;
  recv: number;
  state: string;
  alertId: string;
  client: number;
}

export interface ClientsResult {
  clients: number;
  connected: number;
  subscribed: number;
  errors: string[];
  deliveries: Delivery[];
  /** one `next` frame as the server serialises it, for the baseline's size */
  sampleFrame: string | null;
}

/** High-resolution wall clock (epoch ms with µs), the same in every process of the run. */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** RULES_BENCH_ROLE=clients: subscribes RB_CLIENTS graphql-ws clients to RB_WS_URL until RB_UNTIL or every subscription completes. */
async function clientsRole(env: NodeJS.ProcessEnv): Promise<void> {
  const n = Number(env.RB_CLIENTS);
  const until = Number(env.RB_UNTIL);
  const result: ClientsResult = { clients: n, connected: 0, subscribed: 0, errors: [], deliveries: [], sampleFrame: null };
  let completed = 0;
  const disposers: Array<() => void> = [];
  const clients = Array.from({ length: n }, () =>
    createClient({
      url: env.RB_WS_URL!,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      connectionParams: env.RB_KEY ? { authorization: `Bearer ${env.RB_KEY}` } : {},
      on: { connected: () => void result.connected++ },
      onNonLazyError: (e) => void result.errors.push(`connection: ${String((e as { reason?: string }).reason ?? e)}`),
    }),
  );
  clients.forEach((client, c) => {
    disposers.push(
      client.subscribe<{ alertEvents: { state: string; at: string; alert: { id: string } } }>(
        { query: SUBSCRIPTION },
        {
          next: (r) => {
            const recv = wallNow();
            const e = r.data?.alertEvents;
            if (!e) {
              result.errors.push(JSON.stringify(r).slice(0, 300));
              return;
            }
            const sentAt = (r.extensions as { sentAt?: number } | undefined)?.sentAt;
            result.deliveries.push({ at: sentAt ?? Date.parse(e.at), recv, state: e.state, alertId: e.alert.id, client: c });
            result.sampleFrame ??= JSON.stringify({ id: "00000000-0000-4000-8000-000000000000", type: "next", payload: r });
          },
          error: (e) => void result.errors.push(`subscription: ${e instanceof Error ? e.message : JSON.stringify(e).slice(0, 300)}`),
          complete: () => void completed++,
        },
      ),
    );
  });
  // connected → subscribe message sent: the server holds the subscription once it has read it
  while (result.connected < n && Date.now() < until && result.errors.length === 0) await sleep(20);
  result.subscribed = result.connected;
  process.stdout.write(`${JSON.stringify({ ready: result.connected === n, connected: result.connected, errors: result.errors.slice(0, 3) })}\n`);
  while (Date.now() < until && completed < n) await sleep(20);
  writeFileSync(env.RB_OUT!, JSON.stringify(result));
  for (const d of disposers) d();
  await Promise.all(clients.map((c) => c.dispose()));
}

/**
 * RULES_BENCH_ROLE=broadcaster: a bare ws server on 127.0.0.1:RB_PORT/graphql. Once RB_CLIENTS
 * subscriptions are held, sends RB_MESSAGES `next` frames, one every RB_SPACING_MS, to all of
 * them (each frame RB_FRAME_BYTES long, its payload RB_TEMPLATE with the send time in
 * extensions.sentAt), then `complete`, and exits. No GraphQL parsing or execution.
 */
async function broadcasterRole(env: NodeJS.ProcessEnv): Promise<void> {
  const n = Number(env.RB_CLIENTS);
  const messages = Number(env.RB_MESSAGES);
  const spacing = Number(env.RB_SPACING_MS);
  const frameBytes = Number(env.RB_FRAME_BYTES);
  const template = JSON.parse(env.RB_TEMPLATE!) as { data: { alertEvents: { alert: { labels: Record<string, string> } } } };
  const deadline = Date.now() + Number(env.RB_TIMEOUT_MS);
  const subs: Array<{ ws: WebSocket; id: string }> = [];
  const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(env.RB_PORT), path: "/graphql" });
  wss.on("connection", (ws) => {
    ws.on("message", (raw) => {
      const m = JSON.parse(String(raw)) as { type: string; id?: string };
      if (m.type === "connection_init") ws.send('{"type":"connection_ack"}');
      else if (m.type === "ping") ws.send('{"type":"pong"}');
      else if (m.type === "subscribe" && m.id) subs.push({ ws, id: m.id });
    });
  });
  while (subs.length < n && Date.now() < deadline) await sleep(20);
  await sleep(500);
  // the frame of Vigil's size: the send time rides in extensions, so the longest label value is
  // shortened (or a label padded) by the difference; the id is a UUID on both sides
  const ID = "@@subscription-id@@";
  const labels = { ...template.data.alertEvents.alert.labels };
  const frameOf = (id: string, sentAt: number) =>
    JSON.stringify({
      id,
      type: "next",
      payload: { ...template, data: { alertEvents: { ...template.data.alertEvents, alert: { ...template.data.alertEvents.alert, labels } } }, extensions: { sentAt } },
    });
  const probe = () => frameOf("00000000-0000-4000-8000-000000000000", wallNow()).length;
  for (const name of Object.keys(labels).sort((a, b) => labels[b]!.length - labels[a]!.length)) {
    const excess = probe() - frameBytes;
    if (excess <= 0) break;
    labels[name] = labels[name]!.slice(0, Math.max(1, labels[name]!.length - excess));
  }
  const short = frameBytes - probe();
  if (short > 0) labels.pad = "x".repeat(Math.max(0, short - '"pad":"",'.length));
  const finalBytes = probe();
  for (let k = 0; k < messages && Date.now() < deadline; k++) {
    // one serialisation per message, each subscription's id spliced in
    const [head, tail] = frameOf(ID, wallNow()).split(JSON.stringify(ID)) as [string, string];
    for (const s of subs) s.ws.send(`${head}${JSON.stringify(s.id)}${tail}`);
    await sleep(spacing);
  }
  for (const s of subs) s.ws.send(JSON.stringify({ id: s.id, type: "complete" }));
  await sleep(500);
  for (const c of wss.clients) c.close(1000);
  await new Promise<void>((r) => wss.close(() => r()));
  process.stdout.write(`${JSON.stringify({ subscriptions: subs.length, sent: messages, frameBytes: finalBytes })}\n`);
}

if (require.main === module) {
  const env = process.env;
  const role = env.RULES_BENCH_ROLE === "clients" ? clientsRole : env.RULES_BENCH_ROLE === "broadcaster" ? broadcasterRole : undefined;
  if (!role) {
    process.stderr.write("bench/rules-support.js runs as a child of bench/rules.bench.js (RULES_BENCH_ROLE=clients|broadcaster)\n");
    process.exit(2);
  }
  // a hard stop whatever happens: the parent's deadline plus a margin
  setTimeout(() => process.exit(3), Math.max(1_000, Number(env.RB_HARD_STOP_MS) || 180_000)).unref();
  role(env).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
