import { type SeededTenant, seedTenant } from "../builders/tenant.builder";
import { CONFIGURE, DEREGISTER, HEARTBEAT, PICK, registerOk, reportOk } from "../builders/registry.builder";
import { DATABASE_URL } from "../support/env";
import { gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";
import { until } from "../support/wait";

/**
 * pickInstance chooses from a per-process snapshot of the service's instances and checks
 * services.instances_version when it starts the request (src/domain/registry/pick-snapshots.ts).
 * These tests change the instances behind a warm snapshot — by SQL, as another process would, and
 * on PostgreSQL through a second server — and check that no pick is answered from stale data.
 */

const REFRESH_MS = 300;

async function pick(s: TestServer, key: string, service: string, strategy?: string, hashKey?: string): Promise<string> {
  return (await gqlOk(s.url, key, PICK, { service, strategy, hashKey })).pickInstance.instanceId;
}

async function picks(s: TestServer, key: string, service: string, n: number, strategy?: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = await pick(s, key, service, strategy);
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

async function version(s: TestServer, tenantId: string, service: string): Promise<number> {
  const [row] = await s.app.db.query<{ v: string }>(`SELECT instances_version::text AS v FROM services WHERE tenant_id = $1 AND name = $2`, [tenantId, service]);
  return Number(row!.v);
}

describe("pick snapshots: services.instances_version", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ REGISTRY_METRICS_FLUSH_MS: "3600000", REGISTRY_PICK_REFRESH_MS: String(REFRESH_MS) });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("changes with membership, health, weight, circuit state and policy, and not with heartbeats, picks or reports", async () => {
    const t = await seedTenant(s);
    await registerOk(s, t.key, { service: "v", instanceId: "a" });
    const afterA = await version(s, t.id, "v");
    await registerOk(s, t.key, { service: "v", instanceId: "b" });
    const afterB = await version(s, t.id, "v");
    expect(afterB).toBeGreaterThan(afterA);

    // what a pick does not depend on
    await gqlOk(s.url, t.key, HEARTBEAT, { id: "a" });
    await gqlOk(s.url, t.key, HEARTBEAT, { id: "a", health: "PASSING", note: "still fine" });
    await pick(s, t.key, "v");
    await reportOk(s, t.key, { instanceId: "a", durationMs: 3, success: true });
    await reportOk(s, t.key, { instanceId: "a", durationMs: 3, success: false });
    expect(await version(s, t.id, "v")).toBe(afterB);

    const changes: Array<[string, () => Promise<unknown>]> = [
      ["health", () => gqlOk(s.url, t.key, HEARTBEAT, { id: "b", health: "WARNING" })],
      ["weight (re-registration)", () => registerOk(s, t.key, { service: "v", instanceId: "b", weight: 7 })],
      ["policy", () => gqlOk(s.url, t.key, CONFIGURE, { name: "v", policy: { strategy: "RANDOM" } })],
      ["policy (circuit breaker)", () => gqlOk(s.url, t.key, CONFIGURE, { name: "v", policy: { circuitBreaker: { windowSize: 2, minimumCalls: 2 } } })],
      ["circuit opened", async () => {
        for (let i = 0; i < 2; i++) await reportOk(s, t.key, { instanceId: "b", durationMs: 5, success: false });
      }],
      ["removal", () => gqlOk(s.url, t.key, DEREGISTER, { id: "b" })],
    ];
    for (const [what, change] of changes) {
      const before = await version(s, t.id, "v");
      await change();
      expect({ what, changed: (await version(s, t.id, "v")) > before }).toEqual({ what, changed: true });
    }
  });

  it("a change made behind a warm snapshot (by SQL, as another process would) is seen by the very next pick", async () => {
    const t = await seedTenant(s);
    for (const id of ["a", "b", "c"]) await registerOk(s, t.key, { service: "behind", instanceId: id });
    expect(await picks(s, t.key, "behind", 3)).toEqual({ a: 1, b: 1, c: 1 });

    await s.app.db.query(`UPDATE service_instances SET health = 'CRITICAL', health_reason = 'test' WHERE tenant_id = $1 AND instance_id = 'a'`, [t.id]);
    // round-robin scores carried over a change can skew the next few picks (round-robin.ts): a set, not counts
    expect(Object.keys(await picks(s, t.key, "behind", 6)).sort()).toEqual(["b", "c"]);

    await s.app.db.query(`DELETE FROM service_instances WHERE tenant_id = $1 AND instance_id = 'b'`, [t.id]);
    expect(await picks(s, t.key, "behind", 3)).toEqual({ c: 3 });

    await s.app.db.query(`UPDATE service_instances SET health = 'PASSING' WHERE tenant_id = $1 AND instance_id = 'a'`, [t.id]);
    await s.app.db.query(`UPDATE service_instances SET weight = 0 WHERE tenant_id = $1 AND instance_id = 'c'`, [t.id]);
    expect(await picks(s, t.key, "behind", 3)).toEqual({ a: 3 });
  });

  it("LEAST_CONNECTIONS sees other processes' active requests within REGISTRY_PICK_REFRESH_MS", async () => {
    const t = await seedTenant(s);
    for (const id of ["a", "b", "c"]) await registerOk(s, t.key, { service: "lc", instanceId: id });
    await pick(s, t.key, "lc", "LEAST_CONNECTIONS");
    // another process started many requests on a and b
    await s.app.db.query(`UPDATE service_instances SET active_requests = 100 WHERE tenant_id = $1 AND instance_id IN ('a', 'b')`, [t.id]);
    const started = Date.now();
    // until the snapshot is reloaded, picks may still go to a or b; from then on c has the fewest by far
    await until("every pick going to c", async () => JSON.stringify(await picks(s, t.key, "lc", 5, "LEAST_CONNECTIONS")) === JSON.stringify({ c: 5 }), 10_000, 20);
    expect(Date.now() - started).toBeLessThan(REFRESH_MS + 5_000);
  });

  it("keeps tenants apart: a service of the same name in another tenant has its own snapshot", async () => {
    const t1 = await seedTenant(s);
    const t2 = await seedTenant(s);
    await registerOk(s, t1.key, { service: "same", instanceId: "one" });
    await registerOk(s, t2.key, { service: "same", instanceId: "two" });
    expect(await picks(s, t1.key, "same", 3)).toEqual({ one: 3 });
    expect(await picks(s, t2.key, "same", 3)).toEqual({ two: 3 });
  });
});

