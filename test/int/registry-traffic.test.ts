import { seedTenant } from "../builders/tenant.builder";
import { CIRCUIT_SUB, CONFIGURE, GRAPH, HEARTBEAT, PICK, registerOk, reportOk, serviceOk } from "../builders/registry.builder";
import { expectError, gql, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";
import { activeSubscriptions, collect, sleep, waitForSubscriptions, wsClient } from "../support/ws";

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ REGISTRY_METRICS_FLUSH_MS: "3600000" });
});
afterAll(async () => {
  await s?.stop();
});

async function pick(key: string, service: string, strategy?: string, hashKey?: string): Promise<any> {
  return (await gqlOk(s.url, key, PICK, { service, strategy, hashKey })).pickInstance;
}

async function picks(key: string, service: string, n: number, strategy?: string, hashKey?: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const p = await pick(key, service, strategy, hashKey);
    counts[p.instanceId] = (counts[p.instanceId] ?? 0) + 1;
  }
  return counts;
}

async function fleet(key: string, service: string, ids: string[], extra: Record<string, unknown> = {}): Promise<void> {
  for (const id of ids) await registerOk(s, key, { service, instanceId: id, ...extra });
}

describe("pickInstance", () => {
  it("balances by each strategy and counts active requests until reportCall ends them", async () => {
    const t = await seedTenant(s);
    await fleet(t.key, "lb", ["a", "b", "c"]);
    // ROUND_ROBIN (the default): an even rotation
    expect(await picks(t.key, "lb", 6)).toEqual({ a: 2, b: 2, c: 2 });
    expect((await serviceOk(s, t.key, "lb")).instances.map((i: { activeRequests: number }) => i.activeRequests)).toEqual([2, 2, 2]);
    // LEAST_CONNECTIONS: the instance with fewest active requests; ending two of a's makes it the one
    await reportOk(s, t.key, { instanceId: "a", durationMs: 3, success: true });
    await reportOk(s, t.key, { instanceId: "a", durationMs: 3, success: true });
    // a: 0, b: 2, c: 2 active → a, a, then a tie of three
    expect(await picks(t.key, "lb", 2, "LEAST_CONNECTIONS")).toEqual({ a: 2 });
    // CONSISTENT_HASH: one key, one instance
    const first = (await pick(t.key, "lb", "CONSISTENT_HASH", "user-42")).instanceId;
    expect(await picks(t.key, "lb", 4, "CONSISTENT_HASH", "user-42")).toEqual({ [first]: 4 });
    for (const strategy of ["WEIGHTED", "RANDOM", "POWER_OF_TWO"]) {
      expect(["a", "b", "c"]).toContain((await pick(t.key, "lb", strategy)).instanceId);
    }
    // reportCall never takes activeRequests below 0
    for (let i = 0; i < 20; i++) await reportOk(s, t.key, { instanceId: "b", durationMs: 1, success: true });
    expect((await serviceOk(s, t.key, "lb")).instances.find((i: { instanceId: string }) => i.instanceId === "b").activeRequests).toBe(0);
  });

  it("never picks weight 0 while another weight is left, and uses the service's configured strategy", async () => {
    const t = await seedTenant(s);
    await registerOk(s, t.key, { service: "w", instanceId: "zero", weight: 0 });
    await registerOk(s, t.key, { service: "w", instanceId: "one", weight: 1 });
    await registerOk(s, t.key, { service: "w", instanceId: "three", weight: 3 });
    expect(await picks(t.key, "w", 8)).toEqual({ one: 2, three: 6 });
    await gqlOk(s.url, t.key, CONFIGURE, { name: "w", policy: { strategy: "CONSISTENT_HASH" } });
    const owner = (await pick(t.key, "w", undefined, "k")).instanceId;
    expect(await picks(t.key, "w", 3, undefined, "k")).toEqual({ [owner]: 3 });
  });

  it("answers null with UNAVAILABLE saying why: none registered, all critical, all circuits open", async () => {
    const t = await seedTenant(s);
    const unavailable = async (service: string, message: string) => {
      const r = await gql(s.url, t.key, PICK, { service });
      expect(r.data?.pickInstance).toBeNull();
      expectError(r, "UNAVAILABLE", message);
      expect(r.status).toBe(503);
    };
    await unavailable("nothing-here", `service "nothing-here": no instances registered`);
    await fleet(t.key, "sick", ["s1", "s2"]);
    for (const id of ["s1", "s2"]) await gqlOk(s.url, t.key, HEARTBEAT, { id, health: "CRITICAL" });
    await unavailable("sick", "all instances critical (2 instances)");
    await gqlOk(s.url, t.key, CONFIGURE, { name: "tripped", policy: { circuitBreaker: { windowSize: 2, minimumCalls: 2 } } });
    await fleet(t.key, "tripped", ["t1", "t2"]);
    for (const id of ["t1", "t2"]) for (let i = 0; i < 2; i++) await reportOk(s, t.key, { instanceId: id, durationMs: 5, success: false });
    await unavailable("tripped", "all circuits open (2 instances)");
  });

  it("panics below the threshold: spreads over every instance, whatever its health; 0 turns panic off", async () => {
    const t = await seedTenant(s);
    await fleet(t.key, "panicky", ["p1", "p2", "p3", "p4"]);
    for (const id of ["p2", "p3", "p4"]) await gqlOk(s.url, t.key, HEARTBEAT, { id, health: "CRITICAL" });
    // 1 of 4 healthy = 25 % < 50 %: panic
    expect(await picks(t.key, "panicky", 8)).toEqual({ p1: 2, p2: 2, p3: 2, p4: 2 });
    await gqlOk(s.url, t.key, CONFIGURE, { name: "panicky", policy: { panicThresholdPercent: 25 } });
    expect(await picks(t.key, "panicky", 4)).toEqual({ p1: 4 });
    await gqlOk(s.url, t.key, CONFIGURE, { name: "panicky", policy: { panicThresholdPercent: 0 } });
    expect(await picks(t.key, "panicky", 4)).toEqual({ p1: 4 });
    // WARNING stands in when nothing passes
    await gqlOk(s.url, t.key, HEARTBEAT, { id: "p1", health: "WARNING" });
    expect(await picks(t.key, "panicky", 2)).toEqual({ p1: 2 });
  });
});

