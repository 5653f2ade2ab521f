import {
  ANOMALIES,
  ANOMALY_SUB,
  CREATE_MONITOR,
  DELETE_MONITOR,
  LIST_MONITORS,
  SCORES,
  UPDATE_MONITOR,
  calmSeries,
  createMonitor,
  createMonitorOk,
  makeMonitorInput,
} from "../builders/anomaly.builder";
import { hourAgo, ingestOk, rowsOf } from "../builders/metrics.builder";
import { seedTenant } from "../builders/tenant.builder";
import { expectError, gql, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";
import { activeSubscriptions, collect, sleep, waitForSubscriptions, wsClient } from "../support/ws";

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ ROLLUP_INTERVAL_MS: "600000" });
});
afterAll(async () => {
  await s?.stop();
});

/** Waits until the engine has scored everything ingested so far (and checkpointed it). */
const scored = () => s.app.jobs.anomalyCheckpoint();

describe("anomaly monitors", () => {
  it("creates with defaults, lists, updates and deletes, each with an audit entry", async () => {
    const t = await seedTenant(s);
    const created = await createMonitorOk(s, t.key, { selector: { name: "cpu_*", matchers: [{ label: "env", value: "prod" }] } });
    expect(created).toMatchObject({
      name: "cpu spikes",
      selector: { name: "cpu_*", matchers: [{ label: "env", op: "EQ", value: "prod" }] },
      algorithm: "AUTO",
      threshold: 0.5,
      direction: "BOTH",
      enabled: true,
    });
    expect((await gqlOk(s.url, t.key, LIST_MONITORS)).anomalyMonitors).toEqual([created]);

    const updated = (
      await gqlOk(s.url, t.key, UPDATE_MONITOR, { id: created.id, input: makeMonitorInput({ name: "renamed", algorithm: "MAD", threshold: 0.8, direction: "UP", enabled: false }) })
    ).updateAnomalyMonitor;
    expect(updated).toMatchObject({ id: created.id, name: "renamed", algorithm: "MAD", threshold: 0.8, direction: "UP", enabled: false, createdAt: created.createdAt });
    expect((await gqlOk(s.url, t.key, LIST_MONITORS)).anomalyMonitors).toEqual([updated]);

    expect((await gqlOk(s.url, t.key, DELETE_MONITOR, { id: created.id })).deleteAnomalyMonitor).toBe(true);
    expect((await gqlOk(s.url, t.key, LIST_MONITORS)).anomalyMonitors).toEqual([]);
    expectError(await gql(s.url, t.key, DELETE_MONITOR, { id: created.id }), "NOT_FOUND");

    const audit = await s.app.db.query<{ action: string; target_id: string }>(
      `SELECT action, target_id FROM audit_entries WHERE tenant_id = $1 AND action LIKE 'anomalyMonitor.%' ORDER BY id`,
      [t.id],
    );
    expect(audit).toEqual([
      { action: "anomalyMonitor.create", target_id: created.id },
      { action: "anomalyMonitor.update", target_id: created.id },
      { action: "anomalyMonitor.delete", target_id: created.id },
    ]);
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ["a threshold above 1", { threshold: 1.5 }, "input.threshold"],
    ["a negative threshold", { threshold: -0.1 }, "input.threshold"],
    ["an empty selector name", { selector: { name: "" } }, "input.selector.name"],
    ["a selector name with spaces", { selector: { name: "cpu usage" } }, "input.selector.name"],
    ["an invalid regex matcher", { selector: { name: "cpu", matchers: [{ label: "host", op: "REGEX", value: "(" }] } }, "input.selector.matchers[0].value"],
    ["an empty name", { name: "  " }, "input.name"],
  ];
  it.each(bad)("rejects %s naming the field, and writes nothing", async (_what, overrides, field) => {
    const t = await seedTenant(s);
    const r = await createMonitor(s, t.key, overrides);
    expect(expectError(r, "BAD_USER_INPUT", field).extensions?.field).toBe(field);
    const ok = await createMonitorOk(s, t.key);
    const u = await gql(s.url, t.key, UPDATE_MONITOR, { id: ok.id, input: makeMonitorInput(overrides) });
    expect(expectError(u, "BAD_USER_INPUT", field).extensions?.field).toBe(field);
    expect((await gqlOk(s.url, t.key, LIST_MONITORS)).anomalyMonitors).toEqual([ok]);
    expect(await rowsOf(s, "anomaly_monitors", t.id)).toBe(1);
  });

  it("rejects an unknown algorithm before anything runs: as a variable the error names input.algorithm", async () => {
    const t = await seedTenant(s);
    const r = await createMonitor(s, t.key, { algorithm: "PROPHET" });
    expect(r.status).toBe(400);
    const err = expectError(r, "BAD_USER_INPUT");
    expect(err.message).toContain(`at "input.algorithm"`);
    expect(err.message).toContain(`Value "PROPHET" does not exist in "AnomalyAlgorithm" enum`);
    // written inline, graphql-js's validation names the enum and points at the literal
    const inline = await gql(s.url, t.key, `mutation { createAnomalyMonitor(input: { name: "x", selector: { name: "cpu" }, algorithm: PROPHET }) { id } }`);
    expect(inline.status).toBe(400);
    expectError(inline, "GRAPHQL_VALIDATION_FAILED", `Value "PROPHET" does not exist in "AnomalyAlgorithm" enum`);
    expect(await rowsOf(s, "anomaly_monitors", t.id)).toBe(0);
  });

  it("keeps tenants apart: another tenant cannot see, change or delete a monitor, nor read its anomalies or scores", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const m = await createMonitorOk(s, a.key);
    await ingestOk(s, a.key, calmSeries(50));
    await scored();
    expect((await gqlOk(s.url, b.key, LIST_MONITORS)).anomalyMonitors).toEqual([]);
    expectError(await gql(s.url, b.key, UPDATE_MONITOR, { id: m.id, input: makeMonitorInput() }), "NOT_FOUND");
    expectError(await gql(s.url, b.key, DELETE_MONITOR, { id: m.id }), "NOT_FOUND");
    expect((await gqlOk(s.url, b.key, ANOMALIES, { monitorId: m.id })).anomalies.nodes).toEqual([]);
    const range = { from: new Date(hourAgo(4)).toISOString(), to: new Date().toISOString() };
    expect((await gqlOk(s.url, b.key, SCORES, { selector: { name: "cpu_usage" }, ...range })).anomalyScores).toEqual([]);
    expect((await gqlOk(s.url, a.key, SCORES, { selector: { name: "cpu_usage" }, ...range })).anomalyScores).toHaveLength(50);
    expect((await gqlOk(s.url, a.key, LIST_MONITORS)).anomalyMonitors).toEqual([m]);
  });

  it("answers FORBIDDEN to a key without the operation's scope, and to a platform admin key", async () => {
    const t = await seedTenant(s);
    const m = await createMonitorOk(s, t.key);
    const range = { from: new Date(hourAgo(4)).toISOString(), to: new Date().toISOString() };
    const ops: Array<[string, string, Record<string, unknown>, string[]]> = [
      ["anomalyMonitors", LIST_MONITORS, {}, ["RULES_READ"]],
      ["createAnomalyMonitor", CREATE_MONITOR, { input: makeMonitorInput() }, ["RULES_WRITE"]],
      ["updateAnomalyMonitor", UPDATE_MONITOR, { id: m.id, input: makeMonitorInput() }, ["RULES_WRITE"]],
      ["deleteAnomalyMonitor", DELETE_MONITOR, { id: m.id }, ["RULES_DELETE"]],
      ["anomalies", ANOMALIES, {}, ["ALERTS_READ"]],
      ["anomalyScores", SCORES, { selector: { name: "cpu_usage" }, ...range }, ["METRICS_READ"]],
    ];
    // every scope but the one needed
    const all = ["TENANT_ADMIN", "METRICS_READ", "METRICS_WRITE", "RULES_READ", "RULES_WRITE", "RULES_DELETE", "ALERTS_READ", "ALERTS_WRITE", "REGISTRY_READ", "REGISTRY_WRITE"];
    for (const [name, query, vars, needed] of ops) {
      const { key } = await t.keyWith(all.filter((x) => !needed.includes(x)));
      expectError(await gql(s.url, key, query, vars), "FORBIDDEN");
      expectError(await gql(s.url, s.adminKey, query, vars), "FORBIDDEN");
      const { key: enough } = await t.keyWith(needed);
      const r = await gql(s.url, enough, query, vars);
      expect([name, r.errors]).toEqual([name, undefined]);
    }
    const { key } = await t.keyWith(all.filter((x) => x !== "ALERTS_READ"));
    const { client } = wsClient(s.wsUrl, key);
    const sub = collect(client, ANOMALY_SUB, {});
    await sub.until(() => sub.error !== undefined || sub.results.length > 0);
    expect(JSON.stringify(sub.results.length ? sub.results : sub.error)).toContain("FORBIDDEN");
    await client.dispose();
  });
});

