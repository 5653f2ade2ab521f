import { seedTenant } from "../builders/tenant.builder";
import {
  CONFIGURE,
  DEREGISTER,
  HEARTBEAT,
  REGISTER,
  SERVICE,
  SERVICES,
  register,
  registerOk,
  registryRows,
  serviceOk,
} from "../builders/registry.builder";
import { expectError, gql, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";
import { activeSubscriptions, collect, waitForSubscriptions, wsClient } from "../support/ws";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.stop();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("registerInstance", () => {
  it("creates the service on first registration, generates an instanceId, and starts PASSING without a health check", async () => {
    const t = await seedTenant(s);
    const before = Date.now();
    const inst = await registerOk(s, t.key, { service: "payments-api", type: "PAYMENTS", host: "10.1.2.3", port: 443, version: "1.4.2", zone: "eu-1", tags: ["a", "b"], metadata: { build: 42, canary: false, owner: "team-x" } });
    expect(inst).toMatchObject({
      host: "10.1.2.3",
      port: 443,
      version: "1.4.2",
      zone: "eu-1",
      weight: 1,
      tags: ["a", "b"],
      metadata: { build: 42, canary: false, owner: "team-x" },
      health: "PASSING",
      healthReason: "registered",
      circuit: "CLOSED",
      activeRequests: 0,
      service: { name: "payments-api", type: "PAYMENTS" },
    });
    expect(inst.instanceId).toMatch(UUID);
    expect(Date.parse(inst.registeredAt)).toBeGreaterThanOrEqual(before - 5);
    expect(inst.lastHeartbeatAt).toBe(inst.registeredAt);
    const { services } = await gqlOk(s.url, t.key, SERVICES);
    expect(services).toEqual([{ id: inst.service.id, name: "payments-api", type: "PAYMENTS" }]);
  });

  it("starts WARNING \"awaiting first health check\" with a health check", async () => {
    const t = await seedTenant(s);
    const inst = await registerOk(s, t.key, { service: "checked", host: "127.0.0.1", healthCheck: { url: "http://127.0.0.1:9/health" } });
    expect(inst).toMatchObject({ health: "WARNING", healthReason: "awaiting first health check" });
  });

  it("is idempotent on instanceId: the same id again updates the instance and keeps one row", async () => {
    const t = await seedTenant(s);
    const first = await registerOk(s, t.key, { service: "orders", instanceId: "orders-1", port: 8080, weight: 2 });
    const again = await registerOk(s, t.key, { service: "orders", instanceId: "orders-1", port: 9090, weight: 5, tags: ["v2"] });
    expect(again).toMatchObject({ id: first.id, instanceId: "orders-1", port: 9090, weight: 5, tags: ["v2"], health: "PASSING", registeredAt: first.registeredAt });
    expect(await registryRows(s, t.id)).toMatchObject({ services: 1, service_instances: 1 });
    // a new service without a type is OTHER; a later registration that names a type sets it
    expect(again.service.type).toBe("OTHER");
    expect((await registerOk(s, t.key, { service: "orders", instanceId: "orders-1", type: "TRADING" })).service.type).toBe("TRADING");
    // the registration history has the first registration only (health never changed)
    const svc = await serviceOk(s, t.key, "orders");
    expect(svc.instances[0].healthHistory).toEqual([{ previous: null, health: "PASSING", reason: "registered", at: first.registeredAt }]);
  });

  it("refuses an instanceId registered under another service with CONFLICT, writing nothing", async () => {
    const t = await seedTenant(s);
    await registerOk(s, t.key, { service: "a", instanceId: "shared-id" });
    const r = await register(s, t.key, { service: "b", instanceId: "shared-id" });
    expect(expectError(r, "CONFLICT", '"a"').extensions?.field).toBe("input.instanceId");
    expect(await registryRows(s, t.id)).toMatchObject({ services: 1, service_instances: 1 });
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ["an empty service name", { service: "" }, "input.service"],
    ["a service name with a space", { service: "a b" }, "input.service"],
    ["a service name starting with a dash", { service: "-a" }, "input.service"],
    ["a service name of 129 characters", { service: "a".repeat(129) }, "input.service"],
    ["port 0", { port: 0 }, "input.port"],
    ["port 65536", { port: 65_536 }, "input.port"],
    ["an empty host", { host: "" }, "input.host"],
    ["a host of 254 characters", { host: "h".repeat(254) }, "input.host"],
    ["a negative weight", { weight: -1 }, "input.weight"],
    ["weight 1001", { weight: 1001 }, "input.weight"],
    ["ttlSeconds 0", { ttlSeconds: 0 }, "input.ttlSeconds"],
    ["ttlSeconds 86401", { ttlSeconds: 86_401 }, "input.ttlSeconds"],
    ["33 tags", { tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }, "input.tags"],
    ["a tag of 101 characters", { tags: ["ok", "x".repeat(101)] }, "input.tags[1]"],
    ["nested metadata", { metadata: { a: { b: 1 } } }, "input.metadata.a"],
    ["a metadata array value", { metadata: { a: [1] } }, "input.metadata.a"],
    ["an instanceId with a space", { instanceId: "a b" }, "input.instanceId"],
    ["a health check that is not http(s)", { healthCheck: { url: "ftp://10.0.0.1/health" } }, "input.healthCheck.url"],
    ["a health check that is not a URL", { healthCheck: { url: "not a url" } }, "input.healthCheck.url"],
    ["a health check on another host", { healthCheck: { url: "http://169.254.169.254/latest" } }, "input.healthCheck.url"],
    ["a health-check interval of 0", { healthCheck: { url: "http://10.0.0.1/h", intervalSeconds: 0 } }, "input.healthCheck.intervalSeconds"],
    ["a health-check interval of 3601", { healthCheck: { url: "http://10.0.0.1/h", intervalSeconds: 3601 } }, "input.healthCheck.intervalSeconds"],
    ["a health-check timeout of 61", { healthCheck: { url: "http://10.0.0.1/h", intervalSeconds: 100, timeoutSeconds: 61 } }, "input.healthCheck.timeoutSeconds"],
    ["a health-check timeout above the interval", { healthCheck: { url: "http://10.0.0.1/h", intervalSeconds: 5, timeoutSeconds: 6 } }, "input.healthCheck.timeoutSeconds"],
    ["successesBeforePassing 0", { healthCheck: { url: "http://10.0.0.1/h", successesBeforePassing: 0 } }, "input.healthCheck.successesBeforePassing"],
    ["failuresBeforeCritical 0", { healthCheck: { url: "http://10.0.0.1/h", failuresBeforeCritical: 0 } }, "input.healthCheck.failuresBeforeCritical"],
  ];
  it.each(bad)("rejects %s with BAD_USER_INPUT naming the field, and writes nothing", async (_what, override, field) => {
    const t = await seedTenant(s);
    const r = await register(s, t.key, { service: "svc", ...override });
    const err = expectError(r, "BAD_USER_INPUT", field);
    expect(err.extensions?.field).toBe(field);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
    expect(await registryRows(s, t.id)).toEqual({ services: 0, service_instances: 0, instance_health_events: 0, service_calls: 0 });
  });

  it("accepts the bounds: port 1 and 65535, weight 0 and 1000, ttl 1 and 86400, an https check on the same host in another case", async () => {
    const t = await seedTenant(s);
    await registerOk(s, t.key, { service: "edge", instanceId: "lo", port: 1, weight: 0, ttlSeconds: 1 });
    await registerOk(s, t.key, { service: "edge", instanceId: "hi", port: 65_535, weight: 1000, ttlSeconds: 86_400, host: "API.example.com", healthCheck: { url: "https://api.EXAMPLE.com:8443/health", intervalSeconds: 1, timeoutSeconds: 1 } });
    expect((await serviceOk(s, t.key, "edge")).instances.map((i: { instanceId: string }) => i.instanceId)).toEqual(["hi", "lo"]);
  });
});

describe("heartbeat", () => {
  it("refreshes lastHeartbeatAt, sets an explicit health with its note, and answers NOT_FOUND for an unknown id", async () => {
    const t = await seedTenant(s);
    const inst = await registerOk(s, t.key, { service: "hb", instanceId: "hb-1" });
    const beat = (await gqlOk(s.url, t.key, HEARTBEAT, { id: "hb-1" })).heartbeat;
    expect(Date.parse(beat.lastHeartbeatAt)).toBeGreaterThanOrEqual(Date.parse(inst.lastHeartbeatAt));
    expect(beat).toMatchObject({ health: "PASSING", healthReason: "registered" });
    const warn = (await gqlOk(s.url, t.key, HEARTBEAT, { id: "hb-1", health: "WARNING", note: "disk 91 %" })).heartbeat;
    expect(warn).toMatchObject({ health: "WARNING", healthReason: "disk 91 %" });
    const crit = (await gqlOk(s.url, t.key, HEARTBEAT, { id: "hb-1", health: "CRITICAL" })).heartbeat;
    expect(crit).toMatchObject({ health: "CRITICAL", healthReason: "set by heartbeat" });
    const history = (await serviceOk(s, t.key, "hb")).instances[0].healthHistory;
    expect(history.map((h: { previous: string; health: string; reason: string }) => [h.previous, h.health, h.reason])).toEqual([
      ["WARNING", "CRITICAL", "set by heartbeat"],
      ["PASSING", "WARNING", "disk 91 %"],
      [null, "PASSING", "registered"],
    ]);
    expectError(await gql(s.url, t.key, HEARTBEAT, { id: "nope" }), "NOT_FOUND", "nope");
    expectError(await gql(s.url, t.key, HEARTBEAT, { id: "hb-1", note: "n".repeat(1025) }), "BAD_USER_INPUT", "note");
  });
});

describe("deregisterInstance", () => {
  it("removes the instance, keeps its history, and answers NOT_FOUND the second time", async () => {
    const t = await seedTenant(s);
    await registerOk(s, t.key, { service: "gone", instanceId: "g-1" });
    expect((await gqlOk(s.url, t.key, DEREGISTER, { id: "g-1" })).deregisterInstance).toBe(true);
    expect((await serviceOk(s, t.key, "gone")).instances).toEqual([]);
    const history = await s.app.db.query<{ reason: string }>(`SELECT reason FROM instance_health_events WHERE tenant_id = $1 AND instance_id = 'g-1' ORDER BY id`, [t.id]);
    expect(history.map((h) => h.reason)).toEqual(["registered", "deregistered"]);
    expectError(await gql(s.url, t.key, DEREGISTER, { id: "g-1" }), "NOT_FOUND");
  });
});

describe("configureService", () => {
  const DEFAULT_POLICY = {
    strategy: "ROUND_ROBIN",
    timeoutMs: null,
    panicThresholdPercent: 50,
    circuitBreaker: { failureRateThreshold: 50, slowCallDurationMs: 60000, slowCallRateThreshold: 100, windowSize: 100, minimumCalls: 100, openStateSeconds: 60, halfOpenCalls: 10 },
    retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2000 },
  };

  it("creates a missing service with the defaults, then merges: given fields replace, null resets, omitted fields stay", async () => {
    const t = await seedTenant(s);
    const created = (await gqlOk(s.url, t.key, CONFIGURE, { name: "catalog", policy: {} })).configureService;
    expect(created).toMatchObject({ name: "catalog", type: "OTHER", dependencies: [], policy: DEFAULT_POLICY });
    const a = (await gqlOk(s.url, t.key, CONFIGURE, {
      name: "catalog",
      policy: { strategy: "LEAST_CONNECTIONS", timeoutMs: 1500, circuitBreaker: { windowSize: 20, minimumCalls: 5 }, retry: { maxAttempts: 5 }, panicThresholdPercent: 30 },
    })).configureService;
    expect(a.policy).toEqual({
      ...DEFAULT_POLICY,
      strategy: "LEAST_CONNECTIONS",
      timeoutMs: 1500,
      panicThresholdPercent: 30,
      circuitBreaker: { ...DEFAULT_POLICY.circuitBreaker, windowSize: 20, minimumCalls: 5 },
      retry: { ...DEFAULT_POLICY.retry, maxAttempts: 5 },
    });
    const b = (await gqlOk(s.url, t.key, CONFIGURE, { name: "catalog", policy: { circuitBreaker: { windowSize: null, halfOpenCalls: 2 }, timeoutMs: null } })).configureService;
    expect(b.policy).toEqual({
      ...a.policy,
      timeoutMs: null,
      circuitBreaker: { ...DEFAULT_POLICY.circuitBreaker, minimumCalls: 5, halfOpenCalls: 2 },
    });
    expect(b.id).toBe(created.id);
  });

  it("returns declared dependencies that exist, in declared order", async () => {
    const t = await seedTenant(s);
    await registerOk(s, t.key, { service: "db" });
    await registerOk(s, t.key, { service: "cache" });
    const svc = (await gqlOk(s.url, t.key, CONFIGURE, { name: "web", policy: { dependencies: ["db", "not-yet", "cache", "db"] } })).configureService;
    expect(svc.dependencies).toEqual([{ name: "db" }, { name: "cache" }]);
    await registerOk(s, t.key, { service: "not-yet" });
    const again = (await gqlOk(s.url, t.key, `{ service(name: "web") { dependencies { name } } }`)).service;
    expect(again.dependencies).toEqual([{ name: "db" }, { name: "not-yet" }, { name: "cache" }]);
  });

  const badPolicy: Array<[string, Record<string, unknown>, string]> = [
    ["a failure threshold of 0", { circuitBreaker: { failureRateThreshold: 0 } }, "policy.circuitBreaker.failureRateThreshold"],
    ["a failure threshold over 100", { circuitBreaker: { failureRateThreshold: 100.5 } }, "policy.circuitBreaker.failureRateThreshold"],
    ["a slow-call threshold over 100", { circuitBreaker: { slowCallRateThreshold: 101 } }, "policy.circuitBreaker.slowCallRateThreshold"],
    ["windowSize 0", { circuitBreaker: { windowSize: 0 } }, "policy.circuitBreaker.windowSize"],
    ["windowSize 10001", { circuitBreaker: { windowSize: 10_001 } }, "policy.circuitBreaker.windowSize"],
    ["minimumCalls 0", { circuitBreaker: { minimumCalls: 0 } }, "policy.circuitBreaker.minimumCalls"],
    ["openStateSeconds 0", { circuitBreaker: { openStateSeconds: 0 } }, "policy.circuitBreaker.openStateSeconds"],
    ["halfOpenCalls 1001", { circuitBreaker: { halfOpenCalls: 1001 } }, "policy.circuitBreaker.halfOpenCalls"],
    ["maxAttempts 11", { retry: { maxAttempts: 11 } }, "policy.retry.maxAttempts"],
    ["a negative delay", { retry: { baseDelayMs: -1 } }, "policy.retry.baseDelayMs"],
    ["base delay above max delay", { retry: { baseDelayMs: 500, maxDelayMs: 100 } }, "policy.retry.maxDelayMs"],
    ["timeoutMs 0", { timeoutMs: 0 }, "policy.timeoutMs"],
    ["timeoutMs 600001", { timeoutMs: 600_001 }, "policy.timeoutMs"],
    ["a panic threshold over 100", { panicThresholdPercent: 101 }, "policy.panicThresholdPercent"],
    ["an invalid dependency name", { dependencies: ["ok", "not ok"] }, "policy.dependencies[1]"],
    ["a dependency on itself", { dependencies: ["svc"] }, "policy.dependencies[0]"],
  ];
  it.each(badPolicy)("rejects %s with BAD_USER_INPUT naming the field, and writes nothing", async (_what, policy, field) => {
    const t = await seedTenant(s);
    const r = await gql(s.url, t.key, CONFIGURE, { name: "svc", policy });
    expect(expectError(r, "BAD_USER_INPUT", field).extensions?.field).toBe(field);
    expect((await registryRows(s, t.id)).services).toBe(0);
  });

  it("rejects an invalid service name", async () => {
    const t = await seedTenant(s);
    expect(expectError(await gql(s.url, t.key, CONFIGURE, { name: "", policy: {} }), "BAD_USER_INPUT").extensions?.field).toBe("name");
  });
});

describe("audit", () => {
  it("records registerInstance, deregisterInstance and configureService, but not heartbeats", async () => {
    const t = await seedTenant(s);
    await registerOk(s, t.key, { service: "aud", instanceId: "aud-1" });
    await gqlOk(s.url, t.key, HEARTBEAT, { id: "aud-1" });
    await gqlOk(s.url, t.key, CONFIGURE, { name: "aud", policy: { timeoutMs: 100 } });
    await gqlOk(s.url, t.key, DEREGISTER, { id: "aud-1" });
    const { auditLog } = await gqlOk(s.url, t.key, `{ auditLog(first: 10) { nodes { action targetType targetId details } } }`);
    const registry = auditLog.nodes.filter((n: { action: string }) => !n.action.startsWith("apiKey") && !n.action.startsWith("tenant"));
    expect(registry.map((n: { action: string }) => n.action)).toEqual(["instance.deregister", "service.configure", "instance.register"]);
    expect(registry[2]).toMatchObject({ targetType: "ServiceInstance", targetId: "aud-1", details: { service: "aud", created: true, serviceCreated: true } });
    expect(registry[1].details).toMatchObject({ name: "aud", policy: { timeoutMs: 100 } });
  });
});

describe("a new instance of an existing service", () => {
  it("is written in one statement without a transaction: the instance, its history and its audit entry, whose event is pushed", async () => {
    const t = await seedTenant(s);
    await registerOk(s, t.key, { service: "one", instanceId: "one-1", type: "PAYMENTS" });
    const base = await activeSubscriptions(s.baseUrl);
    const { client } = wsClient(s.wsUrl, t.key);
    const sub = collect(client, `subscription { auditEvents { action actor targetType targetId details } }`);
    await waitForSubscriptions(s.baseUrl, base + 1);
    const transactions = jest.spyOn(s.app.db, "transaction");
    try {
      const second = await registerOk(s, t.key, { service: "one", instanceId: "one-2", host: "10.0.0.2", port: 9090 });
      const third = await registerOk(s, t.key, { service: "one", instanceId: "one-3", type: "PAYMENTS" });
      expect(transactions).not.toHaveBeenCalled();
      expect(second).toMatchObject({ instanceId: "one-2", host: "10.0.0.2", port: 9090, health: "PASSING" });
      expect(third.instanceId).toBe("one-3");
    } finally {
      transactions.mockRestore();
    }
    await sub.until(() => sub.results.length >= 2);
    expect(sub.results.map((r) => r.data.auditEvents)).toEqual([
      {
        action: "instance.register",
        actor: expect.any(String),
        targetType: "ServiceInstance",
        targetId: "one-2",
        details: { service: "one", host: "10.0.0.2", port: 9090, created: true, serviceCreated: false },
      },
      expect.objectContaining({ targetId: "one-3", details: expect.objectContaining({ created: true, serviceCreated: false }) }),
    ]);
    await client.dispose();
    const svc = await serviceOk(s, t.key, "one");
    expect(svc.type).toBe("PAYMENTS");
    const two = svc.instances.find((i: { instanceId: string }) => i.instanceId === "one-2");
    expect(two.healthHistory).toEqual([{ previous: null, health: "PASSING", reason: "registered", at: two.registeredAt }]);
    const { auditLog } = await gqlOk(s.url, t.key, `{ auditLog(first: 10, action: "instance.register") { nodes { targetId details } } }`);
    expect(auditLog.nodes.map((n: { targetId: string }) => n.targetId)).toEqual(["one-3", "one-2", "one-1"]);
    expect(await registryRows(s, t.id)).toMatchObject({ services: 1, service_instances: 3, instance_health_events: 3 });
  });

  it("of another type than asked, or with a taken instanceId, goes through the transaction: the type changes, a conflict writes nothing", async () => {
    const t = await seedTenant(s);
    await registerOk(s, t.key, { service: "typed", instanceId: "ty-1", type: "PAYMENTS" });
    await registerOk(s, t.key, { service: "other", instanceId: "ot-1" });
    const rows = await registryRows(s, t.id);
    const [audits] = await s.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_entries WHERE tenant_id = $1`, [t.id]);
    // the instanceId is taken under another service: CONFLICT, and neither statement wrote anything
    expectError(await register(s, t.key, { service: "typed", instanceId: "ot-1" }), "CONFLICT");
    expect(await registryRows(s, t.id)).toEqual(rows);
    const [after] = await s.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_entries WHERE tenant_id = $1`, [t.id]);
    expect(after!.n).toBe(audits!.n);
    // another type than the service's: registered, and the service takes the type asked, as before
    await registerOk(s, t.key, { service: "typed", instanceId: "ty-2", type: "TRADING" });
    expect((await serviceOk(s, t.key, "typed")).type).toBe("TRADING");
  });
});