describe("commits", () => {
  afterEach(() => jest.restoreAllMocks());

  it("commits what pickInstance and reportCall write (active requests, breaker, calls) asynchronously, and registrations synchronously", async () => {
    const t = await seedTenant(s);
    const asyncStatements: string[] = [];
    const modes: string[] = [];
    const preparedAsyncCommit = s.app.db.preparedAsyncCommit.bind(s.app.db);
    const transaction = s.app.db.transaction.bind(s.app.db);
    jest.spyOn(s.app.db, "preparedAsyncCommit").mockImplementation((name, sql, params) => {
      asyncStatements.push(name);
      return preparedAsyncCommit(name, sql, params);
    });
    jest.spyOn(s.app.db, "transaction").mockImplementation(((fn: Parameters<typeof transaction>[0], commit?: Parameters<typeof transaction>[1]) => {
      modes.push(commit ?? "synchronous");
      return transaction(fn, commit);
    }) as typeof transaction);
    await registerOk(s, t.key, { service: "commits", instanceId: "c1" });
    const registered = modes.splice(0);
    expect(asyncStatements).toEqual([]);
    expect(registered.every((m) => m === "synchronous")).toBe(true);
    expect((await pick(t.key, "commits")).instanceId).toBe("c1");
    expect(asyncStatements).toEqual(["vigil_pick_start"]);
    expect(modes).toEqual([]);
    const reported = await reportOk(s, t.key, { instanceId: "c1", durationMs: 3, success: true });
    expect(modes).toEqual(["asynchronous"]);
    expect(reported.activeRequests).toBe(0);
    const [row] = await s.app.db.query<{ active: number; calls: number }>(
      `SELECT i.active_requests AS active, (SELECT count(*)::int FROM service_calls c WHERE c.tenant_id = i.tenant_id AND c.instance = i.id) AS calls
         FROM service_instances i WHERE i.tenant_id = $1 AND i.instance_id = 'c1'`,
      [t.id],
    );
    expect(row).toEqual({ active: 0, calls: 1 });
  });
});

