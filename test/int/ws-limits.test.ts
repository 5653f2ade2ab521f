import type { Socket } from "node:net";
import WebSocket from "ws";
import { seedTenant } from "../builders/tenant.builder";
import { gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";
import { type Closed, collect, sleep, waitForSubscriptions, wsClient } from "../support/ws";
import { until } from "../support/wait";

/**
 * WebSocket robustness on a real server: connection_init timeout, keepalive, per-key and
 * per-tenant connection limits (4429) and the bounded send queue (slow consumers closed with 4008).
 */

const PROTOCOL = "graphql-transport-ws";
const SUB = `subscription { auditEvents { id action details } }`;
const RENAME = `mutation($id: ID!, $name: String!) { updateTenant(id: $id, input: { name: $name }) { id } }`;

/** One value of GET /metrics (name{labels}); 0 when absent. */
async function metric(baseUrl: string, name: string): Promise<number> {
  const text = await fetch(`${baseUrl}/metrics`)
    // a kept-alive connection the server closed at that moment: ask once more
    .catch(() => fetch(`${baseUrl}/metrics`))
    .then((res) => res.text());
  const m = new RegExp(`^${name.replace(/[{}"=]/g, "\\$&")} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** A graphql-ws client that has been acknowledged (a query answered over it). */
async function connected(server: TestServer, key: string) {
  const c = wsClient(server.wsUrl, key);
  const q = collect(c.client, `{ viewer { platformAdmin } }`);
  await Promise.race([
    q.until(() => q.completed || q.error !== undefined),
    c.closed.then((cl) => {
      throw new Error(`closed before acknowledged: ${cl.code} ${cl.reason}`);
    }),
  ]);
  if (q.error !== undefined) throw new Error(`query over the socket failed: ${String(q.error)}`);
  return c;
}

/** A raw `ws` socket speaking graphql-transport-ws by hand, with its TCP socket and every frame recorded. */
function rawSocket(server: TestServer, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(server.wsUrl, PROTOCOL, options);
  const messages: Array<{ type: string; id?: string; payload?: unknown }> = [];
  let pings = 0;
  let tcp: Socket | undefined;
  ws.on("upgrade", (res) => (tcp = res.socket));
  ws.on("message", (data) => messages.push(JSON.parse(String(data))));
  ws.on("ping", () => pings++);
  ws.on("error", () => undefined);
  const closed = new Promise<Closed>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    ws,
    messages,
    closed,
    get pings() {
      return pings;
    },
    get tcp(): Socket {
      if (!tcp) throw new Error("not upgraded yet");
      return tcp;
    },
    opened,
    send: (message: object) => ws.send(JSON.stringify(message)),
    async init(key: string): Promise<void> {
      await opened;
      ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${key}` } }));
      await until("connection_ack", () => messages.some((m) => m.type === "connection_ack") || ws.readyState !== WebSocket.OPEN);
      if (ws.readyState !== WebSocket.OPEN) throw new Error("closed instead of acknowledged");
    },
  };
}

