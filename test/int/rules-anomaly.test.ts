import { ANOMALIES, calmSeries, createMonitorOk } from "../builders/anomaly.builder";
import { ingestOk } from "../builders/metrics.builder";
import { alertsOk, createRule, createRuleOk } from "../builders/rules.builder";
import { seedTenant } from "../builders/tenant.builder";
import { expectError, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.stop();
});

describe("ANOMALY conditions", () => {
  it("fire on the anomaly scores of monitored series: a spike scored by a monitor raises the rule's alert, a calm series does not", async () => {
    const t = await seedTenant(s);
    const other = await seedTenant(s);
    await createMonitorOk(s, t.key, { name: "spikes", direction: "UP" });
    await createMonitorOk(s, other.key, { name: "spikes", direction: "UP" });
    const input = {
      name: "CpuAnomaly",
      severity: "WARNING",
      intervalSeconds: 10,
      conditions: [{ kind: "ANOMALY", selector: { name: "cpu_usage" }, windowSeconds: 300, operator: "GTE", threshold: 0.5 }],
      annotations: { summary: "anomaly score {{ $value | printf \"%.2f\" }} on {{ $labels.host }}" },
    };
    const rule = await createRuleOk(s, t.key, input);
    const calm = await createRuleOk(s, other.key, input);
    // 400 calm points every 10 s ending about a minute ago, then a spike
    const start = Date.now() - 401 * 10_000 - 30_000;
    const points = calmSeries(401, { start, spikes: { 400: 400 } });
    await ingestOk(s, t.key, points.slice(0, 200));
    await ingestOk(s, t.key, points.slice(200));
    await ingestOk(s, other.key, calmSeries(401, { start }));

    // scoring runs after ingest commits: wait for the spike's anomaly
    const deadline = Date.now() + 10_000;
    let stored: Array<{ score: number }> = [];
    while (stored.length === 0 && Date.now() < deadline) {
      stored = (await gqlOk(s.url, t.key, ANOMALIES, {})).anomalies.nodes;
      if (stored.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(stored).toHaveLength(1);

    await s.app.jobs.evaluateRules(Date.parse(rule.nextEvaluationAt), t.id);
    const [alert] = (await alertsOk(s, t.key)).nodes;
    expect(alert).toMatchObject({ state: "FIRING", labels: { alertname: "CpuAnomaly", host: "a", severity: "warning" } });
    expect(alert.value).toBeCloseTo(stored[0]!.score, 10);
    expect(alert.annotations.summary).toBe(`anomaly score ${stored[0]!.score.toFixed(2)} on a`);

    await s.app.jobs.evaluateRules(Date.parse(calm.nextEvaluationAt), other.id);
    expect((await alertsOk(s, other.key)).totalCount).toBe(0);
  });

  it("a threshold outside [0, 1] is refused, naming the field, and nothing is written", async () => {
    const t = await seedTenant(s);
    const r = await createRule(s, t.key, {
      name: "Bad",
      severity: "INFO",
      conditions: [{ kind: "ANOMALY", selector: { name: "cpu_usage" }, operator: "GTE", threshold: 1.5 }],
    });
    expectError(r, "BAD_USER_INPUT", /^input\.conditions\[0\]\.threshold: /);
    expect((await gqlOk(s.url, t.key, `query { rules { totalCount } }`)).rules.totalCount).toBe(0);
  });
});
