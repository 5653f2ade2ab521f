import { uniqueSlug } from "../builders/tenant.builder";
import { type GqlResponse, gql } from "../support/gql";
import { type TestServer, startServer } from "../support/server";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.stop();
});

const CREATE = `mutation($input: CreateTenantInput!) { createTenant(input: $input) { id slug } }`;
const KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }`;

it("200 concurrent mutations, some failing on purpose: every success is persisted and every failure wrote nothing", async () => {
  const { data } = await gql(s.url, s.adminKey, CREATE, { input: { slug: uniqueSlug("conc"), name: "host" } });
  const hostId: string = data.createTenant.id;
  const runTag = uniqueSlug("run");
  const dupSlugs = Array.from({ length: 25 }, (_, i) => `${runTag}-dup-${i}`);

  type Op = { kind: "tenant" | "dup" | "key" | "badkey"; promise: Promise<GqlResponse> };
  const ops: Op[] = [];
  for (let i = 0; i < 100; i++) {
    ops.push({ kind: "tenant", promise: gql(s.url, s.adminKey, CREATE, { input: { slug: `${runTag}-t-${i}`, name: "n" } }) });
  }
  for (const slug of dupSlugs) {
    ops.push({ kind: "dup", promise: gql(s.url, s.adminKey, CREATE, { input: { slug, name: "first" } }) });
    ops.push({ kind: "dup", promise: gql(s.url, s.adminKey, CREATE, { input: { slug, name: "second" } }) });
  }
  for (let i = 0; i < 25; i++) {
    ops.push({ kind: "key", promise: gql(s.url, s.adminKey, KEY, { input: { name: `k${i}`, scopes: ["METRICS_READ"], tenantId: hostId } }) });
    ops.push({
      kind: "badkey",
      promise: gql(s.url, s.adminKey, KEY, {
        input: { name: `bad${i}`, scopes: ["METRICS_READ"], tenantId: "00000000-0000-4000-8000-000000000000" },
      }),
    });
  }
  expect(ops).toHaveLength(200);
  const results = await Promise.all(ops.map(async (o) => ({ kind: o.kind, r: await o.promise })));

  const ok = results.filter((x) => !x.r.errors);
  const failed = results.filter((x) => x.r.errors);
  // each failure is the expected one
  for (const f of failed) {
    const code = f.r.errors![0]!.extensions?.code;
    expect({ kind: f.kind, code }).toEqual({ kind: f.kind, code: f.kind === "dup" ? "CONFLICT" : "NOT_FOUND" });
  }
  expect(failed.filter((f) => f.kind === "dup")).toHaveLength(25);
  expect(failed.filter((f) => f.kind === "badkey")).toHaveLength(25);
  expect(ok).toHaveLength(150);

  const tenantIds = ok.filter((x) => x.kind !== "key").map((x) => x.r.data.createTenant.id as string);
  const keyIds = ok.filter((x) => x.kind === "key").map((x) => x.r.data.createApiKey.apiKey.id as string);
  const storedTenants = await s.app.db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug LIKE $1`, [`${runTag}-%`]);
  expect(storedTenants.map((t) => t.id).sort()).toEqual([...tenantIds].sort());
  const storedKeys = await s.app.db.query<{ id: string }>(`SELECT id FROM api_keys WHERE tenant_id = $1`, [hostId]);
  expect(storedKeys.map((k) => k.id).sort()).toEqual([...keyIds].sort());
  // one platform audit entry per successful tenant and key creation, none for failures
  const audited = await s.app.db.query<{ target_id: string }>(
    `SELECT target_id FROM platform_audit_entries WHERE target_id = ANY($1::text[])`,
    [[...tenantIds, ...keyIds]],
  );
  expect(audited.map((a) => a.target_id).sort()).toEqual([...tenantIds, ...keyIds].sort());
  const [{ n }] = await s.app.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM platform_audit_entries WHERE details->>'slug' LIKE $1`,
    [`${runTag}-%`],
  );
  expect(n).toBe(125);
});
