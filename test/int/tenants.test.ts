import { TENANT_OWNED_TABLES } from "../../src/domain/tenants";
import { seedTenant, uniqueSlug } from "../builders/tenant.builder";
import { expectError, gql, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";

const CREATE = `mutation($input: CreateTenantInput!) { createTenant(input: $input) { id slug name retentionDays maxSeries maxSamplesPerSecond createdAt } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateTenantInput!) { updateTenant(id: $id, input: $input) { id name retentionDays maxSeries } }`;
const DELETE = `mutation($id: ID!) { deleteTenant(id: $id) }`;
const TENANT = `query($id: ID!) { tenant(id: $id) { id slug name } }`;

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.stop();
});

/**
 * Rows a createTenant for `slug` writes: the tenant and its audit entries. Counted by slug, not
 * globally, because other suites create tenants in the same database at the same time.
 */
async function rowsFor(slug: string): Promise<number> {
  const [{ n }] = await s.app.db.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM tenants WHERE slug = $1)
           + (SELECT count(*) FROM platform_audit_entries WHERE details->>'slug' = $1)
           + (SELECT count(*) FROM audit_entries WHERE details->>'slug' = $1))::int AS n`,
    [slug],
  );
  return n;
}

describe("createTenant", () => {
  it("creates a tenant with documented defaults and lists it for the platform admin", async () => {
    const slug = uniqueSlug();
    const { createTenant } = await gqlOk(s.url, s.adminKey, CREATE, { input: { slug, name: "Acme Corp" } });
    expect(createTenant).toMatchObject({ slug, name: "Acme Corp", retentionDays: 30, maxSeries: 100000, maxSamplesPerSecond: 100000 });
    expect(Date.parse(createTenant.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    const { tenants } = await gqlOk(s.url, s.adminKey, `{ tenants { id slug } }`);
    expect(tenants).toContainEqual({ id: createTenant.id, slug });
    const { tenant } = await gqlOk(s.url, s.adminKey, TENANT, { id: createTenant.id });
    expect(tenant).toEqual({ id: createTenant.id, slug, name: "Acme Corp" });
  });

  it("is platform-only: a tenant key with every scope gets FORBIDDEN and nothing is written", async () => {
    const t = await seedTenant(s);
    const slug = uniqueSlug();
    expectError(await gql(s.url, t.key, CREATE, { input: { slug, name: "x" } }), "FORBIDDEN", "platform admin");
    expectError(await gql(s.url, t.key, `{ tenants { id } }`), "FORBIDDEN");
    expect(await rowsFor(slug)).toBe(0);
  });

  it("needs a key: UNAUTHENTICATED without one", async () => {
    expectError(await gql(s.url, undefined, CREATE, { input: { slug: uniqueSlug(), name: "x" } }), "UNAUTHENTICATED");
  });

  const badSlugs: Array<[string, string]> = [
    ["empty", ""],
    ["overlong", "a".repeat(64)],
    ["with spaces", "acme corp"],
    ["upper case", "Acme"],
    ["leading dash", "-acme"],
  ];
  it.each(badSlugs)("rejects a slug that is %s with BAD_USER_INPUT naming input.slug, writing nothing", async (_, slug) => {
    const err = expectError(await gql(s.url, s.adminKey, CREATE, { input: { slug, name: "x" } }), "BAD_USER_INPUT", "input.slug");
    expect(err.extensions?.field).toBe("input.slug");
    expect(await rowsFor(slug)).toBe(0);
  });

  it.each([0, -5])("rejects retentionDays %i naming input.retentionDays", async (retentionDays) => {
    const slug = uniqueSlug();
    expectError(await gql(s.url, s.adminKey, CREATE, { input: { slug, name: "x", retentionDays } }), "BAD_USER_INPUT", "input.retentionDays");
    expect(await rowsFor(slug)).toBe(0);
  });

  it("rejects an empty name", async () => {
    expectError(await gql(s.url, s.adminKey, CREATE, { input: { slug: uniqueSlug(), name: "" } }), "BAD_USER_INPUT", "input.name");
  });

  it("answers CONFLICT for a duplicate slug and keeps the first tenant", async () => {
    const slug = uniqueSlug();
    await gqlOk(s.url, s.adminKey, CREATE, { input: { slug, name: "first" } });
    expect(await rowsFor(slug)).toBe(3); // the tenant, the platform's audit entry and the tenant's
    const err = expectError(await gql(s.url, s.adminKey, CREATE, { input: { slug, name: "second" } }), "CONFLICT", "input.slug");
    expect(err.message).toContain(slug);
    expect(await rowsFor(slug)).toBe(3);
    const { tenants } = await gqlOk(s.url, s.adminKey, `{ tenants { slug name } }`);
    expect(tenants.filter((t: { slug: string }) => t.slug === slug)).toEqual([{ slug, name: "first" }]);
  });

  it("rejects wrong variable types with BAD_USER_INPUT naming the variable", async () => {
    const r = await gql(s.url, s.adminKey, CREATE, { input: { slug: uniqueSlug(), name: "x", retentionDays: "thirty" } });
    expectError(r, "BAD_USER_INPUT", "retentionDays");
  });
});

describe("tenant and viewer", () => {
  it("a tenant key reads its own tenant and never another's", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const { tenant } = await gqlOk(s.url, a.key, TENANT, { id: a.id });
    expect(tenant.slug).toBe(a.slug);
    const other = await gqlOk(s.url, a.key, TENANT, { id: b.id });
    expect(other.tenant).toBeNull();
  });

  it("a key without any scope can still ask who it is", async () => {
    const a = await seedTenant(s);
    const { key } = await a.keyWith(["METRICS_READ"]);
    const { viewer } = await gqlOk(s.url, key, `{ viewer { platformAdmin scopes tenant { id slug } } }`);
    expect(viewer).toEqual({ platformAdmin: false, scopes: ["METRICS_READ"], tenant: { id: a.id, slug: a.slug } });
    const admin = await gqlOk(s.url, s.adminKey, `{ viewer { platformAdmin tenant { id } } }`);
    expect(admin.viewer).toEqual({ platformAdmin: true, tenant: null });
  });

  it("an unknown or malformed id is null, not an error", async () => {
    expect((await gqlOk(s.url, s.adminKey, TENANT, { id: "00000000-0000-4000-8000-000000000000" })).tenant).toBeNull();
    expect((await gqlOk(s.url, s.adminKey, TENANT, { id: "not-a-uuid" })).tenant).toBeNull();
  });
});

describe("updateTenant", () => {
  it("lets the platform admin change quotas and retention", async () => {
    const a = await seedTenant(s);
    const { updateTenant } = await gqlOk(s.url, s.adminKey, UPDATE, { id: a.id, input: { retentionDays: 7, maxSeries: 50 } });
    expect(updateTenant).toMatchObject({ id: a.id, retentionDays: 7, maxSeries: 50 });
  });

  it("lets a TENANT_ADMIN rename its own tenant but not change its quotas", async () => {
    const a = await seedTenant(s);
    const { updateTenant } = await gqlOk(s.url, a.key, UPDATE, { id: a.id, input: { name: "Renamed" } });
    expect(updateTenant.name).toBe("Renamed");
    expectError(await gql(s.url, a.key, UPDATE, { id: a.id, input: { maxSeries: 10 ** 7 } }), "FORBIDDEN", "input.maxSeries");
    const { tenant } = await gqlOk(s.url, s.adminKey, `query($id: ID!) { tenant(id: $id) { maxSeries } }`, { id: a.id });
    expect(tenant.maxSeries).toBe(100000);
  });

  it("another tenant cannot change it (NOT_FOUND) and a key without TENANT_ADMIN gets FORBIDDEN", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    expectError(await gql(s.url, b.key, UPDATE, { id: a.id, input: { name: "hijacked" } }), "NOT_FOUND");
    const { key } = await a.keyWith(["METRICS_READ", "METRICS_WRITE"]);
    expectError(await gql(s.url, key, UPDATE, { id: a.id, input: { name: "nope" } }), "FORBIDDEN", "TENANT_ADMIN");
    const { tenant } = await gqlOk(s.url, a.key, TENANT, { id: a.id });
    expect(tenant.name).toBe(`Tenant ${a.slug}`);
  });

  it("rejects retentionDays 0 and an empty change", async () => {
    const a = await seedTenant(s);
    expectError(await gql(s.url, s.adminKey, UPDATE, { id: a.id, input: { retentionDays: 0 } }), "BAD_USER_INPUT", "input.retentionDays");
    expectError(await gql(s.url, s.adminKey, UPDATE, { id: a.id, input: {} }), "BAD_USER_INPUT", "input");
  });

  it("answers NOT_FOUND for an unknown tenant", async () => {
    expectError(await gql(s.url, s.adminKey, UPDATE, { id: "00000000-0000-4000-8000-000000000000", input: { name: "x" } }), "NOT_FOUND");
  });
});

describe("deleteTenant", () => {
  it("erases every row the tenant owns in every tenant-owned table, and its keys stop working", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    await gqlOk(s.url, a.key, UPDATE, { id: a.id, input: { name: "has audit rows" } });
    expect((await gqlOk(s.url, s.adminKey, DELETE, { id: a.id })).deleteTenant).toBe(true);

    const tables = await s.app.db.query<{ table_name: string }>(
      // day partitions are emptied through their parent table
      `SELECT c.table_name FROM information_schema.columns c JOIN pg_class p ON p.relname = c.table_name
        WHERE c.column_name = 'tenant_id' AND c.table_schema = 'public' AND NOT p.relispartition`,
    );
    // every table holding tenant rows is one that deleteTenant empties
    expect(tables.map((t) => t.table_name).sort()).toEqual([...TENANT_OWNED_TABLES].sort());
    for (const { table_name } of tables) {
      const [{ n }] = await s.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table_name} WHERE tenant_id = $1`, [a.id]);
      expect({ table_name, n }).toEqual({ table_name, n: 0 });
    }
    expect(await s.app.db.query(`SELECT 1 FROM tenants WHERE id = $1`, [a.id])).toHaveLength(0);
    expectError(await gql(s.url, a.key, `{ viewer { platformAdmin } }`), "UNAUTHENTICATED");
    // the other tenant is untouched
    expect((await gqlOk(s.url, b.key, `{ viewer { tenant { id } } }`)).viewer.tenant.id).toBe(b.id);
    const log = await gqlOk(s.url, s.adminKey, `{ auditLog(action: "tenant.delete", first: 500) { nodes { targetId actor } } }`);
    expect(log.auditLog.nodes).toContainEqual({ targetId: a.id, actor: "platform:VIGIL_ADMIN_KEY" });
  });

  it("is platform-only and answers NOT_FOUND for an unknown tenant", async () => {
    const a = await seedTenant(s);
    expectError(await gql(s.url, a.key, DELETE, { id: a.id }), "FORBIDDEN");
    expect((await gqlOk(s.url, a.key, TENANT, { id: a.id })).tenant).not.toBeNull();
    expectError(await gql(s.url, s.adminKey, DELETE, { id: "00000000-0000-4000-8000-000000000000" }), "NOT_FOUND");
  });
});
