import { randomBytes } from "node:crypto";
import { ingest, ingestOk } from "../builders/metrics.builder";
import { seedTenant } from "../builders/tenant.builder";
import { DATABASE_URL } from "../support/env";
import { expectError, gql, gqlOk } from "../support/gql";
import { type PrivateRedis, startPrivateRedis } from "../support/redis";
import { type TestServer, startServer } from "../support/server";
import { until } from "../support/wait";
import { wsClient } from "../support/ws";

/**
 * AUTH_CACHE_MS: an authenticated key's session is reused without a lookup. The cache must never
 * outlive a revocation on the process that made it, nor on the others once the event reaches them;
 * without the event (no Redis), for at most AUTH_CACHE_MS. A tenant's limits, read by ingest, are
 * kept as long: a change applies at once on the process that made it, within AUTH_CACHE_MS on others.
 */

const VIEWER = `{ viewer { tenant { id } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`;
const DELETE_TENANT = `mutation($id: ID!) { deleteTenant(id: $id) }`;
const SET_RATE = `mutation($id: ID!, $rate: Int!) { updateTenant(id: $id, input: { maxSamplesPerSecond: $rate }) { id } }`;
const points = (n: number) => Array.from({ length: n }, (_, i) => ({ name: "limits_cached", labels: { i: String(i) }, value: i }));

/** A batch of 3 points refused because it exceeds the tenant's maxSamplesPerSecond of 2. */
async function refusedByRate(s: TestServer, key: string): Promise<boolean> {
  const r = await ingest(s, key, points(3));
  if (!r.errors?.length) return false;
  expectError(r, "BAD_USER_INPUT", "maxSamplesPerSecond (2)");
  return true;
}

async function rejected(s: TestServer, key: string): Promise<boolean> {
  const r = await gql(s.url, key, VIEWER);
  if (!r.errors?.length) return false;
  expectError(r, "UNAUTHENTICATED");
  expect(r.status).toBe(401);
  return true;
}

describe("AUTH_CACHE_MS on one process", () => {
  let s: TestServer;
  beforeAll(async () => {
    // long enough that only forgetting the session can explain a rejection within a test
    s = await startServer({ AUTH_CACHE_MS: "60000" });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("a revoked key fails on its very next request and WebSocket, other keys keep working", async () => {
    const t = await seedTenant(s);
    const k = await t.keyWith(["METRICS_READ"]);
    expect((await gqlOk(s.url, k.key, VIEWER)).viewer.tenant.id).toBe(t.id);
    await gqlOk(s.url, t.key, REVOKE, { id: k.id });
    expect(await rejected(s, k.key)).toBe(true);
    const ws = wsClient(s.wsUrl, k.key);
    expect((await ws.closed).code).toBe(4403);
    expect((await gqlOk(s.url, t.key, VIEWER)).viewer.tenant.id).toBe(t.id);
  });

  it("a deleted tenant's keys fail on their very next request", async () => {
    const t = await seedTenant(s);
    const other = await seedTenant(s);
    expect((await gqlOk(s.url, t.key, VIEWER)).viewer.tenant.id).toBe(t.id);
    expect((await gqlOk(s.url, other.key, VIEWER)).viewer.tenant.id).toBe(other.id);
    await gqlOk(s.url, s.adminKey, DELETE_TENANT, { id: t.id });
    expect(await rejected(s, t.key)).toBe(true);
    expect((await gqlOk(s.url, other.key, VIEWER)).viewer.tenant.id).toBe(other.id);
  });

  it("a change of a tenant's limits applies to its very next batch", async () => {
    const t = await seedTenant(s);
    expect(await ingestOk(s, t.key, points(3))).toEqual({ accepted: 3, seriesCreated: 3 });
    await gqlOk(s.url, s.adminKey, SET_RATE, { id: t.id, rate: 2 });
    expect(await refusedByRate(s, t.key)).toBe(true);
  });
});

// Two processes on one database: PostgreSQL only (the embedded database belongs to one process).
(DATABASE_URL ? describe : describe.skip)("AUTH_CACHE_MS across processes (PostgreSQL)", () => {
  let redis: PrivateRedis | undefined;
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await redis?.stop();
  });
  /** Two servers on the same database, each caching sessions and limits for `cacheMs`. */
  const twoProcesses = async (cacheMs: number): Promise<[TestServer, TestServer]> => {
    const a = await startServer({ AUTH_CACHE_MS: String(cacheMs) });
    const b = await startServer({ AUTH_CACHE_MS: String(cacheMs) });
    servers.push(a, b);
    return [a, b];
  };

  it("without Redis, another process accepts a revoked key for at most AUTH_CACHE_MS", async () => {
    const cacheMs = 500;
    const [a, b] = await twoProcesses(cacheMs);
    const t = await seedTenant(a);
    const k = await t.keyWith(["METRICS_READ"]);
    await gqlOk(b.url, k.key, VIEWER);
    const revokedAt = Date.now();
    await gqlOk(a.url, t.key, REVOKE, { id: k.id });
    await until("B to reject the revoked key", () => rejected(b, k.key), 10_000, 25);
    expect(Date.now() - revokedAt).toBeLessThan(cacheMs + 1_000);
  });

  it("another process applies a change of a tenant's limits within AUTH_CACHE_MS", async () => {
    const cacheMs = 500;
    const [a, b] = await twoProcesses(cacheMs);
    const t = await seedTenant(a);
    await ingestOk(b, t.key, points(3));
    const changedAt = Date.now();
    await gqlOk(a.url, a.adminKey, SET_RATE, { id: t.id, rate: 2 });
    await until("B to apply the new maxSamplesPerSecond", () => refusedByRate(b, t.key), 10_000, 25);
    expect(Date.now() - changedAt).toBeLessThan(cacheMs + 1_000);
  });

  it("with Redis, another process forgets a revoked key and a deleted tenant as soon as the event arrives", async () => {
    redis = await startPrivateRedis();
    const env = { AUTH_CACHE_MS: "60000", REDIS_URL: redis.url, REDIS_CHANNEL_PREFIX: `vigil-auth-${randomBytes(4).toString("hex")}:` };
    const a = await startServer(env);
    const b = await startServer(env);
    servers.push(a, b);
    const t = await seedTenant(a);
    const k = await t.keyWith(["METRICS_READ"]);
    await gqlOk(b.url, k.key, VIEWER);
    await gqlOk(b.url, t.key, VIEWER);
    await gqlOk(a.url, t.key, REVOKE, { id: k.id });
    // far sooner than the 60 s the cache would keep it
    await until("B to reject the revoked key", () => rejected(b, k.key), 10_000, 25);
    expect((await gqlOk(b.url, t.key, VIEWER)).viewer.tenant.id).toBe(t.id);
    await gqlOk(a.url, a.adminKey, DELETE_TENANT, { id: t.id });
    await until("B to reject the deleted tenant's key", () => rejected(b, t.key), 10_000, 25);
  });
});