describe("circuit breaking", () => {
  it("opens an instance's circuit from reported calls, pushes a CircuitEvent to its tenant only, and pickInstance avoids it until it closes", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    await gqlOk(s.url, a.key, CONFIGURE, {
      name: "brk",
      policy: { circuitBreaker: { windowSize: 4, minimumCalls: 4, failureRateThreshold: 50, openStateSeconds: 60, halfOpenCalls: 1 } },
    });
    await fleet(a.key, "brk", ["x", "y"]);
    await fleet(b.key, "brk", ["x"]);
    const base = await activeSubscriptions(s.baseUrl);
    const { client } = wsClient(s.wsUrl, a.key);
    const sub = collect(client, CIRCUIT_SUB, { service: "brk" });
    const { client: bClient } = wsClient(s.wsUrl, b.key);
    const bSub = collect(bClient, CIRCUIT_SUB, {});
    await waitForSubscriptions(s.baseUrl, base + 2);

    for (const success of [true, false, true]) expect((await reportOk(s, a.key, { instanceId: "x", durationMs: 10, success })).circuit).toBe("CLOSED");
    expect((await reportOk(s, a.key, { instanceId: "x", durationMs: 10, success: false, statusCode: 503 })).circuit).toBe("OPEN");
    await sub.until(() => sub.results.length >= 1);
    expect(sub.results[0]!.data.circuitStateChanged).toMatchObject({
      previous: "CLOSED",
      state: "OPEN",
      reason: "failure rate 50 % ≥ 50 % over the last 4 calls",
      instance: { instanceId: "x", circuit: "OPEN", service: { name: "brk" } },
    });
    expect(await picks(a.key, "brk", 6)).toEqual({ y: 6 });

    // the wait is over (moved back in the row): HALF_OPEN, one trial call, which succeeds → CLOSED
    await s.app.db.query(
      `UPDATE service_instances SET breaker = jsonb_set(breaker, '{openedAt}', to_jsonb((breaker->>'openedAt')::float8 - 61000))
        WHERE tenant_id = $1 AND instance_id = 'x'`,
      [a.id],
    );
    expect((await serviceOk(s, a.key, "brk")).instances[0].circuit).toBe("HALF_OPEN");
    expect((await pick(a.key, "brk", "LEAST_CONNECTIONS")).instanceId).toBe("x");
    // its one trial permit is taken: x is not admitted until the trial's result is in
    expect(await picks(a.key, "brk", 3, "LEAST_CONNECTIONS")).toEqual({ y: 3 });
    expect((await reportOk(s, a.key, { instanceId: "x", durationMs: 10, success: true })).circuit).toBe("CLOSED");
    // OPEN → HALF_OPEN → CLOSED within one second: coalesced into one event when the second is over
    await sub.until(() => sub.results.length >= 2, 2_500);
    expect(sub.results[1]!.data.circuitStateChanged).toMatchObject({ previous: "OPEN", state: "CLOSED", instance: { circuit: "CLOSED" } });
    expect(sub.results[1]!.data.circuitStateChanged.reason).toMatch(/^failure rate 0 % < 50 %/);
    expect(bSub.results).toEqual([]);
    expect((await serviceOk(s, b.key, "brk")).instances[0].circuit).toBe("CLOSED");
    await client.dispose();
    await bClient.dispose();
  });

  it("circuitStateChanged needs REGISTRY_READ", async () => {
    const t = await seedTenant(s);
    const { key } = await t.keyWith(["REGISTRY_WRITE"]);
    const { client } = wsClient(s.wsUrl, key);
    const sub = collect(client, CIRCUIT_SUB, {});
    await sub.until(() => sub.error !== undefined || sub.results.length > 0);
    const errors = (sub.error ?? sub.results[0]?.errors) as Array<{ extensions?: { code?: string } }>;
    expect(errors[0]!.extensions?.code).toBe("FORBIDDEN");
    await client.dispose();
  });
});

