import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { ANOMALIES, ANOMALY_SUB, calmSeries, createMonitorOk } from "../builders/anomaly.builder";
import { ingestOk } from "../builders/metrics.builder";
import { CIRCUIT_SUB, CONFIGURE, HEALTH_SUB, HEARTBEAT, registerOk, reportOk } from "../builders/registry.builder";
import { ALERT, ALERT_EVENTS, createRuleOk, ruleInput } from "../builders/rules.builder";
import { type SeededTenant, seedTenant } from "../builders/tenant.builder";
import { gqlOk } from "../support/gql";
import { type PrivateRedis, startPrivateRedis, waitForRedisSubscribers } from "../support/redis";
import { type TestServer, startServer } from "../support/server";
import { activeSubscriptions, collect, sleep, waitForSubscriptions, wsClient } from "../support/ws";
import { freePort, until } from "../support/wait";

/**
 * One Vigil process with REDIS_URL pointing at a private redis-server (never the machine's own,
 * since these tests kill it): every event goes out to Redis and comes back from it, on both
 * databases. Cross-process delivery is in test/e2e/scale-out.test.ts.
 */

const PREFIX = `vigil-test-${randomBytes(4).toString("hex")}:`;
const AUDIT_SUB = `subscription { auditEvents { id at action actor targetType targetId details } }`;
const AUDIT_LOG = `query { auditLog(first: 1) { nodes { id at action actor targetType targetId details } } }`;
const RENAME = `mutation($id: ID!, $name: String!) { updateTenant(id: $id, input: { name: $name }) { id } }`;

let redis: PrivateRedis;
let s: TestServer;
/** every message on our prefix, read straight from Redis: proof that events travelled through it */
let tap: Redis;
const tapped: Array<{ channel: string; message: string }> = [];

beforeAll(async () => {
  redis = await startPrivateRedis();
  tap = new Redis(redis.url);
  tap.on("error", () => undefined);
  tap.on("pmessage", (_pattern: string, channel: string, message: string) => tapped.push({ channel, message }));
  await tap.psubscribe(`${PREFIX}*`);
});
afterAll(async () => {
  tap?.disconnect();
  await redis?.stop();
});