describe("access", () => {
  it("needs REGISTRY_READ for queries and REGISTRY_WRITE for mutations; a platform admin key is FORBIDDEN", async () => {
    const t = await seedTenant(s);
    await registerOk(s, t.key, { service: "acl", instanceId: "acl-1" });
    const reader = (await t.keyWith(["REGISTRY_READ"])).key;
    const writer = (await t.keyWith(["REGISTRY_WRITE"])).key;
    const none = (await t.keyWith(["METRICS_READ"])).key;
    for (const key of [none, writer]) {
      expectError(await gql(s.url, key, SERVICES), "FORBIDDEN", "REGISTRY_READ");
      expectError(await gql(s.url, key, SERVICE, { name: "acl" }), "FORBIDDEN", "REGISTRY_READ");
      expectError(await gql(s.url, key, `{ serviceGraph { nodes { name } } }`), "FORBIDDEN", "REGISTRY_READ");
      expectError(await gql(s.url, key, `{ pickInstance(service: "acl") { id } }`), "FORBIDDEN", "REGISTRY_READ");
    }
    for (const key of [none, reader]) {
      expectError(await gql(s.url, key, REGISTER, { input: { service: "acl", host: "h", port: 1 } }), "FORBIDDEN", "REGISTRY_WRITE");
      expectError(await gql(s.url, key, HEARTBEAT, { id: "acl-1" }), "FORBIDDEN", "REGISTRY_WRITE");
      expectError(await gql(s.url, key, DEREGISTER, { id: "acl-1" }), "FORBIDDEN", "REGISTRY_WRITE");
      expectError(await gql(s.url, key, CONFIGURE, { name: "acl", policy: {} }), "FORBIDDEN", "REGISTRY_WRITE");
      expectError(await gql(s.url, key, `mutation { reportCall(input: { instanceId: "acl-1", durationMs: 1, success: true }) { id } }`), "FORBIDDEN", "REGISTRY_WRITE");
    }
    expect((await gqlOk(s.url, reader, SERVICES)).services).toHaveLength(1);
    expect((await gqlOk(s.url, writer, HEARTBEAT, { id: "acl-1" })).heartbeat.instanceId).toBe("acl-1");
    expectError(await gql(s.url, s.adminKey, SERVICES), "FORBIDDEN", "use an API key of that tenant");
    expectError(await gql(s.url, s.adminKey, REGISTER, { input: { service: "acl", host: "h", port: 1 } }), "FORBIDDEN");
    expectError(await gql(s.url, undefined, SERVICES), "UNAUTHENTICATED");
  });

  it("keeps tenants apart: the same names live side by side, and no operation reaches another tenant's instance", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const ia = await registerOk(s, a.key, { service: "shared-name", instanceId: "same-id", port: 1111 });
    const ib = await registerOk(s, b.key, { service: "shared-name", instanceId: "same-id", port: 2222 });
    expect(ia.id).not.toBe(ib.id);
    await registerOk(s, a.key, { service: "only-a", instanceId: "a-only" });
    expect((await gqlOk(s.url, b.key, SERVICES)).services.map((x: { name: string }) => x.name)).toEqual(["shared-name"]);
    expect((await gqlOk(s.url, b.key, SERVICE, { name: "only-a" })).service).toBeNull();
    expect((await serviceOk(s, b.key, "shared-name")).instances.map((i: { port: number }) => i.port)).toEqual([2222]);
    expectError(await gql(s.url, b.key, HEARTBEAT, { id: "a-only" }), "NOT_FOUND");
    expectError(await gql(s.url, b.key, DEREGISTER, { id: "a-only" }), "NOT_FOUND");
    expectError(await gql(s.url, b.key, `mutation { reportCall(input: { instanceId: "a-only", durationMs: 1, success: true }) { id } }`), "NOT_FOUND");
    expectError(await gql(s.url, b.key, `{ pickInstance(service: "only-a") { id } }`), "UNAVAILABLE", "no instances registered");
    await gqlOk(s.url, b.key, CONFIGURE, { name: "shared-name", policy: { strategy: "RANDOM" } });
    expect((await gqlOk(s.url, a.key, `{ service(name: "shared-name") { policy { strategy } } }`)).service.policy.strategy).toBe("ROUND_ROBIN");
    expect((await gqlOk(s.url, b.key, `{ serviceGraph { nodes { name } } }`)).serviceGraph.nodes).toEqual([{ name: "shared-name" }]);
    await gqlOk(s.url, b.key, DEREGISTER, { id: "same-id" });
    expect((await serviceOk(s, a.key, "shared-name")).instances).toHaveLength(1);
  });

  it("deleteTenant erases the tenant's services, instances, history and calls, and nothing of another tenant", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    for (const t of [a, b]) {
      await registerOk(s, t.key, { service: "doomed", instanceId: "d-1" });
      await gqlOk(s.url, t.key, CONFIGURE, { name: "doomed", policy: { dependencies: ["other"] } });
      await gqlOk(s.url, t.key, `mutation { reportCall(input: { instanceId: "d-1", durationMs: 3, success: true, caller: "web" }) { id } }`);
    }
    const filled = { services: 1, service_instances: 1, instance_health_events: 1, service_calls: 1 };
    expect(await registryRows(s, a.id)).toEqual(filled);
    await gqlOk(s.url, s.adminKey, `mutation($id: ID!) { deleteTenant(id: $id) }`, { id: a.id });
    expect(await registryRows(s, a.id)).toEqual({ services: 0, service_instances: 0, instance_health_events: 0, service_calls: 0 });
    expect(await registryRows(s, b.id)).toEqual(filled);
  });
});
