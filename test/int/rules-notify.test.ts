import { createChannelOk } from "../builders/notify.builder";
import { ingestOk } from "../builders/metrics.builder";
import { CREATE_SILENCE, RULE, alertsOk, createRuleOk, ruleInput } from "../builders/rules.builder";
import { seedTenant, type SeededTenant } from "../builders/tenant.builder";
import { gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";
import { type WebhookReceiver, startWebhookReceiver } from "../support/webhook-receiver";

// Alert transitions made by the evaluator reach channels through the outbox: firing, resolved with
// the value at resolution, nothing for a silenced alert, nothing below the channel's severity.
let s: TestServer;
let hook: WebhookReceiver;
beforeAll(async () => {
  s = await startServer();
  hook = await startWebhookReceiver();
});
afterAll(async () => {
  await s?.stop();
  await hook?.close();
});

const SEC = 1_000;
const DELIVERIES_OF_ALERTS = `query { deliveries { nodes { reason status alert { id state value } channel { id } } } }`;

async function cpu(t: SeededTenant, slot: number, values: number[], host: string) {
  await ingestOk(
    s,
    t.key,
    values.map((value, k) => ({ name: "cpu", value, timestamp: new Date(slot - 55 * SEC + 10 * SEC * k).toISOString(), labels: { host } })),
  );
}

async function bodiesFor(tenant: string, n: number, tenantId: string) {
  const mine = () => hook.requests.filter((r) => JSON.parse(r.body).commonLabels?.tenant === tenant);
  const deadline = Date.now() + 10_000;
  while (mine().length < n && Date.now() < deadline) {
    await s.app.jobs.deliverNotifications(undefined, tenantId);
    await new Promise((r) => setTimeout(r, 50));
  }
  return mine().map((r) => JSON.parse(r.body));
}

describe("alert notifications", () => {
  it("sends FIRING, then RESOLVED with the value at resolution, in Alertmanager's webhook format; a silenced alert sends nothing", async () => {
    const t = await seedTenant(s);
    const channel = await createChannelOk(s, t.key, { name: "ops", kind: "WEBHOOK", url: hook.url, sendResolved: true });
    const rule = await createRuleOk(s, t.key, ruleInput({ channelIds: [channel.id], labels: { tenant: t.slug } }));
    expect((await gqlOk(s.url, t.key, `query($id: ID!) { rule(id: $id) { channels { id name } } }`, { id: rule.id })).rule.channels).toEqual([
      { id: channel.id, name: "ops" },
    ]);
    const slot = Date.parse(rule.nextEvaluationAt);
    // host a: 95 for a minute then 40; host b: silenced
    await cpu(t, slot, [95, 95, 95, 95, 95, 95, 40, 40, 40, 40, 40, 40], "a");
    await cpu(t, slot, [95, 95, 95, 95, 95, 95, 95, 95, 95, 95, 95, 95], "b");
    // The slot can fall moments after the rule's creation, before a silence starting "now" would.
    const startsAt = new Date(slot - 60 * SEC).toISOString();
    await gqlOk(s.url, t.key, CREATE_SILENCE, { input: { matchers: [{ label: "host", value: "b" }], startsAt, endsAt: new Date(Date.now() + 3_600_000).toISOString() } });

    await s.app.jobs.evaluateRules(slot, t.id);
    const [firing] = await bodiesFor(t.slug, 1, t.id);
    expect(firing).toMatchObject({
      version: "4",
      status: "firing",
      receiver: "ops",
      alerts: [{ status: "firing", labels: { alertname: "HighCpu", host: "a", severity: "critical" }, annotations: { summary: "cpu at 95 on a" } }],
    });
    // (slot + 5 s, slot + 65 s]: five samples of 40
    await s.app.jobs.evaluateRules(slot + 60 * SEC, t.id);
    const bodies = await bodiesFor(t.slug, 2, t.id);
    expect(bodies).toHaveLength(2);
    const value = 40;
    expect(bodies[1]).toMatchObject({
      status: "resolved",
      alerts: [{ status: "resolved", labels: { host: "a" }, annotations: { summary: `cpu at ${value} on a` }, endsAt: new Date(slot + 60 * SEC).toISOString() }],
    });
    // b fires (silenced): stored and visible, never delivered
    const states = Object.fromEntries((await alertsOk(s, t.key)).nodes.map((a: { labels: { host: string }; state: string; silenced: boolean }) => [a.labels.host, [a.state, a.silenced]]));
    expect(states).toEqual({ a: ["RESOLVED", false], b: ["FIRING", true] });
    await s.app.jobs.repeatNotifications(Date.now() + 3 * 3_600_000, t.id);
    const deliveries = (await gqlOk(s.url, t.key, DELIVERIES_OF_ALERTS)).deliveries.nodes;
    expect(deliveries.map((d: { reason: string; alert: { state: string } }) => [d.reason, d.alert.state]).sort()).toEqual([
      ["FIRING", "RESOLVED"],
      ["RESOLVED", "RESOLVED"],
    ]);
  });

  it("routes only to the rule's channels and at or above each channel's minSeverity", async () => {
    const t = await seedTenant(s);
    const critical = await createChannelOk(s, t.key, { name: "pager", kind: "WEBHOOK", url: hook.url, minSeverity: "CRITICAL" });
    const unrouted = await createChannelOk(s, t.key, { name: "unrouted", kind: "WEBHOOK", url: hook.url });
    const warn = await createRuleOk(s, t.key, ruleInput({ name: "Warn", severity: "WARNING", channelIds: [critical.id], labels: { tenant: t.slug } }));
    const crit = await createRuleOk(s, t.key, ruleInput({ name: "Crit", severity: "CRITICAL", channelIds: [critical.id], labels: { tenant: t.slug } }));
    const slot = Math.max(Date.parse(warn.nextEvaluationAt), Date.parse(crit.nextEvaluationAt));
    await cpu(t, slot, [99, 99, 99, 99, 99, 99], "a");
    await s.app.jobs.evaluateRules(slot, t.id);
    const bodies = await bodiesFor(t.slug, 1, t.id);
    expect(bodies.map((b) => b.commonLabels.alertname)).toEqual(["Crit"]);
    const rows = await s.app.db.query<{ channel_id: string }>(`SELECT channel_id::text FROM notification_deliveries WHERE tenant_id = $1`, [t.id]);
    expect(rows.map((r) => r.channel_id)).toEqual([critical.id]);
    expect(rows.map((r) => r.channel_id)).not.toContain(unrouted.id);
    expect((await gqlOk(s.url, t.key, RULE, { id: warn.id })).rule.alerts).toEqual([expect.objectContaining({ state: "FIRING" })]);
  });
});
