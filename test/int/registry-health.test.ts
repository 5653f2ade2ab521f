import { type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { seedTenant } from "../builders/tenant.builder";
import { HEALTH_SUB, HEARTBEAT, registerOk, serviceOk } from "../builders/registry.builder";
import { gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";
import { activeSubscriptions, collect, sleep, waitForSubscriptions, wsClient } from "../support/ws";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.stop();
});

const ISO = "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z";
const history = async (key: string, service: string) =>
  (await serviceOk(s, key, service)).instances[0].healthHistory.map((h: { previous: string | null; health: string; reason: string }) => [h.previous, h.health, h.reason]);

describe("heartbeat TTL", () => {
  it("turns an instance CRITICAL when its TTL passes, pushes the event with its reason to its tenant only, and a heartbeat brings it back", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const inst = await registerOk(s, a.key, { service: "ttl-svc", instanceId: "ttl-1", ttlSeconds: 5 });
    await registerOk(s, b.key, { service: "ttl-svc", instanceId: "ttl-1", ttlSeconds: 5 });
    const base = await activeSubscriptions(s.baseUrl);
    const { client } = wsClient(s.wsUrl, a.key);
    const sub = collect(client, HEALTH_SUB, { service: "ttl-svc" });
    const { client: bClient } = wsClient(s.wsUrl, b.key);
    const bSub = collect(bClient, HEALTH_SUB, {});
    await waitForSubscriptions(s.baseUrl, base + 2);

    const t0 = Date.parse(inst.lastHeartbeatAt);
    expect((await s.app.jobs.registrySweep(t0 + 4_000, a.id)).expired).toBe(0);
    expect((await s.app.jobs.registrySweep(t0 + 5_001, a.id)).expired).toBe(1);
    await sub.until(() => sub.results.length >= 1);
    const event = sub.results[0]!.data.serviceHealthChanged;
    expect(event).toMatchObject({
      previous: "PASSING",
      health: "CRITICAL",
      reason: `missed heartbeats (last at ${inst.lastHeartbeatAt})`,
      at: new Date(t0 + 5_001).toISOString(),
      instance: { instanceId: "ttl-1", health: "CRITICAL", service: { name: "ttl-svc" } },
    });
    // a second sweep finds nothing new
    expect((await s.app.jobs.registrySweep(t0 + 6_000, a.id)).expired).toBe(0);

    const back = (await gqlOk(s.url, a.key, HEARTBEAT, { id: "ttl-1" })).heartbeat;
    expect(back).toMatchObject({ health: "PASSING", healthReason: "heartbeat resumed" });
    // coalesced: the second change of the instance within a second arrives when the second is over
    await sub.until(() => sub.results.length >= 2, 3_000);
    expect(sub.results[1]!.data.serviceHealthChanged).toMatchObject({ previous: "CRITICAL", health: "PASSING", reason: "heartbeat resumed" });
    expect(await history(a.key, "ttl-svc")).toEqual([
      ["CRITICAL", "PASSING", "heartbeat resumed"],
      ["PASSING", "CRITICAL", expect.stringMatching(new RegExp(`^missed heartbeats \\(last at ${ISO}\\)$`))],
      [null, "PASSING", "registered"],
    ]);
    expect(bSub.results).toEqual([]);
    expect((await serviceOk(s, b.key, "ttl-svc")).instances[0].health).toBe("PASSING");
    await client.dispose();
    await bClient.dispose();
  });

  it("removes an instance CRITICAL for longer than the grace period (300 s by default) and keeps its history", async () => {
    const t = await seedTenant(s);
    const ttl = await registerOk(s, t.key, { service: "grace", instanceId: "g-ttl", ttlSeconds: 1 });
    await registerOk(s, t.key, { service: "grace", instanceId: "g-said", ttlSeconds: 86_400 });
    const t0 = Date.parse(ttl.lastHeartbeatAt);
    await s.app.jobs.registrySweep(t0 + 2_000, t.id);
    // critical by its own account, at t0 + 2 s as well
    await s.app.db.query(`UPDATE service_instances SET health = 'CRITICAL', critical_since = $2 WHERE tenant_id = $1 AND instance_id = 'g-said'`, [
      t.id,
      new Date(t0 + 2_000).toISOString(),
    ]);
    expect((await s.app.jobs.registrySweep(t0 + 2_000 + 299_000, t.id)).removed).toBe(0);
    expect((await serviceOk(s, t.key, "grace")).instances).toHaveLength(2);
    expect((await s.app.jobs.registrySweep(t0 + 2_000 + 300_001, t.id)).removed).toBe(2);
    expect((await serviceOk(s, t.key, "grace")).instances).toEqual([]);
    const rows = await s.app.db.query<{ instance_id: string; health: string; reason: string }>(
      `SELECT instance_id, health, reason FROM instance_health_events WHERE tenant_id = $1 AND instance_id = 'g-ttl' ORDER BY id`,
      [t.id],
    );
    expect(rows.map((r) => r.reason)).toEqual([
      "registered",
      expect.stringMatching(/^missed heartbeats/),
      `removed: critical for more than 300 s (since ${new Date(t0 + 2_000).toISOString()})`,
    ]);
  });

  it("an instance with a health check is judged by its check, not by its TTL", async () => {
    const t = await seedTenant(s);
    // a port that was just free: the check's connection is refused
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const inst = await registerOk(s, t.key, { service: "checked-ttl", host: "127.0.0.1", ttlSeconds: 1, healthCheck: { url: `http://127.0.0.1:${port}/h`, intervalSeconds: 3600 } });
    // the check fails; the TTL, long past, plays no part
    await s.app.jobs.registrySweep(Date.parse(inst.registeredAt) + 5_000, t.id);
    const [i] = (await serviceOk(s, t.key, "checked-ttl")).instances;
    expect(i.health).toBe("CRITICAL");
    expect(i.healthReason).toBe("check failed: request failed: ECONNREFUSED");
  });
});

