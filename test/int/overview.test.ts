import { ingestOk } from "../builders/metrics.builder";
import { registerOk } from "../builders/registry.builder";
import { createRuleOk, ruleInput } from "../builders/rules.builder";
import { seedTenant } from "../builders/tenant.builder";
import { expectError, gql, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.stop();
});

const OVERVIEW = `{ overview { firingAlerts { severity count } pendingAlerts series samplesLastHour anomaliesLastHour instances critical: instances(health: CRITICAL) } }`;
const USAGE = `query($id: ID!) { tenant(id: $id) { usage { series samples rules firingAlerts instances } } }`;

describe("overview and usage", () => {
  it("count the tenant's own series, samples, rules, alerts and instances, and nothing of another tenant's", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const critical = await createRuleOk(s, a.key, ruleInput({ name: "Crit" }));
    await createRuleOk(s, a.key, ruleInput({ name: "Pending", severity: "WARNING", forSeconds: 3_600 }));
    await createRuleOk(s, a.key, ruleInput({ name: "Quiet" }, { threshold: 1_000 }));
    const slot = Date.parse(critical.nextEvaluationAt) + 10_000;
    await ingestOk(s, a.key, [
      { name: "cpu", value: 99, timestamp: new Date(slot - 30_000).toISOString(), labels: { host: "a" } },
      { name: "cpu", value: 99, timestamp: new Date(slot - 20_000).toISOString(), labels: { host: "a" } },
      { name: "mem", value: 1, timestamp: new Date(slot - 20_000).toISOString() },
    ]);
    await registerOk(s, a.key, { service: "api", instanceId: "api-1" });
    await s.app.jobs.evaluateRules(slot, a.id);
    await s.app.jobs.rollup();

    const o = (await gqlOk(s.url, a.key, OVERVIEW)).overview;
    expect(o).toEqual({
      firingAlerts: [
        { severity: "CRITICAL", count: 1 },
        { severity: "ERROR", count: 0 },
        { severity: "WARNING", count: 0 },
        { severity: "INFO", count: 0 },
      ],
      pendingAlerts: 1,
      series: 2,
      samplesLastHour: 3,
      anomaliesLastHour: 0,
      instances: 1,
      critical: 0,
    });
    const usage = (await gqlOk(s.url, a.key, USAGE, { id: a.id })).tenant.usage;
    expect(usage).toEqual({ series: 2, samples: 3, rules: 3, firingAlerts: 1, instances: 1 });
    // the platform admin reads any tenant's usage
    expect((await gqlOk(s.url, s.adminKey, USAGE, { id: a.id })).tenant.usage).toEqual(usage);

    expect((await gqlOk(s.url, b.key, OVERVIEW)).overview).toMatchObject({ pendingAlerts: 0, series: 0, samplesLastHour: 0, instances: 0 });
    expect((await gqlOk(s.url, b.key, USAGE, { id: b.id })).tenant.usage).toEqual({ series: 0, samples: 0, rules: 0, firingAlerts: 0, instances: 0 });
    // another tenant's id names nothing for B
    expect((await gqlOk(s.url, b.key, USAGE, { id: a.id })).tenant).toBeNull();
  });

  it("overview belongs to one tenant: a platform admin key gets FORBIDDEN", async () => {
    expectError(await gql(s.url, s.adminKey, OVERVIEW), "FORBIDDEN");
  });
});