describe("call stats, the service graph and call metrics", () => {
  it("computes CallStats and edges from the reported calls of the stats window", async () => {
    const t = await seedTenant(s);
    await fleet(t.key, "stats-svc", ["x", "y"]);
    await registerOk(s, t.key, { service: "web", instanceId: "web-1" });
    const calls: Array<[string, number, boolean, string | null]> = [
      ["x", 10, true, "web"],
      ["x", 20, true, "web"],
      ["x", 30, false, "web"],
      ["x", 40, true, "web"],
      ["x", 5, true, null],
      ["y", 100, true, "web"],
      ["y", 200, false, "web"],
      ["y", 50, true, "batch"],
    ];
    for (const [instanceId, durationMs, success, caller] of calls) await reportOk(s, t.key, { instanceId, durationMs, success, caller });
    // a call older than the window (900 s) counts nowhere
    await s.app.db.query(
      `INSERT INTO service_calls (tenant_id, service_id, instance, caller, duration_ms, success, at)
       SELECT tenant_id, service_id, id, 'web', 9999, false, now() - interval '901 seconds' FROM service_instances WHERE tenant_id = $1 AND instance_id = 'x'`,
      [t.id],
    );
    const svc = await serviceOk(s, t.key, "stats-svc");
    // percentile_cont: linear interpolation between the nearest ranks
    expect(svc.stats.calls).toBe(8);
    expect(svc.stats.errorRate).toBeCloseTo(2 / 8, 12);
    expect(svc.stats.p50Ms).toBeCloseTo(35, 9); // [5 10 20 30 | 40 50 100 200]
    expect(svc.stats.p95Ms).toBeCloseTo(165, 9); // 100 + 0.65 · 100
    expect(svc.stats.p99Ms).toBeCloseTo(193, 9); // 100 + 0.93 · 100
    const [x, y] = svc.instances;
    expect(x.stats.calls).toBe(5);
    expect(x.stats.errorRate).toBeCloseTo(0.2, 12);
    expect(x.stats.p50Ms).toBeCloseTo(20, 9);
    expect(x.stats.p95Ms).toBeCloseTo(38, 9); // 30 + 0.8 · 10
    expect(x.stats.p99Ms).toBeCloseTo(39.6, 9);
    expect(y.stats.calls).toBe(3);
    expect(y.stats.errorRate).toBeCloseTo(1 / 3, 12);
    expect(y.stats.p50Ms).toBeCloseTo(100, 9);
    expect(y.stats.p95Ms).toBeCloseTo(190, 9);
    const web = await serviceOk(s, t.key, "web");
    expect(web.stats).toEqual({ calls: 0, errorRate: 0, p50Ms: null, p95Ms: null, p99Ms: null });

    const { serviceGraph } = await gqlOk(s.url, t.key, GRAPH);
    expect(serviceGraph.nodes).toEqual([{ name: "stats-svc" }, { name: "web" }]);
    expect(serviceGraph.edges).toHaveLength(2);
    const [batchEdge, webEdge] = serviceGraph.edges;
    expect(batchEdge).toEqual({ from: "batch", to: "stats-svc", calls: 1, errorRate: 0, p95Ms: 50 });
    expect(webEdge).toMatchObject({ from: "web", to: "stats-svc", calls: 6 });
    expect(webEdge.errorRate).toBeCloseTo(1 / 3, 12);
    expect(webEdge.p95Ms).toBeCloseTo(175, 9); // [10 20 30 40 100 200]: 100 + 0.75 · 100

    // another tenant sees none of it
    const other = await seedTenant(s);
    expect((await gqlOk(s.url, other.key, GRAPH)).serviceGraph).toEqual({ nodes: [], edges: [] });
  });

  it("writes calls as metric series on flush: cumulative counters per process, duration quantiles per interval", async () => {
    const t = await seedTenant(s);
    await fleet(t.key, "metered", ["m1"]);
    for (const [durationMs, success] of [[10, true], [20, true], [30, false]] as const) {
      await reportOk(s, t.key, { instanceId: "m1", durationMs, success, caller: "web" });
    }
    await s.app.jobs.registryFlushMetrics();
    await reportOk(s, t.key, { instanceId: "m1", durationMs: 40, success: true, caller: "web" });
    await sleep(5); // the second flush gets a later timestamp
    await s.app.jobs.registryFlushMetrics();
    const SERIES = `query($name: String!) { series(selector: { name: $name }) { nodes { type labels samples { value } } } }`;
    const counters = (await gqlOk(s.url, t.key, SERIES, { name: "vigil_service_calls_total" })).series.nodes;
    const byOutcome = Object.fromEntries(counters.map((c: { labels: Record<string, string>; samples: Array<{ value: number }> }) => [c.labels.outcome, c]));
    expect(byOutcome.success.type).toBe("COUNTER");
    expect(byOutcome.success.labels).toEqual({ service: "metered", instance: "m1", caller: "web", outcome: "success", process: expect.stringMatching(/^.+:\d+$/) });
    expect(byOutcome.success.samples.map((x: { value: number }) => x.value)).toEqual([2, 3]);
    expect(byOutcome.error.samples.map((x: { value: number }) => x.value)).toEqual([1]);
    const quantiles = (await gqlOk(s.url, t.key, SERIES, { name: "vigil_service_call_duration_ms" })).series.nodes;
    const byQuantile = Object.fromEntries(quantiles.map((q: { labels: Record<string, string>; samples: Array<{ value: number }> }) => [q.labels.quantile, q.samples.map((x) => x.value)]));
    // nearest rank over each interval's calls: [10 20 30], then [40]
    expect(byQuantile).toEqual({ "0.5": [20, 40], "0.95": [30, 40], "0.99": [30, 40] });
  });

  it("prunes reported calls older than REGISTRY_CALL_HISTORY_SECONDS", async () => {
    const t = await seedTenant(s);
    await fleet(t.key, "old", ["o1"]);
    await reportOk(s, t.key, { instanceId: "o1", durationMs: 1, success: true });
    await s.app.jobs.registryPrune(Date.now() + 3_599_000);
    const count = async () => (await s.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM service_calls WHERE tenant_id = $1`, [t.id]))[0]!.n;
    expect(await count()).toBe(1);
    expect(await s.app.jobs.registryPrune(Date.now() + 3_601_000)).toBeGreaterThanOrEqual(1);
    expect(await count()).toBe(0);
  });

  it("rejects bad call reports, naming the field", async () => {
    const t = await seedTenant(s);
    await fleet(t.key, "rep", ["r1"]);
    const REPORT = `mutation($input: CallReportInput!) { reportCall(input: $input) { id } }`;
    for (const [input, field] of [
      [{ durationMs: -1 }, "input.durationMs"],
      [{ durationMs: 86_400_001 }, "input.durationMs"],
      [{ statusCode: 99 }, "input.statusCode"],
      [{ statusCode: 600 }, "input.statusCode"],
      [{ caller: "not a name" }, "input.caller"],
      [{ instanceId: "" }, "input.instanceId"],
    ] as const) {
      const r = await gql(s.url, t.key, REPORT, { input: Object.assign({ instanceId: "r1", durationMs: 1, success: true }, input) });
      expect(expectError(r, "BAD_USER_INPUT", field).extensions?.field).toBe(field);
    }
    expect((await s.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM service_calls WHERE tenant_id = $1`, [t.id]))[0]!.n).toBe(0);
    expectError(await gql(s.url, t.key, PICK, { service: "rep", hashKey: "k".repeat(1025) }), "BAD_USER_INPUT", "hashKey");
  });
});
