import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { Client as PgClient } from "pg";
import { ALL_SCOPES } from "../../src/domain/auth/scopes";
import { uniqueSlug } from "../builders/tenant.builder";
import { ALERT_EVENTS } from "../builders/rules.builder";
import { HEALTH_SUB, HEARTBEAT } from "../builders/registry.builder";
import { DATABASE_URL, TEST_ADMIN_KEY, freshTempDir } from "../support/env";
import { gqlOk } from "../support/gql";
import { MAIN, type VigilProcess, spawnVigil } from "../support/process";
import { type PrivateRedis, startPrivateRedis, waitForRedisSubscribers } from "../support/redis";
import { type Closed, collect, sleep, waitForSubscriptions, wsClient } from "../support/ws";
import { freePort, until } from "../support/wait";

/**
 * Real Vigil processes (node dist/src/main.js) with REDIS_URL, each on a private redis-server
 * (never the machine's own Redis, which one case stops).
 */

const PREFIX = `vigil-e2e-${randomBytes(4).toString("hex")}:`;
const AUDIT_SUB = `subscription { auditEvents { id action targetId details } }`;
const RENAME = `mutation($id: ID!, $name: String!) { updateTenant(id: $id, input: { name: $name }) { id } }`;

const started: VigilProcess[] = [];
async function spawnTracked(env: Record<string, string>, cwd = freshTempDir("scale")): Promise<VigilProcess> {
  const p = await spawnVigil({ VIGIL_ADMIN_KEY: TEST_ADMIN_KEY, REDIS_CHANNEL_PREFIX: PREFIX, ...env }, cwd, 60_000);
  started.push(p);
  return p;
}
afterAll(() => {
  for (const p of started.splice(0)) p.kill();
});
beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
});

const wsUrlOf = (p: VigilProcess) => p.url.replace(/^http/, "ws");
const channel = (topic: string, id?: string) => `${PREFIX}${topic}${id === undefined ? "" : `:${id}`}`;

async function readyz(p: VigilProcess): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${p.baseUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A tenant and a key with every scope, made through `p`. */
async function tenantVia(p: VigilProcess): Promise<{ id: string; key: string; keyId: string }> {
  const { createTenant } = await gqlOk(p.url, TEST_ADMIN_KEY, `mutation($s: String!) { createTenant(input: { slug: $s, name: "scale" }) { id } }`, {
    s: uniqueSlug("scale"),
  });
  const { createApiKey } = await gqlOk(
    p.url,
    TEST_ADMIN_KEY,
    `mutation($t: ID!, $scopes: [Scope!]!) { createApiKey(input: { name: "all", scopes: $scopes, tenantId: $t }) { secret apiKey { id } } }`,
    { t: createTenant.id, scopes: [...ALL_SCOPES] },
  );
  return { id: createTenant.id, key: createApiKey.secret, keyId: createApiKey.apiKey.id };
}

describe(`one process, Redis down at start and at shutdown (${DATABASE_URL ? "PostgreSQL" : "embedded"})`, () => {
  let redis: PrivateRedis | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  it("starts and serves without Redis, connects when it comes up, delivers, and stops promptly while it is down again", async () => {
    const port = await freePort();
    const vigil = await spawnTracked({ REDIS_URL: `redis://127.0.0.1:${port}`, ...(DATABASE_URL ? { DATABASE_URL } : {}) });
    const first = await readyz(vigil);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: "ready", redis: expect.stringMatching(/^(connecting|down)$/) });
    const t = await tenantVia(vigil);
    const { client } = wsClient(wsUrlOf(vigil), t.key);
    const sub = collect(client, AUDIT_SUB);
    await waitForSubscriptions(vigil.baseUrl, 1);

    redis = await startPrivateRedis(port);
    await waitForRedisSubscribers(redis.url, channel("AUDIT_EVENTS", t.id));
    await until("the process to connect", async () => (await readyz(vigil)).body.redis === "ready");
    await gqlOk(vigil.url, t.key, RENAME, { id: t.id, name: "through redis" });
    await sub.until(() => sub.results.length >= 1, 10_000);
    expect(sub.results[0]!.data.auditEvents).toMatchObject({ action: "tenant.update", targetId: t.id, details: { after: { name: "through redis" } } });

    // Redis goes away: the process logs it once, keeps serving, and SIGTERM still ends it cleanly
    await redis.kill();
    await until("the process to see Redis down", async () => (await readyz(vigil)).body.redis === "down");
    await gqlOk(vigil.url, t.key, RENAME, { id: t.id, name: "without redis" });
    vigil.proc.kill("SIGTERM");
    expect(await vigil.exited).toBe(0);
    const out = vigil.output();
    expect(out.match(/redis connection lost/g)?.length ?? 0).toBeLessThanOrEqual(2); // once per connection, not per retry
    expect(out).not.toMatch(/Unhandled|unhandled rejection|\[ioredis\]/i);
    await client.dispose();
  });
});