describe("anomaly detection", () => {
  it("stores a spike as an anomaly and pushes it to the tenant's graphql-ws subscribers only", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const m = await createMonitorOk(s, a.key, { name: "spikes", direction: "UP" });
    await createMonitorOk(s, b.key, { name: "spikes" });
    const base = await activeSubscriptions(s.baseUrl);
    const { client } = wsClient(s.wsUrl, a.key);
    const sub = collect(client, ANOMALY_SUB, { monitorId: m.id });
    const { client: bClient } = wsClient(s.wsUrl, b.key);
    const bSub = collect(bClient, ANOMALY_SUB, {});
    await waitForSubscriptions(s.baseUrl, base + 2);

    const points = calmSeries(401, { spikes: { 400: 400 } });
    // the calm part in batches, then the spike alone
    await ingestOk(s, a.key, points.slice(0, 150));
    await ingestOk(s, a.key, points.slice(150, 400));
    await ingestOk(s, a.key, points.slice(400));
    // B ingests the same calm series without a spike
    await ingestOk(s, b.key, calmSeries(400));

    await sub.until(() => sub.results.length >= 1, 10_000);
    const event = sub.results[0]!.data.anomalyDetected;
    expect(event).toMatchObject({
      timestamp: new Date(points[400]!.timestamp as number).toISOString(),
      value: 400,
      direction: "UP",
      monitor: { id: m.id, name: "spikes" },
      series: { name: "cpu_usage", labels: { host: "a" } },
    });
    expect(event.score).toBeGreaterThanOrEqual(0.5);
    expect(event.score).toBeLessThanOrEqual(1);
    expect(event.expected).toBeGreaterThan(40);
    expect(event.expected).toBeLessThan(60);

    await scored();
    const stored = (await gqlOk(s.url, a.key, ANOMALIES, { monitorId: m.id })).anomalies;
    expect(stored.nodes).toEqual([event]);
    // the calm part raised nothing, and the minute of the spike holds its score
    const [minute] = await s.app.db.query<{ max_up: number }>(
      `SELECT max_up FROM anomaly_score_minutes WHERE tenant_id = $1 AND minute = $2`,
      [a.id, (points[400]!.timestamp as number) - ((points[400]!.timestamp as number) % 60_000)],
    );
    expect(minute!.max_up).toBeCloseTo(event.score, 10);
    expect((await gqlOk(s.url, b.key, ANOMALIES, {})).anomalies.nodes).toEqual([]);
    await sleep(200);
    expect(bSub.results).toEqual([]);
    // minScore above the spike's score filters it out; pages of one
    expect((await gqlOk(s.url, a.key, ANOMALIES, { minScore: Math.min(1, event.score + 1e-9) })).anomalies.nodes).toEqual(
      event.score === 1 ? [event] : [],
    );
    await client.dispose();
    await bClient.dispose();
  });

  it("scores a stored series with anomalyScores: one series only, warmed on the samples before `from`", async () => {
    const t = await seedTenant(s);
    const points = calmSeries(400, { spikes: { 350: 400 } });
    await ingestOk(s, t.key, points);
    await ingestOk(s, t.key, calmSeries(10, { labels: { host: "b" } }));
    const from = new Date(points[300]!.timestamp as number).toISOString();
    const to = new Date(points[399]!.timestamp as number).toISOString();
    const r = (await gqlOk(s.url, t.key, SCORES, { selector: { name: "cpu_usage", matchers: [{ label: "host", value: "a" }] }, from, to })).anomalyScores;
    expect(r).toHaveLength(100);
    expect(r[0]).toMatchObject({ timestamp: from, value: points[300]!.value });
    // warmed: the first points of the range already have an expected value
    expect(r[0].expected).not.toBeNull();
    const best = r.reduce((x: { score: number }, y: { score: number }) => (y.score > x.score ? y : x));
    expect(best).toMatchObject({ timestamp: new Date(points[350]!.timestamp as number).toISOString(), value: 400 });
    expect(best.score).toBeGreaterThanOrEqual(0.5);
    expect(r.filter((x: { score: number }) => x.score >= 0.5).length).toBeLessThanOrEqual(3);
    for (const alg of ["ZSCORE", "MAD", "EWMA", "SEASONAL"]) {
      const scoredBy = (await gqlOk(s.url, t.key, SCORES, { selector: { name: "cpu_usage", matchers: [{ label: "host", value: "a" }] }, from, to, algorithm: alg })).anomalyScores;
      expect([alg, scoredBy.length]).toEqual([alg, 100]);
    }

    const many = await gql(s.url, t.key, SCORES, { selector: { name: "cpu_usage" }, from, to });
    expect(expectError(many, "BAD_USER_INPUT", "matches 2 series").extensions?.field).toBe("selector");
    const backwards = await gql(s.url, t.key, SCORES, { selector: { name: "cpu_usage", matchers: [{ label: "host", value: "a" }] }, from: to, to: from });
    expect(expectError(backwards, "BAD_USER_INPUT").extensions?.field).toBe("to");
    expect((await gqlOk(s.url, t.key, SCORES, { selector: { name: "nothing_here" }, from, to })).anomalyScores).toEqual([]);
  });

  it("does not score points older than a series' last scored point", async () => {
    const t = await seedTenant(s);
    const m = await createMonitorOk(s, t.key);
    const points = calmSeries(300);
    await ingestOk(s, t.key, points);
    // a late spike, in the past of the series
    await ingestOk(s, t.key, [{ ...points[10]!, timestamp: (points[10]!.timestamp as number) + 1, value: 9_999 }]);
    await scored();
    expect((await gqlOk(s.url, t.key, ANOMALIES, { monitorId: m.id })).anomalies.nodes).toEqual([]);
  });
});