// Two servers on one database: the embedded database belongs to one process.
(DATABASE_URL ? describe : describe.skip)("pick snapshots across two processes (PostgreSQL)", () => {
  let a: TestServer;
  let b: TestServer;
  let t: SeededTenant;
  beforeAll(async () => {
    const env = { REGISTRY_METRICS_FLUSH_MS: "3600000", REGISTRY_PICK_REFRESH_MS: "60000" };
    a = await startServer(env);
    b = await startServer(env);
    t = await seedTenant(a);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  it("a pick on B follows registrations, health, circuits, policy and removals made through A at once", async () => {
    for (const id of ["x", "y"]) await registerOk(a, t.key, { service: "two", instanceId: id });
    expect(await picks(b, t.key, "two", 2)).toEqual({ x: 1, y: 1 });

    // round-robin scores carried over a change can skew the next few picks (round-robin.ts): sets, not counts
    const picked = async (n: number) => Object.keys(await picks(b, t.key, "two", n)).sort();
    await registerOk(a, t.key, { service: "two", instanceId: "z" });
    expect(await picked(9)).toEqual(["x", "y", "z"]);

    await gqlOk(a.url, t.key, HEARTBEAT, { id: "x", health: "CRITICAL" });
    expect(await picked(6)).toEqual(["y", "z"]);

    // panic off: with x critical and y open, z alone (1 of 3) would otherwise be under the 50 % threshold
    await gqlOk(a.url, t.key, CONFIGURE, { name: "two", policy: { panicThresholdPercent: 0, circuitBreaker: { windowSize: 2, minimumCalls: 2 } } });
    for (let i = 0; i < 2; i++) await reportOk(a, t.key, { instanceId: "y", durationMs: 5, success: false });
    expect(await picked(3)).toEqual(["z"]);

    await gqlOk(a.url, t.key, HEARTBEAT, { id: "x", health: "PASSING" });
    await gqlOk(a.url, t.key, CONFIGURE, { name: "two", policy: { strategy: "CONSISTENT_HASH" } });
    const owner = await pick(b, t.key, "two", undefined, "user-1");
    for (let i = 0; i < 3; i++) expect(await pick(b, t.key, "two", undefined, "user-1")).toBe(owner);

    await gqlOk(a.url, t.key, DEREGISTER, { id: owner });
    const other = owner === "x" ? "z" : "x";
    expect(await pick(b, t.key, "two", undefined, "user-1")).toBe(other);
  });
});