describe("connection limits, init timeout and keepalive", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({
      WS_MAX_CONNECTIONS_PER_KEY: "2",
      WS_MAX_CONNECTIONS_PER_TENANT: "3",
      WS_INIT_TIMEOUT_MS: "300",
      WS_KEEPALIVE_MS: "1000",
    });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("closes the connection beyond the per-key limit with 4429 and frees the slot when a socket closes", async () => {
    const t = await seedTenant(s);
    const a = await connected(s, t.key);
    const b = await connected(s, t.key);
    const refusedBefore = await metric(s.baseUrl, `vigil_ws_connections_refused_total{limit="key"}`);
    const third = wsClient(s.wsUrl, t.key);
    expect(await third.closed).toEqual({ code: 4429, reason: "too many connections for this API key (limit 2)" });
    await third.client.dispose();
    expect(await metric(s.baseUrl, `vigil_ws_connections_refused_total{limit="key"}`)).toBe(refusedBefore + 1);

    // the other two still work
    const q = collect(b.client, `{ viewer { tenant { id } } }`);
    await q.until(() => q.completed);
    expect(q.results[0]!.data).toEqual({ viewer: { tenant: { id: t.id } } });

    const open = await metric(s.baseUrl, "vigil_ws_connections");
    await a.client.dispose();
    expect((await a.closed).code).toBe(1000);
    await until("the server to see the close", async () => (await metric(s.baseUrl, "vigil_ws_connections")) === open - 1);
    const again = await connected(s, t.key);
    await again.client.dispose();
    await b.client.dispose();
  });

  it("closes the connection beyond the per-tenant limit with 4429, whichever key it uses", async () => {
    const t = await seedTenant(s);
    const other = await seedTenant(s);
    const k2 = await t.keyWith(["METRICS_READ"]);
    const k3 = await t.keyWith(["METRICS_READ"]);
    const clients = [await connected(s, t.key), await connected(s, t.key), await connected(s, k2.key)];
    const fourth = wsClient(s.wsUrl, k3.key);
    expect(await fourth.closed).toEqual({ code: 4429, reason: "too many connections for this tenant (limit 3)" });
    await fourth.client.dispose();
    // another tenant is not affected
    const elsewhere = await connected(s, other.key);

    const open = await metric(s.baseUrl, "vigil_ws_connections");
    await clients[2]!.client.dispose();
    await until("the server to see the close", async () => (await metric(s.baseUrl, "vigil_ws_connections")) === open - 1);
    const freed = await connected(s, k3.key);
    for (const c of [clients[0]!, clients[1]!, elsewhere, freed]) await c.client.dispose();
  });

  it("closes a socket that sends no connection_init in time with 4408", async () => {
    const raw = rawSocket(s);
    await raw.opened;
    expect(await raw.closed).toEqual({ code: 4408, reason: "Connection initialisation timeout" });
  });

  it("terminates a socket that does not answer pings and keeps one that does", async () => {
    const t = await seedTenant(s);
    const silent = rawSocket(s, { autoPong: false });
    const healthy = rawSocket(s);
    await silent.init(t.key);
    await healthy.init(t.key);
    // terminated, not closed: the client sees the TCP connection end without a close frame
    expect(await silent.closed).toEqual({ code: 1006, reason: "" });
    expect(silent.pings).toBeGreaterThanOrEqual(1);
    await until("two pings on the healthy socket", () => healthy.pings >= 2 || healthy.ws.readyState !== WebSocket.OPEN);
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
    healthy.ws.close(1000);
    await healthy.closed;
  });
});

describe("subscriptions that share one execution", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("every subscriber of the same key and document gets each event; one leaving ends none of the others", async () => {
    const t = await seedTenant(s);
    const other = await seedTenant(s);
    const base = await metric(s.baseUrl, "vigil_ws_subscriptions");
    const clients = [wsClient(s.wsUrl, t.key), wsClient(s.wsUrl, t.key), wsClient(s.wsUrl, t.key), wsClient(s.wsUrl, other.key)];
    const subs = clients.map((c) => collect(c.client, SUB));
    // a second subscription on the same socket, same document: its own id, same events
    const twin = collect(clients[0]!.client, SUB);
    await waitForSubscriptions(s.baseUrl, base + 5);
    const names = (r: { results: Array<{ data?: unknown }> }) => r.results.map((x) => (x.data as { auditEvents: { details: { after: { name: string } } } }).auditEvents.details.after.name);

    await gqlOk(s.url, t.key, RENAME, { id: t.id, name: "first" });
    for (const sub of [subs[0]!, subs[1]!, subs[2]!, twin]) await sub.until(() => sub.results.length >= 1);
    subs[1]!.dispose();
    await clients[2]!.client.dispose();
    await until("two subscriptions to end", async () => (await metric(s.baseUrl, "vigil_ws_subscriptions")) === base + 3);

    await gqlOk(s.url, t.key, RENAME, { id: t.id, name: "second" });
    await gqlOk(s.url, other.key, RENAME, { id: other.id, name: "other" });
    await subs[0]!.until(() => subs[0]!.results.length >= 2);
    await twin.until(() => twin.results.length >= 2);
    await subs[3]!.until(() => subs[3]!.results.length >= 1);
    await sleep(200);
    expect(names(subs[0]!)).toEqual(["first", "second"]);
    expect(names(twin)).toEqual(["first", "second"]);
    expect(names(subs[1]!)).toEqual(["first"]);
    expect(names(subs[2]!)).toEqual(["first"]);
    expect(names(subs[3]!)).toEqual(["other"]);
    for (const c of [clients[0]!, clients[1]!, clients[3]!]) await c.client.dispose();
  });
});

