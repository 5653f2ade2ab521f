import { seedTenant } from "../builders/tenant.builder";
import { HEARTBEAT, INSTANCE_FIELDS, registerOk, registryRows, serviceOk } from "../builders/registry.builder";
import { expectError, gql, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.stop();
});
afterEach(() => {
  jest.restoreAllMocks();
});

/** One mutation of aliased plain heartbeats h0…, one per id. */
function beats(ids: string[]): { query: string; variables: Record<string, string> } {
  const vars = ids.map((_, i) => `$v${i}: String!`).join(", ");
  const fields = ids.map((_, i) => `h${i}: heartbeat(instanceId: $v${i}) { ${INSTANCE_FIELDS} }`).join("\n");
  return { query: `mutation(${vars}) {\n${fields}\n}`, variables: Object.fromEntries(ids.map((id, i) => [`v${i}`, id])) };
}

/** Registers `n` instances of `service` (ids `${prefix}0…`) in one aliased mutation. */
async function registerMany(key: string, service: string, prefix: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const fields = ids.map((id, i) => `r${i}: registerInstance(input: { service: "${service}", instanceId: "${id}", host: "10.0.0.${i + 1}", port: 80 }) { instanceId }`);
  await gqlOk(s.url, key, `mutation {\n${fields.join("\n")}\n}`);
  return ids;
}

/** Counts the coalesced heartbeat statements sent while `fn` runs. */
async function batchStatements(fn: () => Promise<void>): Promise<number> {
  const prepared = s.app.db.prepared.bind(s.app.db);
  let n = 0;
  jest.spyOn(s.app.db, "prepared").mockImplementation((name, sql, params, m) => {
    if (sql.includes("unnest($1::uuid[], $2::text[], $3::timestamptz[])")) n++;
    return prepared(name, sql, params, m);
  });
  await fn();
  return n;
}

const lastBeat = async (tenantId: string, instanceId: string): Promise<number> => {
  const [row] = await s.app.db.query<{ at: Date | string }>(`SELECT last_heartbeat_at AS at FROM service_instances WHERE tenant_id = $1 AND instance_id = $2`, [
    tenantId,
    instanceId,
  ]);
  return new Date(row!.at).getTime();
};

