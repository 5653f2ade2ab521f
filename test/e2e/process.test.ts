import { existsSync } from "node:fs";
import { join } from "node:path";
import { uniqueSlug } from "../builders/tenant.builder";
import { DATABASE_URL, TEST_ADMIN_KEY, freshTempDir } from "../support/env";
import { type GqlResponse, gql, gqlOk } from "../support/gql";
import { MAIN, type VigilProcess, runVigilToExit, spawnVigil } from "../support/process";
import { collect, waitForSubscriptions, wsClient } from "../support/ws";

const started: VigilProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) p.kill();
});
async function spawnTracked(env: Record<string, string>, cwd: string): Promise<VigilProcess> {
  const p = await spawnVigil(env, cwd);
  started.push(p);
  return p;
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
});

describe("a fresh start with no configuration (embedded database)", () => {
  it("serves /graphql, prints a one-time admin key, and a restart keeps tenants and keys", async () => {
    const cwd = freshTempDir("fresh");
    const t0 = Date.now();
    const first = await spawnTracked({}, cwd);
    const coldStartMs = Date.now() - t0;
    expect(coldStartMs).toBeLessThan(30_000);
    const adminKey = /(vgl_a_[0-9a-f]{12}_[0-9a-f]{64})/.exec(first.output())?.[1];
    expect(adminKey).toBeDefined();
    expect(existsSync(join(cwd, "data"))).toBe(true);

    const slug = uniqueSlug();
    const { createTenant } = await gqlOk(first.url, adminKey, `mutation($s: String!) { createTenant(input: { slug: $s, name: "Kept" }) { id } }`, { s: slug });
    const { createApiKey } = await gqlOk(
      first.url,
      adminKey,
      `mutation($t: ID!) { createApiKey(input: { name: "kept", scopes: [TENANT_ADMIN], tenantId: $t }) { secret } }`,
      { t: createTenant.id },
    );
    first.proc.kill("SIGTERM");
    expect(await first.exited).toBe(0);

    const second = await spawnTracked({}, cwd);
    expect(second.output()).not.toContain("vgl_a_");
    const { viewer } = await gqlOk(second.url, createApiKey.secret, `{ viewer { tenant { id slug } scopes } }`);
    expect(viewer).toEqual({ tenant: { id: createTenant.id, slug }, scopes: ["TENANT_ADMIN"] });
    expect((await gqlOk(second.url, adminKey, `{ tenants { slug } }`)).tenants).toContainEqual({ slug });
    second.proc.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });
});

describe("configuration errors", () => {
  it("a wrong value stops the start with a message naming the variable", async () => {
    const r = await runVigilToExit({ PORT: "eighty", LOG_LEVEL: "loud", DATABASE_URL: "mysql://x" }, freshTempDir("cfg"));
    expect(r.code).toBe(2);
    expect(r.output).toContain("PORT: must be an integer from 0 to 65535");
    expect(r.output).toContain("LOG_LEVEL:");
    expect(r.output).toContain("DATABASE_URL: must be a postgres:// or postgresql:// URL");
  });
});

describe(`graceful shutdown (${DATABASE_URL ? "PostgreSQL" : "embedded"})`, () => {
  it("SIGTERM in the middle of a burst: every mutation that answered success is there after restart", async () => {
    const cwd = freshTempDir("burst");
    const env = { VIGIL_ADMIN_KEY: TEST_ADMIN_KEY, ...(DATABASE_URL ? { DATABASE_URL } : {}) };
    const vigil = await spawnTracked(env, cwd);
    const wsUrl = vigil.url.replace(/^http/, "ws");
    const { client, closed } = wsClient(wsUrl, TEST_ADMIN_KEY);
    const sub = collect(client, `subscription { auditEvents { id } }`);
    await waitForSubscriptions(vigil.baseUrl, 1);
    const tag = uniqueSlug("burst");
    const successes: string[] = [];
    const failures: string[] = [];
    let sent = 0;
    let termSent = false;
    const worker = async () => {
      while (sent < 400) {
        const i = sent++;
        let r: GqlResponse;
        try {
          r = await gql(vigil.url, TEST_ADMIN_KEY, `mutation($s: String!) { createTenant(input: { slug: $s, name: "b" }) { id } }`, {
            s: `${tag}-${i}`,
          });
        } catch {
          failures.push(`${tag}-${i}`); // connection refused or reset once the server stopped accepting
          continue;
        }
        if (r.errors) failures.push(`${tag}-${i}`);
        else successes.push(`${tag}-${i}`);
        if (!termSent && successes.length >= 40) {
          termSent = true;
          vigil.proc.kill("SIGTERM");
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(termSent).toBe(true);
    expect(await vigil.exited).toBe(0);
    expect(successes.length).toBeGreaterThanOrEqual(40);
    expect(failures.length).toBeGreaterThan(0); // the burst outlived the server
    // the subscriber saw the burst's audit events, then a clean close
    expect(sub.results.length).toBeGreaterThan(0);
    expect(await closed).toEqual({ code: 1001, reason: "Going away" });
    await client.dispose();

    const again = await spawnTracked(env, cwd);
    const { tenants } = await gqlOk(again.url, TEST_ADMIN_KEY, `{ tenants { slug } }`);
    const stored = new Set(tenants.map((t: { slug: string }) => t.slug).filter((s: string) => s.startsWith(tag)));
    for (const slug of successes) expect(stored.has(slug) ? slug : `missing ${slug}`).toBe(slug);
    again.proc.kill("SIGTERM");
    expect(await again.exited).toBe(0);
  });
});
