import { seedTenant } from "../builders/tenant.builder";
import { expectError, gql, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";
import { activeSubscriptions, collect, sleep, waitForSubscriptions, wsClient } from "../support/ws";

const LOG = `query($first: Int, $after: String, $action: String, $tenantId: ID) {
  auditLog(first: $first, after: $after, action: $action, tenantId: $tenantId) {
    nodes { id at actor action targetType targetId details } pageInfo { hasNextPage endCursor } } }`;
const SUB = `subscription { auditEvents { id action actor targetType targetId details } }`;
const RENAME = `mutation($id: ID!, $name: String!) { updateTenant(id: $id, input: { name: $name }) { id } }`;

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.stop();
});

describe("auditLog", () => {
  it("holds every mutation of the tenant, newest first, with actor and target", async () => {
    const t = await seedTenant(s);
    const k = await t.keyWith(["METRICS_READ"], "reader");
    await gqlOk(s.url, t.key, RENAME, { id: t.id, name: "one" });
    await gqlOk(s.url, t.key, `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: k.id });
    const { auditLog } = await gqlOk(s.url, t.key, LOG, { first: 50 });
    expect(auditLog.nodes.map((n: { action: string }) => n.action)).toEqual([
      "apiKey.revoke",
      "tenant.update",
      "apiKey.create",
      "apiKey.create",
      "tenant.create",
    ]);
    const [revoke, update, createReader] = auditLog.nodes;
    expect(revoke).toMatchObject({ targetType: "ApiKey", targetId: k.id, actor: `key:${t.keyId} (all scopes)` });
    expect(update.details).toEqual({ before: { name: `Tenant ${t.slug}` }, after: { name: "one" } });
    expect(createReader).toMatchObject({ actor: "platform:VIGIL_ADMIN_KEY", details: { name: "reader", scopes: ["METRICS_READ"] } });
    expect(auditLog.pageInfo.hasNextPage).toBe(false);
  });

  it("pages with first/after and filters by action", async () => {
    const t = await seedTenant(s);
    for (const name of ["a", "b", "c"]) await gqlOk(s.url, t.key, RENAME, { id: t.id, name });
    const p1 = (await gqlOk(s.url, t.key, LOG, { first: 2, action: "tenant.update" })).auditLog;
    expect(p1.nodes.map((n: { details: { after: { name: string } } }) => n.details.after.name)).toEqual(["c", "b"]);
    expect(p1.pageInfo.hasNextPage).toBe(true);
    const p2 = (await gqlOk(s.url, t.key, LOG, { first: 2, action: "tenant.update", after: p1.pageInfo.endCursor })).auditLog;
    expect(p2.nodes.map((n: { details: { after: { name: string } } }) => n.details.after.name)).toEqual(["a"]);
    expect(p2.pageInfo.hasNextPage).toBe(false);
  });

  it("rejects out-of-range page sizes and foreign cursors", async () => {
    const t = await seedTenant(s);
    expectError(await gql(s.url, t.key, LOG, { first: 0 }), "BAD_USER_INPUT", "first");
    expectError(await gql(s.url, t.key, LOG, { first: 501 }), "BAD_USER_INPUT", "first");
    expectError(await gql(s.url, t.key, LOG, { after: "garbage" }), "BAD_USER_INPUT", "after");
  });

  it("is isolated between tenants, needs TENANT_ADMIN, and the admin can read a named tenant's", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    await gqlOk(s.url, a.key, RENAME, { id: a.id, name: "secret-rename" });
    const bLog = (await gqlOk(s.url, b.key, LOG, { first: 100 })).auditLog.nodes;
    expect(JSON.stringify(bLog)).not.toContain("secret-rename");
    expect(bLog.every((n: { targetId: string }) => n.targetId !== a.id)).toBe(true);
    expectError(await gql(s.url, b.key, LOG, { tenantId: a.id }), "FORBIDDEN");
    const { key } = await a.keyWith(["METRICS_READ", "RULES_READ", "ALERTS_READ", "REGISTRY_READ"]);
    expectError(await gql(s.url, key, LOG), "FORBIDDEN", "TENANT_ADMIN");
    const adminView = (await gqlOk(s.url, s.adminKey, LOG, { tenantId: a.id, action: "tenant.update" })).auditLog.nodes;
    expect(adminView[0].details.after.name).toBe("secret-rename");
  });

  it("the platform log has the admin's own actions", async () => {
    const t = await seedTenant(s);
    const { auditLog } = await gqlOk(s.url, s.adminKey, LOG, { action: "tenant.create", first: 500 }); // other suites add entries too
    expect(auditLog.nodes.map((n: { targetId: string }) => n.targetId)).toContain(t.id);
  });
});

describe("auditEvents over graphql-ws", () => {
  it("delivers the subscriber's own tenant's events and never another tenant's", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const base = await activeSubscriptions(s.baseUrl);
    const { client } = wsClient(s.wsUrl, a.key);
    const sub = collect(client, SUB);
    const { client: bClient } = wsClient(s.wsUrl, b.key);
    const bSub = collect(bClient, SUB);
    await waitForSubscriptions(s.baseUrl, base + 2);
    await gqlOk(s.url, b.key, RENAME, { id: b.id, name: "b-event" });
    await gqlOk(s.url, a.key, RENAME, { id: a.id, name: "a-event" });
    await sub.until(() => sub.results.length >= 1);
    await bSub.until(() => bSub.results.length >= 1);
    await sleep(200);
    expect(sub.results).toHaveLength(1);
    expect(sub.results[0]!.data.auditEvents).toMatchObject({ action: "tenant.update", targetId: a.id, details: { after: { name: "a-event" } } });
    expect(bSub.results).toHaveLength(1);
    expect(bSub.results[0]!.data.auditEvents.targetId).toBe(b.id);
    await client.dispose();
    await bClient.dispose();
  });

  it("a key without TENANT_ADMIN gets FORBIDDEN on the subscription", async () => {
    const a = await seedTenant(s);
    const { key } = await a.keyWith(["METRICS_READ"]);
    const { client } = wsClient(s.wsUrl, key);
    const sub = collect(client, SUB);
    await sub.until(() => sub.error !== undefined || sub.results.length > 0);
    const errors = (sub.error ?? sub.results[0]?.errors) as Array<{ extensions?: { code?: string } }>;
    expect(errors[0]!.extensions?.code).toBe("FORBIDDEN");
    await client.dispose();
  });

  it.each([
    ["no key", undefined],
    ["an invalid key", "vgl_t_000000000000_" + "0".repeat(64)],
  ])("closes the socket with 4403 for %s", async (_, key) => {
    const { client, closed } = wsClient(s.wsUrl, key);
    const sub = collect(client, SUB);
    expect((await closed).code).toBe(4403);
    expect(sub.results).toHaveLength(0);
    await client.dispose();
  });

  it("closes the sockets of a revoked key with 4403", async () => {
    const a = await seedTenant(s);
    const k = await a.keyWith(["TENANT_ADMIN"]);
    const base = await activeSubscriptions(s.baseUrl);
    const { client, closed } = wsClient(s.wsUrl, k.key);
    const sub = collect(client, SUB);
    await waitForSubscriptions(s.baseUrl, base + 1);
    await gqlOk(s.url, a.key, `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: k.id });
    const c = await closed;
    expect(c).toEqual({ code: 4403, reason: "API key revoked" });
    expect(sub.results).toHaveLength(0);
    await client.dispose();
  });

  it("closes the sockets of a deleted tenant", async () => {
    const a = await seedTenant(s);
    const base = await activeSubscriptions(s.baseUrl);
    const { client, closed } = wsClient(s.wsUrl, a.key);
    collect(client, SUB);
    await waitForSubscriptions(s.baseUrl, base + 1);
    await gqlOk(s.url, s.adminKey, `mutation($id: ID!) { deleteTenant(id: $id) }`, { id: a.id });
    expect(await closed).toEqual({ code: 4403, reason: "tenant deleted" });
    await client.dispose();
  });

  it("answers a malformed or invalid operation with an error and keeps the socket open", async () => {
    const a = await seedTenant(s);
    const { client } = wsClient(s.wsUrl, a.key);
    const bad = collect(client, `subscription { auditEvents { `);
    await bad.until(() => bad.error !== undefined);
    const unknown = collect(client, `subscription { auditEvents { noSuchField } }`);
    await unknown.until(() => unknown.error !== undefined);
    expect(JSON.stringify(unknown.error)).toContain("noSuchField");
    const base = await activeSubscriptions(s.baseUrl);
    const good = collect(client, SUB);
    await waitForSubscriptions(s.baseUrl, base + 1);
    await gqlOk(s.url, a.key, RENAME, { id: a.id, name: "still-open" });
    await good.until(() => good.results.length === 1);
    await client.dispose();
  });
});