describe("active health checks", () => {
  const servers: Server[] = [];
  let healthyPort: number;
  let failingPort: number;
  let slowPort: number;
  let busyPort: number;
  let redirectPort: number;
  let togglePort: number;
  let toggleStatus = 200;
  const hits: Record<string, number> = {};

  async function listen(name: string, handler: (res: ServerResponse) => void): Promise<number> {
    const server = createServer((req, res) => {
      hits[name] = (hits[name] ?? 0) + 1;
      if (req.method !== "GET") res.writeHead(405).end();
      else handler(res);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return (server.address() as AddressInfo).port;
  }

  beforeAll(async () => {
    healthyPort = await listen("healthy", (res) => res.writeHead(200).end("ok"));
    failingPort = await listen("failing", (res) => res.writeHead(500).end("boom"));
    slowPort = await listen("slow", (res) => {
      const timer = setTimeout(() => res.writeHead(200).end("late"), 1_300);
      res.on("close", () => clearTimeout(timer));
    });
    busyPort = await listen("busy", (res) => res.writeHead(429).end());
    redirectPort = await listen("redirect", (res) => res.writeHead(302, { location: "http://127.0.0.1:1/elsewhere" }).end());
    togglePort = await listen("toggle", (res) => res.writeHead(toggleStatus).end());
  });
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("GETs each due check: 2xx PASSING, 500 CRITICAL, too slow CRITICAL, 429 WARNING, a redirect CRITICAL (not followed)", async () => {
    const t = await seedTenant(s);
    const check = (port: number) => ({ url: `http://127.0.0.1:${port}/health`, intervalSeconds: 10, timeoutSeconds: 1 });
    for (const [id, port] of [
      ["healthy", healthyPort],
      ["failing", failingPort],
      ["slow", slowPort],
      ["busy", busyPort],
      ["redirect", redirectPort],
    ] as const) {
      await registerOk(s, t.key, { service: "probed", instanceId: id, host: "127.0.0.1", port, healthCheck: check(port) });
    }
    const started = Date.now();
    const report = await s.app.jobs.registrySweep(Date.now() + 1, t.id);
    expect(report.checked).toBe(5);
    // the checks ran concurrently: about one timeout, not the sum
    expect(Date.now() - started).toBeLessThan(4_000);
    const byId = Object.fromEntries((await serviceOk(s, t.key, "probed")).instances.map((i: { instanceId: string; health: string; healthReason: string }) => [i.instanceId, [i.health, i.healthReason]]));
    expect(byId).toEqual({
      healthy: ["PASSING", "check passed: HTTP 200"],
      failing: ["CRITICAL", "check failed: HTTP 500"],
      slow: ["CRITICAL", "check failed: timed out after 1 s"],
      busy: ["WARNING", "check warning: HTTP 429"],
      redirect: ["CRITICAL", "check failed: HTTP 302 (redirects are not followed)"],
    });
    expect(hits.redirect).toBe(1);
    // not due again before the interval is over
    expect((await s.app.jobs.registrySweep(Date.now() + 5_000, t.id)).checked).toBe(0);
  });

  it("damps flapping: PASSING after successesBeforePassing passes in a row, CRITICAL after failuresBeforeCritical failures in a row", async () => {
    const t = await seedTenant(s);
    toggleStatus = 200;
    const inst = await registerOk(s, t.key, {
      service: "damped",
      instanceId: "d-1",
      host: "127.0.0.1",
      port: togglePort,
      healthCheck: { url: `http://127.0.0.1:${togglePort}/`, intervalSeconds: 10, timeoutSeconds: 1, successesBeforePassing: 2, failuresBeforeCritical: 2 },
    });
    const t0 = Date.parse(inst.registeredAt);
    const healthAfter = async (step: number, status: number) => {
      toggleStatus = status;
      expect((await s.app.jobs.registrySweep(t0 + step * 10_000, t.id)).checked).toBe(1);
      return (await serviceOk(s, t.key, "damped")).instances[0].health;
    };
    expect(await healthAfter(0, 200)).toBe("WARNING");
    expect(await healthAfter(1, 200)).toBe("PASSING");
    expect(await healthAfter(2, 500)).toBe("PASSING");
    expect(await healthAfter(3, 200)).toBe("PASSING");
    expect(await healthAfter(4, 503)).toBe("PASSING");
    expect(await healthAfter(5, 503)).toBe("CRITICAL");
    expect(await healthAfter(6, 200)).toBe("CRITICAL");
    expect(await healthAfter(7, 200)).toBe("PASSING");
    expect(await history(t.key, "damped")).toEqual([
      ["CRITICAL", "PASSING", "check passed: HTTP 200"],
      ["PASSING", "CRITICAL", "check failed: HTTP 503"],
      ["WARNING", "PASSING", "check passed: HTTP 200"],
      [null, "WARNING", "awaiting first health check"],
    ]);
  });
});

describe("serviceHealthChanged", () => {
  it("coalesces flapping: at most one event per instance per second, and none when the state went back to what was delivered", async () => {
    const t = await seedTenant(s);
    const base = await activeSubscriptions(s.baseUrl);
    const { client } = wsClient(s.wsUrl, t.key);
    const sub = collect(client, HEALTH_SUB, {});
    await waitForSubscriptions(s.baseUrl, base + 1);
    const events = () => sub.results.map((r) => [r.data.serviceHealthChanged.previous, r.data.serviceHealthChanged.health]);
    // the registration goes out at once and opens the instance's one-second window...
    await registerOk(s, t.key, { service: "flappy", instanceId: "f-1" });
    await sub.until(() => sub.results.length >= 1);
    // ...in which PASSING → CRITICAL → PASSING ends where subscribers already are: nothing more is sent
    for (const health of ["CRITICAL", "PASSING"]) await gqlOk(s.url, t.key, HEARTBEAT, { id: "f-1", health });
    await sleep(1_100);
    expect(events()).toEqual([[null, "PASSING"]]);
    // a change after the window goes out at once; the next one within the second waits for its end
    for (const health of ["WARNING", "CRITICAL"]) await gqlOk(s.url, t.key, HEARTBEAT, { id: "f-1", health });
    await sub.until(() => sub.results.length >= 2);
    expect(events()).toEqual([[null, "PASSING"], ["PASSING", "WARNING"]]);
    await sub.until(() => sub.results.length >= 3, 2_500);
    expect(events()).toEqual([[null, "PASSING"], ["PASSING", "WARNING"], ["WARNING", "CRITICAL"]]);
    // the history keeps every change, uncoalesced
    expect((await history(t.key, "flappy")).length).toBe(5);
    await client.dispose();
  });

  it("needs REGISTRY_READ and a tenant key", async () => {
    const t = await seedTenant(s);
    const { key } = await t.keyWith(["REGISTRY_WRITE"]);
    for (const k of [key, s.adminKey]) {
      const { client } = wsClient(s.wsUrl, k);
      const sub = collect(client, HEALTH_SUB, {});
      await sub.until(() => sub.error !== undefined || sub.results.length > 0);
      const errors = (sub.error ?? sub.results[0]?.errors) as Array<{ extensions?: { code?: string } }>;
      expect(errors[0]!.extensions?.code).toBe("FORBIDDEN");
      await client.dispose();
    }
  });
});