/**
 * Two processes A and B share one database and one Redis. PostgreSQL only: the embedded database
 * is one process's by nature, so an embedded run has no block here (the single-process behaviour
 * over Redis is tested on both databases above and in test/int/redis-pubsub.test.ts).
 *
 * Spawned processes run background jobs (rule evaluation, notification delivery) across every
 * tenant of their database, and other suites share database `test`: this block makes its own.
 */
if (DATABASE_URL) {
  const serverUrl = DATABASE_URL;
  describe("two processes A and B on one PostgreSQL and one Redis", () => {
    const dbName = `vigil_scaleout_${randomBytes(4).toString("hex")}`;
    let admin: PgClient;
    let redis: PrivateRedis;
    let a: VigilProcess;
    let b: VigilProcess;

    beforeAll(async () => {
      admin = new PgClient({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${dbName}`);
      const url = new URL(serverUrl);
      url.pathname = `/${dbName}`;
      redis = await startPrivateRedis();
      const env = { DATABASE_URL: url.toString(), REDIS_URL: redis.url, RULES_TICK_MS: "200", NOTIFY_INTERVAL_MS: "600000" };
      // one after the other: the first applies the migrations to the new database
      a = await spawnTracked(env);
      b = await spawnTracked(env);
    });
    afterAll(async () => {
      for (const p of [a, b]) {
        if (p && p.proc.exitCode === null) {
          p.proc.kill("SIGTERM");
          await p.exited;
        }
      }
      await redis?.stop();
      await admin?.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin?.end();
    });

    it("a subscriber on B receives the alert fired by data ingested through A; another tenant's subscriber on B receives nothing", async () => {
      const t = await tenantVia(a);
      const other = await tenantVia(a);
      const mine = wsClient(wsUrlOf(b), t.key);
      const theirs = wsClient(wsUrlOf(b), other.key);
      const sub = collect(mine.client, ALERT_EVENTS, {});
      const otherSub = collect(theirs.client, ALERT_EVENTS, {});
      await waitForSubscriptions(b.baseUrl, 2);
      await waitForRedisSubscribers(redis.url, channel("ALERT_EVENTS", t.id));
      await waitForRedisSubscribers(redis.url, channel("ALERT_EVENTS", other.id));

      // the other tenant has the same rule over calm data: it must stay quiet
      const rule = (cpu: string) => ({
        name: "HighCpu",
        severity: "CRITICAL",
        intervalSeconds: 1,
        conditions: [{ selector: { name: cpu }, aggregation: "AVG", windowSeconds: 60, operator: "GT", threshold: 90 }],
      });
      const CREATE = `mutation($input: AlertRuleInput!) { createRule(input: $input) { id } }`;
      await gqlOk(a.url, t.key, CREATE, { input: rule("cpu") });
      await gqlOk(a.url, other.key, CREATE, { input: rule("cpu") });
      const INGEST = `mutation($points: [MetricPointInput!]!) { ingestMetrics(points: $points) { accepted } }`;
      const now = Date.now();
      const points = (value: number) => [0, 1, 2, 3, 4].map((k) => ({ name: "cpu", value, timestamp: now - 40_000 + 10_000 * k, labels: { host: "h1" } }));
      await gqlOk(a.url, t.key, INGEST, { points: points(97) });
      await gqlOk(a.url, other.key, INGEST, { points: points(10) });

      await sub.until(() => sub.results.some((r) => r.data?.alertEvents?.state === "FIRING"), 20_000);
      const fired = sub.results.find((r) => r.data?.alertEvents?.state === "FIRING")!.data.alertEvents;
      expect(fired).toMatchObject({ previousState: null, alert: { state: "FIRING", value: 97, labels: { alertname: "HighCpu", host: "h1" }, rule: { name: "HighCpu" } } });
      // what B pushed is what either process reads from the database
      const { alerts } = await gqlOk(b.url, t.key, `{ alerts(filter: { states: [FIRING] }) { nodes { id state value } } }`);
      expect(alerts.nodes).toEqual([{ id: fired.alert.id, state: "FIRING", value: 97 }]);
      // several more evaluations of the other tenant's rule have passed meanwhile
      await sleep(1_500);
      expect(otherSub.results).toEqual([]);
      await mine.client.dispose();
      await theirs.client.dispose();
    });

    it("auditEvents and serviceHealthChanged made through A reach subscribers on B, of their tenant only", async () => {
      const t = await tenantVia(a);
      const other = await tenantVia(a);
      const { client } = wsClient(wsUrlOf(b), t.key);
      const { client: otherClient } = wsClient(wsUrlOf(b), other.key);
      const audit = collect(client, AUDIT_SUB);
      const health = collect(client, HEALTH_SUB, {});
      const otherAudit = collect(otherClient, AUDIT_SUB);
      const otherHealth = collect(otherClient, HEALTH_SUB, {});
      await waitForSubscriptions(b.baseUrl, 4);
      for (const id of [t.id, other.id]) {
        await waitForRedisSubscribers(redis.url, channel("AUDIT_EVENTS", id));
        await waitForRedisSubscribers(redis.url, channel("SERVICE_HEALTH_CHANGED", id));
      }

      await gqlOk(a.url, t.key, RENAME, { id: t.id, name: "renamed on A" });
      await audit.until(() => audit.results.length >= 1, 10_000);
      expect(audit.results[0]!.data.auditEvents).toMatchObject({ action: "tenant.update", targetId: t.id, details: { after: { name: "renamed on A" } } });

      await gqlOk(a.url, t.key, `mutation { registerInstance(input: { service: "api", instanceId: "api-1", host: "10.0.0.1", port: 80 }) { id } }`);
      await gqlOk(a.url, t.key, HEARTBEAT, { id: "api-1", health: "CRITICAL", note: "disk full" });
      await health.until(() => health.results.some((r) => r.data?.serviceHealthChanged?.health === "CRITICAL"), 10_000);
      expect(health.results.find((r) => r.data?.serviceHealthChanged?.health === "CRITICAL")!.data.serviceHealthChanged).toMatchObject({
        previous: "PASSING",
        instance: { instanceId: "api-1", health: "CRITICAL", service: { name: "api" } },
      });
      await sleep(300);
      expect(otherAudit.results).toEqual([]);
      expect(otherHealth.results).toEqual([]);
      await client.dispose();
      await otherClient.dispose();
    });

    it("revoking a key through A closes its sockets on B; deleting a tenant through A closes the tenant's sockets on B", async () => {
      const t = await tenantVia(a);
      const doomed = await tenantVia(a);
      const { createApiKey } = await gqlOk(
        a.url,
        TEST_ADMIN_KEY,
        `mutation($t: ID!) { createApiKey(input: { name: "short-lived", scopes: [TENANT_ADMIN], tenantId: $t }) { secret apiKey { id } } }`,
        { t: t.id },
      );
      const revoked = wsClient(wsUrlOf(b), createApiKey.secret);
      const kept = wsClient(wsUrlOf(b), t.key);
      const gone = wsClient(wsUrlOf(b), doomed.key);
      const subs = [collect(revoked.client, AUDIT_SUB), collect(kept.client, AUDIT_SUB), collect(gone.client, AUDIT_SUB)];
      await waitForSubscriptions(b.baseUrl, 3);
      // B listens for revocations from its start
      await waitForRedisSubscribers(redis.url, channel("KEY_REVOKED"), 2);
      await waitForRedisSubscribers(redis.url, channel("TENANT_DELETED"), 2);

      await gqlOk(a.url, TEST_ADMIN_KEY, `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: createApiKey.apiKey.id });
      expect(await withDeadline(revoked.closed, "the revoked key's socket on B to close")).toEqual({ code: 4403, reason: "API key revoked" });

      await gqlOk(a.url, TEST_ADMIN_KEY, `mutation($id: ID!) { deleteTenant(id: $id) }`, { id: doomed.id });
      expect(await withDeadline(gone.closed, "the deleted tenant's socket on B to close")).toEqual({ code: 4403, reason: "tenant deleted" });

      // the tenant's other key keeps its socket on B and its events
      await gqlOk(a.url, t.key, RENAME, { id: t.id, name: "still served" });
      await subs[1]!.until(() => subs[1]!.results.some((r) => r.data?.auditEvents?.details?.after?.name === "still served"), 10_000);
      await kept.client.dispose();
    });
  });
}

async function withDeadline(p: Promise<Closed>, what: string, ms = 10_000): Promise<Closed> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
