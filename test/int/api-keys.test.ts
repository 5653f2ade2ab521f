import { seedTenant } from "../builders/tenant.builder";
import { expectError, gql, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";

const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id name prefix scopes createdAt lastUsedAt revokedAt } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;
const LIST = `query($tenantId: ID) { apiKeys(tenantId: $tenantId) { id name prefix scopes revokedAt } }`;

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.stop();
});

async function keyCount(tenantId: string): Promise<number> {
  const [{ n }] = await s.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys WHERE tenant_id = $1`, [tenantId]);
  return n;
}

describe("createApiKey", () => {
  it("returns a secret once, stores only its hash, and the key authenticates with its scopes", async () => {
    const t = await seedTenant(s);
    const { createApiKey } = await gqlOk(s.url, t.key, CREATE, { input: { name: "ci", scopes: ["METRICS_WRITE", "METRICS_READ"] } });
    const { secret, apiKey } = createApiKey;
    expect(secret).toMatch(/^vgl_t_[0-9a-f]{12}_[0-9a-f]{64}$/);
    expect(secret.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey).toMatchObject({ name: "ci", scopes: ["METRICS_WRITE", "METRICS_READ"], lastUsedAt: null, revokedAt: null });

    const rows = await s.app.db.query<{ secret_hash: Buffer; prefix: string }>(`SELECT secret_hash, prefix FROM api_keys WHERE id = $1`, [apiKey.id]);
    expect(rows).toHaveLength(1);
    const stored = JSON.stringify(rows[0]);
    expect(stored).not.toContain(secret.slice(19));
    expect(Buffer.from(rows[0]!.secret_hash).length).toBe(32);

    const { viewer } = await gqlOk(s.url, secret, `{ viewer { scopes tenant { id } } }`);
    expect(viewer).toEqual({ scopes: ["METRICS_WRITE", "METRICS_READ"], tenant: { id: t.id } });
    const listed = await gqlOk(s.url, t.key, LIST);
    expect(JSON.stringify(listed)).not.toContain(secret);
  });

  it("records lastUsedAt when the key is used", async () => {
    const t = await seedTenant(s);
    const k = await t.keyWith(["METRICS_READ"]);
    await gqlOk(s.url, k.key, `{ viewer { platformAdmin } }`);
    const { apiKeys } = await gqlOk(s.url, t.key, `{ apiKeys { id lastUsedAt } }`);
    const mine = apiKeys.find((x: { id: string }) => x.id === k.id);
    expect(Date.parse(mine.lastUsedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("needs TENANT_ADMIN: FORBIDDEN otherwise, and nothing is written", async () => {
    const t = await seedTenant(s);
    const { key } = await t.keyWith(["METRICS_READ", "METRICS_WRITE", "RULES_WRITE"]);
    const before = await keyCount(t.id);
    expectError(await gql(s.url, key, CREATE, { input: { name: "x", scopes: ["TENANT_ADMIN"] } }), "FORBIDDEN", "TENANT_ADMIN");
    expectError(await gql(s.url, key, LIST), "FORBIDDEN", "TENANT_ADMIN");
    expect(await keyCount(t.id)).toBe(before);
  });

  it("a tenant key cannot make keys for another tenant", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const before = await keyCount(b.id);
    expectError(await gql(s.url, a.key, CREATE, { input: { name: "x", scopes: ["METRICS_READ"], tenantId: b.id } }), "FORBIDDEN", "own tenant");
    expectError(await gql(s.url, a.key, LIST, { tenantId: b.id }), "FORBIDDEN");
    expect(await keyCount(b.id)).toBe(before);
  });

  it("a platform admin must name the tenant, and an unknown tenant is NOT_FOUND", async () => {
    expectError(await gql(s.url, s.adminKey, CREATE, { input: { name: "x", scopes: ["METRICS_READ"] } }), "BAD_USER_INPUT", "input.tenantId");
    expectError(
      await gql(s.url, s.adminKey, CREATE, { input: { name: "x", scopes: ["METRICS_READ"], tenantId: "00000000-0000-4000-8000-000000000000" } }),
      "NOT_FOUND",
    );
    expectError(await gql(s.url, s.adminKey, LIST), "BAD_USER_INPUT", "tenantId");
  });

  it("rejects an unknown scope, no scopes and an empty name, writing nothing", async () => {
    const t = await seedTenant(s);
    const before = await keyCount(t.id);
    expectError(await gql(s.url, t.key, CREATE, { input: { name: "x", scopes: ["METRICS_READ", "GOD_MODE"] } }), "BAD_USER_INPUT", "GOD_MODE");
    expectError(await gql(s.url, t.key, CREATE, { input: { name: "x", scopes: [] } }), "BAD_USER_INPUT", "input.scopes");
    expectError(await gql(s.url, t.key, CREATE, { input: { name: "", scopes: ["METRICS_READ"] } }), "BAD_USER_INPUT", "input.name");
    expect(await keyCount(t.id)).toBe(before);
  });
});

describe("apiKeys", () => {
  it("lists only the caller's tenant's keys; the platform admin lists a named tenant's", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const own = (await gqlOk(s.url, a.key, LIST)).apiKeys.map((k: { id: string }) => k.id);
    expect(own).toContain(a.keyId);
    expect(own).not.toContain(b.keyId);
    const admin = (await gqlOk(s.url, s.adminKey, LIST, { tenantId: b.id })).apiKeys.map((k: { id: string }) => k.id);
    expect(admin).toEqual([b.keyId]);
  });
});

describe("revokeApiKey", () => {
  it("a revoked key is UNAUTHENTICATED on its next request", async () => {
    const t = await seedTenant(s);
    const k = await t.keyWith(["METRICS_READ"]);
    await gqlOk(s.url, k.key, `{ viewer { platformAdmin } }`);
    const { revokeApiKey } = await gqlOk(s.url, t.key, REVOKE, { id: k.id });
    expect(revokeApiKey.id).toBe(k.id);
    expect(Date.parse(revokeApiKey.revokedAt)).toBeGreaterThan(Date.now() - 60_000);
    const r = await gql(s.url, k.key, `{ viewer { platformAdmin } }`);
    expect(r.status).toBe(401);
    expectError(r, "UNAUTHENTICATED", "revoked");
    // revoking again keeps the first time
    const again = await gqlOk(s.url, t.key, REVOKE, { id: k.id });
    expect(again.revokeApiKey.revokedAt).toBe(revokeApiKey.revokedAt);
  });

  it("another tenant cannot revoke it (NOT_FOUND) and a key without TENANT_ADMIN gets FORBIDDEN", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    expectError(await gql(s.url, b.key, REVOKE, { id: a.keyId }), "NOT_FOUND");
    const { key } = await a.keyWith(["ALERTS_WRITE"]);
    expectError(await gql(s.url, key, REVOKE, { id: a.keyId }), "FORBIDDEN");
    await gqlOk(s.url, a.key, `{ viewer { platformAdmin } }`);
    const [{ revoked_at }] = await s.app.db.query<{ revoked_at: Date | null }>(`SELECT revoked_at FROM api_keys WHERE id = $1`, [a.keyId]);
    expect(revoked_at).toBeNull();
  });

  it("the platform admin can revoke any tenant's key; an unknown id is NOT_FOUND", async () => {
    const t = await seedTenant(s);
    const k = await t.keyWith(["METRICS_READ"]);
    await gqlOk(s.url, s.adminKey, REVOKE, { id: k.id });
    expectError(await gql(s.url, k.key, `{ viewer { platformAdmin } }`), "UNAUTHENTICATED");
    expectError(await gql(s.url, s.adminKey, REVOKE, { id: "nope" }), "NOT_FOUND");
  });
});

describe("authentication", () => {
  it.each([
    ["a malformed header", "Token abc"],
    ["a key of the wrong shape", "Bearer hello"],
    ["an unknown key", `Bearer vgl_t_000000000000_${"0".repeat(64)}`],
  ])("answers 401 UNAUTHENTICATED for %s", async (_, header) => {
    const res = await fetch(s.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: header },
      body: JSON.stringify({ query: "{ viewer { platformAdmin } }" }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe("UNAUTHENTICATED");
  });

  it("a right prefix with a wrong secret is rejected", async () => {
    const t = await seedTenant(s);
    const k = await t.keyWith(["METRICS_READ"]);
    const forged = k.key.slice(0, 19) + "f".repeat(64);
    expectError(await gql(s.url, forged, `{ viewer { platformAdmin } }`), "UNAUTHENTICATED");
  });
});