describe("coalesced heartbeats", () => {
  it("writes 30 aliased heartbeats of one request in one statement, each alias with its own instance", async () => {
    const t = await seedTenant(s);
    const ids = await registerMany(t.key, "batch", "b-", 30);
    const before = await lastBeat(t.id, "b-0");
    const { query, variables } = beats(ids);
    let data: Record<string, { instanceId: string; lastHeartbeatAt: string; health: string }> = {};
    const statements = await batchStatements(async () => {
      data = await gqlOk(s.url, t.key, query, variables);
    });
    expect(statements).toBe(1);
    ids.forEach((id, i) => {
      expect(data[`h${i}`]).toMatchObject({ instanceId: id, health: "PASSING" });
      expect(Date.parse(data[`h${i}`]!.lastHeartbeatAt)).toBeGreaterThanOrEqual(before);
    });
    // heartbeats are not audited and change no health: no new rows anywhere
    expect(await registryRows(s, t.id)).toMatchObject({ service_instances: 30, instance_health_events: 30 });
  });

  it("answers NOT_FOUND on the alias of an unknown instanceId alone; the other heartbeats of the request are written", async () => {
    const t = await seedTenant(s);
    const ids = await registerMany(t.key, "batch-nf", "nf-", 29);
    const withUnknown = [...ids.slice(0, 10), "nf-unknown", ...ids.slice(10)];
    const before = await Promise.all(ids.map((id) => lastBeat(t.id, id)));
    await new Promise((r) => setTimeout(r, 5));
    const { query, variables } = beats(withUnknown);
    const r = await gql(s.url, t.key, query, variables);
    const err = expectError(r, "NOT_FOUND", "nf-unknown");
    expect(r.errors).toHaveLength(1);
    expect(err.path).toEqual(["h10"]);
    // heartbeat is non-null: the error nulls the whole answer, but every known instance was refreshed
    expect(r.data).toBeNull();
    const after = await Promise.all(ids.map((id) => lastBeat(t.id, id)));
    after.forEach((at, i) => expect(at).toBeGreaterThan(before[i]!));
  });

  it("never touches another tenant's instance: its instanceId in a batch is NOT_FOUND", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    await registerOk(s, a.key, { service: "iso", instanceId: "iso-a" });
    await registerOk(s, b.key, { service: "iso", instanceId: "iso-b" });
    const bBefore = await lastBeat(b.id, "iso-b");
    await new Promise((r) => setTimeout(r, 5));
    const first = beats(["iso-a", "iso-a"]);
    const ok = await gqlOk(s.url, a.key, first.query, first.variables);
    expect(ok.h0.instanceId).toBe("iso-a");
    expect(ok.h1.instanceId).toBe("iso-a");
    const { query, variables } = beats(["iso-b"]);
    // the other tenant's id, alone and inside a run started by a's own instance
    expectError(await gql(s.url, a.key, query, variables), "NOT_FOUND", "iso-b");
    const mixed = beats(["iso-a", "iso-b"]);
    const r = await gql(s.url, a.key, mixed.query, mixed.variables);
    expect(expectError(r, "NOT_FOUND", "iso-b").path).toEqual(["h1"]);
    expect(await lastBeat(b.id, "iso-b")).toBe(bBefore);
  });

  it("coalesces heartbeats of concurrent requests (several tenants) and answers each with its own row", async () => {
    const tenants = await Promise.all([seedTenant(s), seedTenant(s)]);
    for (const t of tenants) await registerMany(t.key, "conc", "c-", 10);
    const sent: Array<Promise<{ t: number; id: string; got: string }>> = [];
    const statements = await batchStatements(async () => {
      tenants.forEach((t, ti) => {
        for (let i = 0; i < 10; i++) {
          sent.push(gqlOk(s.url, t.key, HEARTBEAT, { id: `c-${i}` }).then((d) => ({ t: ti, id: `c-${i}`, got: d.heartbeat.instanceId })));
        }
      });
      await Promise.all(sent);
    });
    for (const { id, got } of await Promise.all(sent)) expect(got).toBe(id);
    // 20 requests in flight: fewer statements than heartbeats (how many depends on arrival)
    expect(statements).toBeGreaterThanOrEqual(1);
    expect(statements).toBeLessThanOrEqual(20);
    for (const t of tenants) expect((await serviceOk(s, t.key, "conc")).instances).toHaveLength(10);
  });

  it("brings an instance CRITICAL by missed heartbeats back through the health path, with history, inside a coalesced run", async () => {
    const t = await seedTenant(s);
    const ids = await registerMany(t.key, "batch-ttl", "ttl-", 3);
    const first = await lastBeat(t.id, "ttl-1");
    await s.app.db.query(
      `UPDATE service_instances SET health = 'CRITICAL', health_reason = 'missed heartbeats (last at x)', critical_since = now() WHERE tenant_id = $1 AND instance_id = 'ttl-1'`,
      [t.id],
    );
    const { query, variables } = beats(ids);
    const data = await gqlOk(s.url, t.key, query, variables);
    expect(data.h0).toMatchObject({ health: "PASSING", healthReason: "registered" });
    expect(data.h1).toMatchObject({ instanceId: "ttl-1", health: "PASSING", healthReason: "heartbeat resumed" });
    expect(Date.parse(data.h1.lastHeartbeatAt)).toBeGreaterThanOrEqual(first);
    const inst = (await serviceOk(s, t.key, "batch-ttl")).instances.find((i: { instanceId: string }) => i.instanceId === "ttl-1");
    expect(inst.healthHistory.map((h: { previous: string | null; health: string; reason: string }) => [h.previous, h.health, h.reason])).toEqual([
      ["CRITICAL", "PASSING", "heartbeat resumed"],
      [null, "PASSING", "registered"],
    ]);
  });

  it("keeps mutation order: a run stops at a heartbeat with a health, so later aliases see it", async () => {
    const t = await seedTenant(s);
    await registerOk(s, t.key, { service: "order", instanceId: "o-1" });
    const data = await gqlOk(
      s.url,
      t.key,
      `mutation { a: heartbeat(instanceId: "o-1") { health } b: heartbeat(instanceId: "o-1", health: CRITICAL, note: "down") { health }
        c: heartbeat(instanceId: "o-1") { health healthReason } }`,
    );
    expect(data).toEqual({ a: { health: "PASSING" }, b: { health: "CRITICAL" }, c: { health: "CRITICAL", healthReason: "down" } });
  });
});

describe("registrations without the service lock", () => {
  it("creates a service once when its first registrations race, auditing each and recording each instance's history", async () => {
    const t = await seedTenant(s);
    const n = 12;
    const got = await Promise.all(Array.from({ length: n }, (_, i) => registerOk(s, t.key, { service: "race", instanceId: `race-${i}`, type: "PAYMENTS" })));
    expect(new Set(got.map((g) => g.service.id)).size).toBe(1);
    expect(got.every((g) => g.service.type === "PAYMENTS")).toBe(true);
    expect(await registryRows(s, t.id)).toMatchObject({ services: 1, service_instances: n, instance_health_events: n });
    const audit = await s.app.db.query<{ created: boolean; service_created: boolean }>(
      `SELECT (details->>'created')::boolean AS created, (details->>'serviceCreated')::boolean AS service_created
         FROM audit_entries WHERE tenant_id = $1 AND action = 'instance.register'`,
      [t.id],
    );
    expect(audit).toHaveLength(n);
    expect(audit.filter((a) => a.service_created)).toHaveLength(1);
    expect(audit.every((a) => a.created)).toBe(true);
    // re-registering the same ids concurrently: same ids, nothing created
    const again = await Promise.all(got.map((g) => registerOk(s, t.key, { service: "race", instanceId: g.instanceId, port: 9090 })));
    expect(again.map((g) => g.id)).toEqual(got.map((g) => g.id));
    expect(again.every((g) => g.port === 9090)).toBe(true);
    expect(await registryRows(s, t.id)).toMatchObject({ services: 1, service_instances: n, instance_health_events: n });
  });
});