describe("deleting", () => {
  it("deleteTenant removes the tenant's monitors, anomalies, checkpoints and minute scores", async () => {
    const t = await seedTenant(s);
    await createMonitorOk(s, t.key);
    await ingestOk(s, t.key, calmSeries(401, { spikes: { 400: 400 } }));
    await scored();
    expect(await rowsOf(s, "anomalies", t.id)).toBe(1);
    await gqlOk(s.url, s.adminKey, `mutation($id: ID!) { deleteTenant(id: $id) }`, { id: t.id });
    for (const table of ["anomaly_monitors", "anomalies", "anomaly_checkpoints", "anomaly_score_minutes"]) expect([table, await rowsOf(s, table, t.id)]).toEqual([table, 0]);
  });

  it("deleting a monitor deletes its anomalies and, when no monitor of its algorithm is left, its detectors", async () => {
    const t = await seedTenant(s);
    const m = await createMonitorOk(s, t.key);
    await ingestOk(s, t.key, calmSeries(401, { spikes: { 400: 400 } }));
    await scored();
    expect(await rowsOf(s, "anomalies", t.id)).toBe(1);
    await gqlOk(s.url, t.key, DELETE_MONITOR, { id: m.id });
    for (const table of ["anomalies", "anomaly_checkpoints", "anomaly_score_minutes"]) expect([table, await rowsOf(s, table, t.id)]).toEqual([table, 0]);
  });
});