describe("bounded send queue", () => {
  const LIMIT = 50;
  /** subscriptions on each slow socket, and aliases per subscription: large messages fill the TCP buffers quickly */
  const SUBSCRIPTIONS = 20;
  const ALIASES = 100;
  const HEAVY = `subscription { auditEvents { id ${Array.from({ length: ALIASES }, (_, i) => `d${i}: details`).join(" ")} } }`;

  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({
      WS_MAX_QUEUED_MESSAGES: String(LIMIT),
      // a paused client cannot answer pings either; here only the send queue may close it
      WS_KEEPALIVE_MS: "0",
      MAX_ALIASES: String(ALIASES + 10),
    });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("closes a consumer that stops reading with 4008, while a normal subscriber of the tenant receives everything", async () => {
    const t = await seedTenant(s);
    const baseSubs = await metric(s.baseUrl, "vigil_ws_subscriptions");
    const baseConnections = await metric(s.baseUrl, "vigil_ws_connections");
    const closedBefore = await metric(s.baseUrl, "vigil_ws_slow_consumers_closed_total");

    const normal = wsClient(s.wsUrl, t.key);
    const received = collect(normal.client, SUB);
    // `resumed` reads again once the server has given up on it; `stuck` never does
    const resumed = rawSocket(s);
    const stuck = rawSocket(s);
    for (const slow of [resumed, stuck]) {
      await slow.init(t.key);
      for (let i = 0; i < SUBSCRIPTIONS; i++) slow.send({ id: `s${i}`, type: "subscribe", payload: { query: HEAVY } });
    }
    await waitForSubscriptions(s.baseUrl, baseSubs + 1 + 2 * SUBSCRIPTIONS);
    resumed.tcp.pause();
    stuck.tcp.pause();

    // audited mutations until the server has closed both slow sockets (bounded)
    const names: string[] = [];
    for (let i = 0; (await metric(s.baseUrl, "vigil_ws_slow_consumers_closed_total")) < closedBefore + 2; i++) {
      if (i >= 1_000) throw new Error(`no slow consumer closed after ${i} events`);
      const name = `${String(i).padStart(4, "0")} ${"x".repeat(190)}`;
      await gqlOk(s.url, t.key, RENAME, { id: t.id, name });
      names.push(name);
    }
    resumed.tcp.resume();
    expect(await resumed.closed).toEqual({ code: 4008, reason: `slow consumer: more than ${LIMIT} messages waiting` });
    // what it did get before the close is in order, without gaps
    const got = resumed.messages
      .filter((m) => m.type === "next" && m.id === "s0")
      .map((m) => (m.payload as { data: { auditEvents: { d0: { after: { name: string } } } } }).data.auditEvents.d0.after.name);
    expect(got).toEqual(names.slice(0, got.length));

    // no socket's queue ever went beyond the limit
    expect(await metric(s.baseUrl, "vigil_ws_queued_messages_peak")).toBeLessThanOrEqual(LIMIT);

    // the normal subscriber got every event, in order
    await received.until(() => received.results.length >= names.length, 30_000);
    expect(received.results.map((r) => (r.data as { auditEvents: { details: { after: { name: string } } } }).auditEvents.details.after.name)).toEqual(names);

    // the stuck socket is destroyed after the grace period: the server lets go of it
    await until("the stuck socket to be terminated", async () => (await metric(s.baseUrl, "vigil_ws_connections")) === baseConnections + 1, 20_000);
    // every slow subscription ended; nothing stays queued for the closed sockets
    expect(await metric(s.baseUrl, "vigil_ws_subscriptions")).toBe(baseSubs + 1);
    await until("the queues to drain", async () => (await metric(s.baseUrl, "vigil_ws_queued_messages")) === 0);
    stuck.tcp.destroy();

    // publishing goes on for the normal subscriber
    await gqlOk(s.url, t.key, RENAME, { id: t.id, name: "after" });
    await received.until(() => received.results.length === names.length + 1);
    await normal.client.dispose();
  });
});
