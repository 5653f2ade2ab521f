import { seedTenant } from "../builders/tenant.builder";
import { TEST_CHANNEL, createChannelOk, enqueue, noticeOf, seedFiringAlert, waitForDeliveries } from "../builders/notify.builder";
import { type RunningAlertmanager, startAlertmanager } from "../support/alertmanager";
import { gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";

/** ALERTMANAGER channels against a real Alertmanager 0.25, checked through its own API. */

let s: TestServer;
let am: RunningAlertmanager;
beforeAll(async () => {
  am = await startAlertmanager();
  s = await startServer({ NOTIFY_INTERVAL_MS: "100" });
});
afterAll(async () => {
  await s?.stop();
  await am?.stop();
});

it("raises the alert in Alertmanager when it fires and resolves it there when it resolves", async () => {
  const t = await seedTenant(s);
  const c = await createChannelOk(s, t.key, { name: "am", kind: "ALERTMANAGER", url: `${am.url}/` });
  // a label name Alertmanager would refuse ("team-name") arrives as team_name; an empty value is dropped
  const alert = await seedFiringAlert(s, t.id, { channelIds: [c.id], severity: "ERROR" });
  const labels = { alertname: alert.ruleName, service: "api", "team-name": "sre", empty: "" };
  const sentAt = Date.now();
  await enqueue(s, t.id, [noticeOf(alert, { severity: "ERROR", labels })]);
  const [fired] = await waitForDeliveries(s, t.key, c.id, (n) => n[0]?.status === "DELIVERED");
  expect(fired).toMatchObject({ reason: "FIRING", attempts: 1, responseCode: 200 });

  const active = await am.alerts(`alertname="${alert.ruleName}"`);
  expect(active).toHaveLength(1);
  expect(active[0]).toMatchObject({
    labels: { alertname: alert.ruleName, service: "api", team_name: "sre", severity: "error" },
    annotations: { summary: "p99 latency 97.5 ms" },
    startsAt: alert.firedAt.toISOString(),
    status: { state: "active" },
  });
  expect(active[0]!.labels).not.toHaveProperty("empty");
  expect(active[0]!.generatorURL).toBe(`${s.baseUrl}/graphql?rule=${alert.ruleId}&alert=${alert.alertId}`);
  // kept active for 4 repeat intervals (300 s by default) unless re-sent or resolved
  const endsAt = Date.parse(active[0]!.endsAt);
  expect(endsAt).toBeGreaterThanOrEqual(sentAt + 1_200_000 - 2_000);
  expect(endsAt).toBeLessThanOrEqual(Date.now() + 1_200_000 + 2_000);

  await enqueue(s, t.id, [noticeOf(alert, { severity: "ERROR", labels, state: "RESOLVED", endsAt: new Date(), value: 1 })]);
  await waitForDeliveries(s, t.key, c.id, (n) => n.length === 2 && n.every((d) => d.status === "DELIVERED"));
  // Alertmanager lists no resolved alerts
  expect(await am.alerts(`alertname="${alert.ruleName}"`)).toEqual([]);
});

it("testChannel raises a sample alert in Alertmanager", async () => {
  const t = await seedTenant(s);
  const c = await createChannelOk(s, t.key, { name: "am-test", kind: "ALERTMANAGER", url: am.url });
  const d = (await gqlOk(s.url, t.key, TEST_CHANNEL, { id: c.id })).testChannel;
  expect(d).toMatchObject({ reason: "TEST", status: "DELIVERED", attempts: 1, responseCode: 200 });
  const listed = await am.alerts(`channel="am-test"`);
  expect(listed).toHaveLength(1);
  expect(listed[0]).toMatchObject({ labels: { alertname: "VigilTestNotification", severity: "info" }, status: { state: "active" } });
});

it("records Alertmanager's refusal as FAILED with its message", async () => {
  const t = await seedTenant(s);
  const c = await createChannelOk(s, t.key, { name: "am-bad", kind: "ALERTMANAGER", url: am.url });
  const alert = await seedFiringAlert(s, t.id, { channelIds: [c.id] });
  // endsAt before startsAt: Alertmanager answers 400
  await enqueue(s, t.id, [noticeOf(alert, { state: "RESOLVED", endsAt: new Date(alert.firedAt.getTime() - 60_000) })]);
  const [d] = await waitForDeliveries(s, t.key, c.id, (n) => n[0]?.status === "FAILED");
  expect(d).toMatchObject({ attempts: 1, responseCode: 400, error: expect.stringMatching(/^HTTP 400: .*start time must be before end time/) });
});