const channel = (topic: string, id?: string) => `${PREFIX}${topic}${id === undefined ? "" : `:${id}`}`;
const tappedOn = (topic: string, id: string) => tapped.filter((m) => m.channel === channel(topic, id));

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${s.baseUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

async function readyz(): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${s.baseUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The same subscription for tenants a and b; resolves once Redis has both SUBSCRIBEs. */
async function subscribePair(a: SeededTenant, b: SeededTenant, topic: string, query: string, variables: Record<string, unknown> = {}) {
  const base = await activeSubscriptions(s.baseUrl);
  const ca = wsClient(s.wsUrl, a.key).client;
  const cb = wsClient(s.wsUrl, b.key).client;
  const subA = collect(ca, query, variables);
  const subB = collect(cb, query, variables);
  // this process holds one Redis subscription per channel, whatever its number of local subscribers
  await waitForSubscriptions(s.baseUrl, base + 2);
  await waitForRedisSubscribers(redis.url, channel(topic, a.id));
  await waitForRedisSubscribers(redis.url, channel(topic, b.id));
  return {
    subA,
    subB,
    dispose: async () => {
      await ca.dispose();
      await cb.dispose();
    },
  };
}

describe(`events through Redis, one process (${process.env.DATABASE_URL ? "PostgreSQL" : "embedded"})`, () => {
  // per describe: the embedded database allows one server per jest process at a time
  beforeAll(async () => {
    s = await startServer({ REDIS_URL: redis.url, REDIS_CHANNEL_PREFIX: PREFIX, ROLLUP_INTERVAL_MS: "600000" });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("auditEvents reach the tenant's subscribers through Redis, equal to what auditLog reads, and no other tenant's", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const { subA, subB, dispose } = await subscribePair(a, b, "AUDIT_EVENTS", AUDIT_SUB);
    await gqlOk(s.url, a.key, RENAME, { id: a.id, name: "renamed" });
    await subA.until(() => subA.results.length >= 1);
    const [stored] = (await gqlOk(s.url, a.key, AUDIT_LOG)).auditLog.nodes;
    expect(subA.results[0]!.data.auditEvents).toEqual(stored);
    expect(stored).toMatchObject({ action: "tenant.update", targetId: a.id, details: { after: { name: "renamed" } } });
    expect(tappedOn("AUDIT_EVENTS", a.id).map((m) => JSON.parse(m.message).id)).toContain(stored.id);
    await sleep(200);
    expect(subB.results).toEqual([]);
    await dispose();
  });

  it("a message on one of its channels that is not JSON is dropped with a warning: the process and the subscription carry on", async () => {
    const a = await seedTenant(s);
    const { client } = wsClient(s.wsUrl, a.key);
    const sub = collect(client, AUDIT_SUB);
    await waitForRedisSubscribers(redis.url, channel("AUDIT_EVENTS", a.id));
    const received = await metric("vigil_pubsub_events_received_total", `topic="AUDIT_EVENTS"`);
    const intruder = new Redis(redis.url);
    try {
      // the process and this file's tap
      expect(await intruder.publish(channel("AUDIT_EVENTS", a.id), "{not json")).toBe(2);
    } finally {
      intruder.disconnect();
    }
    await until("the garbage to arrive", async () => (await metric("vigil_pubsub_events_received_total", `topic="AUDIT_EVENTS"`)) > received);
    await gqlOk(s.url, a.key, RENAME, { id: a.id, name: "after garbage" });
    await sub.until(() => sub.results.length >= 1);
    expect(sub.results).toHaveLength(1);
    expect(sub.results[0]!.data.auditEvents).toMatchObject({ details: { after: { name: "after garbage" } } });
    expect(sub.error).toBeUndefined();
    await client.dispose();
  });

  it("alertEvents carry the transition through Redis; the alert equals what the alert query reads", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const rule = await createRuleOk(s, a.key, ruleInput({ forSeconds: 30 }));
    const slot = Date.parse(rule.nextEvaluationAt);
    await ingestOk(s, a.key, [0, 1, 2, 3, 4, 5].map((k) => ({ name: "cpu", value: 95, timestamp: slot - 55_000 + 10_000 * k, labels: { host: "a" } })));
    const { subA, subB, dispose } = await subscribePair(a, b, "ALERT_EVENTS", ALERT_EVENTS);
    expect(await s.app.jobs.evaluateRules(slot, a.id)).toMatchObject({ transitions: 1, errors: 0 });
    await subA.until(() => subA.results.length >= 1);
    const event = subA.results[0]!.data.alertEvents;
    expect(event).toMatchObject({ previousState: null, state: "PENDING", at: new Date(slot).toISOString() });
    const stored = (await gqlOk(s.url, a.key, ALERT, { id: event.alert.id })).alert;
    expect(event.alert).toEqual({
      id: stored.id,
      state: stored.state,
      value: stored.value,
      labels: stored.labels,
      annotations: stored.annotations,
      silenced: stored.silenced,
      rule: { name: "HighCpu" },
    });
    expect(event.alert).toMatchObject({ value: 95, annotations: { summary: "cpu at 95 on a" } });
    expect(tappedOn("ALERT_EVENTS", a.id)).toHaveLength(1);
    await sleep(200);
    expect(subB.results).toEqual([]);
    await dispose();
  });

  it("serviceHealthChanged and circuitStateChanged reach the tenant's subscribers through Redis", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    await gqlOk(s.url, a.key, CONFIGURE, {
      name: "svc",
      policy: { circuitBreaker: { windowSize: 2, minimumCalls: 2, failureRateThreshold: 50, openStateSeconds: 60, halfOpenCalls: 1 } },
    });
    await registerOk(s, a.key, { service: "svc", instanceId: "i-1" });
    const health = await subscribePair(a, b, "SERVICE_HEALTH_CHANGED", HEALTH_SUB);
    const circuit = await subscribePair(a, b, "CIRCUIT_STATE_CHANGED", CIRCUIT_SUB);

    await gqlOk(s.url, a.key, HEARTBEAT, { id: "i-1", health: "CRITICAL", note: "disk full" });
    await health.subA.until(() => health.subA.results.length >= 1);
    expect(health.subA.results[0]!.data.serviceHealthChanged).toMatchObject({
      previous: "PASSING",
      health: "CRITICAL",
      instance: { instanceId: "i-1", health: "CRITICAL", service: { name: "svc" } },
    });

    await reportOk(s, a.key, { instanceId: "i-1", durationMs: 5, success: false, statusCode: 503 });
    expect((await reportOk(s, a.key, { instanceId: "i-1", durationMs: 5, success: false, statusCode: 503 })).circuit).toBe("OPEN");
    await circuit.subA.until(() => circuit.subA.results.length >= 1);
    expect(circuit.subA.results[0]!.data.circuitStateChanged).toMatchObject({
      previous: "CLOSED",
      state: "OPEN",
      instance: { instanceId: "i-1", circuit: "OPEN", service: { name: "svc" } },
    });
    expect(tappedOn("SERVICE_HEALTH_CHANGED", a.id).length).toBeGreaterThanOrEqual(1);
    expect(tappedOn("CIRCUIT_STATE_CHANGED", a.id)).toHaveLength(1);
    await sleep(200);
    expect(health.subB.results).toEqual([]);
    expect(circuit.subB.results).toEqual([]);
    await health.dispose();
    await circuit.dispose();
  });

  it("anomalyDetected reaches the tenant's subscribers through Redis, equal to what the anomalies query reads", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const m = await createMonitorOk(s, a.key, { name: "spikes", direction: "UP" });
    const { subA, subB, dispose } = await subscribePair(a, b, "ANOMALY_DETECTED", ANOMALY_SUB, {});
    const points = calmSeries(401, { spikes: { 400: 400 } });
    await ingestOk(s, a.key, points.slice(0, 200));
    await ingestOk(s, a.key, points.slice(200, 400));
    await ingestOk(s, a.key, points.slice(400));
    await subA.until(() => subA.results.length >= 1, 15_000);
    await s.app.jobs.anomalyCheckpoint();
    const stored = (await gqlOk(s.url, a.key, ANOMALIES, { monitorId: m.id })).anomalies.nodes;
    expect(subA.results.map((r) => r.data.anomalyDetected)).toEqual(stored);
    expect(stored[0]).toMatchObject({ value: 400, direction: "UP", monitor: { id: m.id } });
    expect(tappedOn("ANOMALY_DETECTED", a.id)).toHaveLength(stored.length);
    expect(subB.results).toEqual([]);
    await dispose();
  });

  it("a key revoked and a tenant deleted close their sockets with 4403 through the Redis events", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const k = await a.keyWith(["TENANT_ADMIN"]);
    const base = await activeSubscriptions(s.baseUrl);
    const revoked = wsClient(s.wsUrl, k.key);
    const kept = wsClient(s.wsUrl, a.key);
    const doomed = wsClient(s.wsUrl, b.key);
    const subs = [collect(revoked.client, AUDIT_SUB), collect(kept.client, AUDIT_SUB), collect(doomed.client, AUDIT_SUB)];
    await waitForSubscriptions(s.baseUrl, base + 3);
    await waitForRedisSubscribers(redis.url, channel("AUDIT_EVENTS", a.id));
    await waitForRedisSubscribers(redis.url, channel("AUDIT_EVENTS", b.id));

    await gqlOk(s.url, s.adminKey, `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: k.id });
    expect(await revoked.closed).toEqual({ code: 4403, reason: "API key revoked" });
    expect(tapped.some((m) => m.channel === channel("KEY_REVOKED") && JSON.parse(m.message).keyId === k.id)).toBe(true);

    await gqlOk(s.url, s.adminKey, `mutation($id: ID!) { deleteTenant(id: $id) }`, { id: b.id });
    expect(await doomed.closed).toEqual({ code: 4403, reason: "tenant deleted" });
    expect(tapped.some((m) => m.channel === channel("TENANT_DELETED") && JSON.parse(m.message).tenantId === b.id)).toBe(true);
    // the other key's socket stays open and still receives its tenant's events
    await gqlOk(s.url, a.key, RENAME, { id: a.id, name: "still here" });
    await subs[1]!.until(() => subs[1]!.results.some((r) => r.data?.auditEvents?.action === "tenant.update"));
    await kept.client.dispose();
  });

  it("survives a Redis kill: mutations keep working, drops are counted, /readyz stays 200, and delivery resumes after Redis returns", async () => {
    const a = await seedTenant(s);
    const { client } = wsClient(s.wsUrl, a.key);
    const sub = collect(client, AUDIT_SUB);
    await waitForRedisSubscribers(redis.url, channel("AUDIT_EVENTS", a.id));
    expect((await readyz()).body).toMatchObject({ status: "ready", redis: "ready" });
    const droppedBefore = await metric("vigil_pubsub_events_dropped_total", `topic="AUDIT_EVENTS"`);

    await redis.kill();
    await until("the process to see Redis down", async () => (await readyz()).body.redis === "down");
    // the API works without Redis; the events of these mutations are dropped (at most once)
    for (let i = 0; i < 3; i++) await gqlOk(s.url, a.key, RENAME, { id: a.id, name: `during outage ${i}` });
    const ready = await readyz();
    expect(ready).toEqual({ status: 200, body: { status: "ready", database: s.app.db.kind, redis: "down" } });
    expect(await metric("vigil_pubsub_events_dropped_total", `topic="AUDIT_EVENTS"`)).toBeGreaterThanOrEqual(droppedBefore + 3);
    expect(await metric("vigil_pubsub_redis_up", `role="publisher"`)).toBe(0);
    // a subscription made during the outage is sent to Redis once it is back
    const late = wsClient(s.wsUrl, a.key);
    const lateSub = collect(late.client, AUDIT_SUB);

    await redis.restart();
    await until("the process to reconnect", async () => (await readyz()).body.redis === "ready");
    await waitForRedisSubscribers(redis.url, channel("AUDIT_EVENTS", a.id));
    // events during the outage may be lost; new ones arrive again (publish until one does)
    const seen = () => sub.results.some((r) => r.data?.auditEvents?.details?.after?.name?.startsWith("after outage"));
    for (let i = 0; !seen(); i++) {
      if (i > 50) throw new Error(`no event after Redis came back: ${JSON.stringify(sub.results)}`);
      await gqlOk(s.url, a.key, RENAME, { id: a.id, name: `after outage ${i}` });
      await sub.until(seen, 300).catch(() => undefined);
    }
    await lateSub.until(() => lateSub.results.some((r) => r.data?.auditEvents?.details?.after?.name?.startsWith("after outage")));
    expect(sub.results.some((r) => String(r.data?.auditEvents?.details?.after?.name).startsWith("during outage"))).toBe(false);
    expect(await metric("vigil_pubsub_redis_up", `role="subscriber"`)).toBe(1);
    await client.dispose();
    await late.client.dispose();
  });
});

describe(`a start while Redis is down (${process.env.DATABASE_URL ? "PostgreSQL" : "embedded"})`, () => {
  it("starts, serves, and connects once Redis comes up", async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const down = await startServer({ REDIS_URL: url, REDIS_CHANNEL_PREFIX: PREFIX });
    let late: PrivateRedis | undefined;
    try {
      const res = await fetch(`${down.baseUrl}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: "ready", redis: expect.stringMatching(/^(connecting|down)$/) });
      const a = await seedTenant(down);
      const { client } = wsClient(down.wsUrl, a.key);
      const sub = collect(client, AUDIT_SUB);

      late = await startPrivateRedis(port);
      await waitForRedisSubscribers(late.url, channel("AUDIT_EVENTS", a.id));
      await until("the process to connect", async () => ((await (await fetch(`${down.baseUrl}/readyz`)).json()) as { redis: string }).redis === "ready");
      await gqlOk(down.url, a.key, RENAME, { id: a.id, name: "connected" });
      await sub.until(() => sub.results.length >= 1);
      expect(sub.results[0]!.data.auditEvents).toMatchObject({ action: "tenant.update", details: { after: { name: "connected" } } });
      await client.dispose();
    } finally {
      await down.stop();
      await late?.stop();
    }
  });
});
