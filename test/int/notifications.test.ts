import { createHmac } from "node:crypto";
import { type AddressInfo, createServer } from "node:net";
import { seedTenant } from "../builders/tenant.builder";
import {
  CHANNELS,
  DELETE_CHANNEL,
  DELIVERIES,
  TEST_CHANNEL,
  UPDATE_CHANNEL,
  createChannel,
  createChannelOk,
  deliveriesOk,
  enqueue,
  noticeOf,
  outboxRows,
  seedFiringAlert,
  waitForDeliveries,
} from "../builders/notify.builder";
import { expectError, gql, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";
import { type WebhookReceiver, startWebhookReceiver } from "../support/webhook-receiver";

let s: TestServer;
let hook: WebhookReceiver;
beforeAll(async () => {
  // a quick worker and short backoff, so retries happen within a test
  s = await startServer({ NOTIFY_INTERVAL_MS: "100", NOTIFY_RETRY_BASE_MS: "50", NOTIFY_RETRY_MAX_MS: "200", NOTIFY_TIMEOUT_MS: "3000" });
  hook = await startWebhookReceiver();
});
afterAll(async () => {
  await s?.stop();
  await hook?.close();
});
beforeEach(() => {
  hook.requests.length = 0;
  hook.script([]);
});

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const SECRET = "s3cr3t-signing-key-0123456789";

function verifySignature(body: string, header: unknown, secret: string): boolean {
  return header === `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** A loopback port nothing listens on: connections are refused. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function channelCount(tenantId: string): Promise<number> {
  const [{ n }] = await s.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM notification_channels WHERE tenant_id = $1`, [tenantId]);
  return n;
}

describe("channels", () => {
  it("creates with defaults, never returns or audits the secret, keeps it on update unless cleared, and deletes", async () => {
    const t = await seedTenant(s);
    const created = await createChannelOk(s, t.key, { name: "pager", url: "https://hooks.example.com/vigil?team=sre", secret: SECRET });
    expect(created).toEqual({
      id: expect.any(String),
      name: "pager",
      kind: "WEBHOOK",
      url: "https://hooks.example.com/vigil?team=sre",
      hasSecret: true,
      minSeverity: "INFO",
      sendResolved: true,
      repeatIntervalSeconds: 14_400,
      enabled: true,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    const am = await createChannelOk(s, t.key, { name: "am", kind: "ALERTMANAGER", url: "http://alertmanager:9093" });
    expect(am).toMatchObject({ hasSecret: false, repeatIntervalSeconds: 300 });
    expect((await gqlOk(s.url, t.key, CHANNELS)).channels.map((c: { name: string }) => c.name)).toEqual(["am", "pager"]);

    // omitted optional fields and the secret keep their values
    const renamed = (await gqlOk(s.url, t.key, UPDATE_CHANNEL, { id: created.id, input: { name: "pager-2", kind: "WEBHOOK", url: created.url, minSeverity: "ERROR" } })).updateChannel;
    expect(renamed).toMatchObject({ name: "pager-2", hasSecret: true, minSeverity: "ERROR", sendResolved: true, repeatIntervalSeconds: 14_400 });
    const [{ secret }] = await s.app.db.query<{ secret: string }>(`SELECT secret FROM notification_channels WHERE id = $1`, [created.id]);
    expect(secret).toBe(SECRET);
    // "" clears it
    const cleared = (await gqlOk(s.url, t.key, UPDATE_CHANNEL, { id: created.id, input: { name: "pager-2", kind: "WEBHOOK", url: created.url, secret: "" } })).updateChannel;
    expect(cleared.hasSecret).toBe(false);

    const audit = (await gqlOk(s.url, t.key, `{ auditLog(first: 20) { nodes { action targetId details } } }`)).auditLog.nodes.filter((e: { action: string }) =>
      e.action.startsWith("channel."),
    );
    expect(audit.map((e: { action: string }) => e.action)).toEqual(["channel.update", "channel.update", "channel.create", "channel.create"]);
    expect(audit[3].details).toMatchObject({ name: "pager", kind: "WEBHOOK", host: "hooks.example.com", hasSecret: true });
    expect(audit[0].details).toMatchObject({ secret: "cleared", after: { hasSecret: false } });
    expect(JSON.stringify(audit)).not.toContain(SECRET);
    // the URL's path and query (a Slack URL's credential) stay out of the log
    expect(JSON.stringify(audit)).not.toContain("team=sre");

    expect((await gqlOk(s.url, t.key, DELETE_CHANNEL, { id: created.id })).deleteChannel).toBe(true);
    expectError(await gql(s.url, t.key, DELETE_CHANNEL, { id: created.id }), "NOT_FOUND");
    expect((await gqlOk(s.url, t.key, CHANNELS)).channels.map((c: { name: string }) => c.name)).toEqual(["am"]);
  });

  it("rejects invalid input naming the field, and writes nothing", async () => {
    const t = await seedTenant(s);
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ url: "ftp://files.example.com/hook" }, "input.url", /must use http or https, not ftp/],
      [{ url: "file:///etc/passwd" }, "input.url", /must use http or https/],
      [{ url: "not a url" }, "input.url", /absolute http/],
      [{ url: "https://user:pw@hooks.example.com/" }, "input.url", /credentials/],
      [{ url: `https://example.com/${"a".repeat(2048)}` }, "input.url", /at most 2048/],
      [{ name: "" }, "input.name", /1 to 100/],
      [{ name: "   " }, "input.name", /1 to 100/],
      [{ name: "n".repeat(101) }, "input.name", /1 to 100/],
      [{ repeatIntervalSeconds: 59 }, "input.repeatIntervalSeconds", /from 60 to 604800/],
      [{ repeatIntervalSeconds: 604_801 }, "input.repeatIntervalSeconds", /from 60 to 604800/],
      [{ kind: "SLACK", secret: "x" }, "input.secret", /only WEBHOOK/],
      [{ secret: "k".repeat(257) }, "input.secret", /at most 256/],
    ];
    for (const [input, field, message] of cases) {
      const err = expectError(await createChannel(s, t.key, input), "BAD_USER_INPUT", message);
      expect(err.extensions?.field).toBe(field);
    }
    // an unknown severity is refused by GraphQL's enum coercion
    expectError(await createChannel(s, t.key, { minSeverity: "LOUD" }), "BAD_USER_INPUT");
    expect(await channelCount(t.id)).toBe(0);

    // the same rules on update, leaving the channel as it was
    const c = await createChannelOk(s, t.key, { name: "ok" });
    const err = expectError(await gql(s.url, t.key, UPDATE_CHANNEL, { id: c.id, input: { name: "ok", kind: "WEBHOOK", url: "gopher://x" } }), "BAD_USER_INPUT");
    expect(err.extensions?.field).toBe("input.url");
    expect((await gqlOk(s.url, t.key, CHANNELS)).channels[0].url).toBe(c.url);
  });

  it("keeps tenants apart: another tenant's channel is NOT_FOUND for every operation", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const ca = await createChannelOk(s, a.key, { name: "a-hook", url: hook.url });
    await gqlOk(s.url, a.key, TEST_CHANNEL, { id: ca.id });
    const input = { name: "stolen", kind: "WEBHOOK", url: "http://127.0.0.1:9/x" };

    expect((await gqlOk(s.url, b.key, CHANNELS)).channels).toEqual([]);
    expect((await gqlOk(s.url, b.key, DELIVERIES, {})).deliveries.nodes).toEqual([]);
    expectError(await gql(s.url, b.key, DELIVERIES, { channelId: ca.id }), "NOT_FOUND");
    expectError(await gql(s.url, b.key, UPDATE_CHANNEL, { id: ca.id, input }), "NOT_FOUND");
    expectError(await gql(s.url, b.key, TEST_CHANNEL, { id: ca.id }), "NOT_FOUND");
    expectError(await gql(s.url, b.key, DELETE_CHANNEL, { id: ca.id }), "NOT_FOUND");
    expectError(await gql(s.url, b.key, DELETE_CHANNEL, { id: "not-a-uuid" }), "NOT_FOUND");

    const [row] = await s.app.db.query<{ name: string }>(`SELECT name FROM notification_channels WHERE id = $1`, [ca.id]);
    expect(row!.name).toBe("a-hook");
    expect(await deliveriesOk(s, a.key, ca.id)).toHaveLength(1);
  });

  it("needs RULES_READ to read, RULES_WRITE to create, update and test, RULES_DELETE to delete, and a tenant key", async () => {
    const t = await seedTenant(s);
    const c = await createChannelOk(s, t.key, { name: "scoped" });
    const input = { name: "x", kind: "WEBHOOK", url: "http://127.0.0.1:9/x" };
    // operation → [query, variables, the scope it needs]
    const ops: Array<[string, Record<string, unknown>, string]> = [
      [CHANNELS, {}, "RULES_READ"],
      [DELIVERIES, {}, "RULES_READ"],
      [`mutation($input: NotificationChannelInput!) { createChannel(input: $input) { id } }`, { input }, "RULES_WRITE"],
      [UPDATE_CHANNEL, { id: c.id, input }, "RULES_WRITE"],
      [TEST_CHANNEL, { id: c.id }, "RULES_WRITE"],
      [DELETE_CHANNEL, { id: c.id }, "RULES_DELETE"],
    ];
    const other = await t.keyWith(["METRICS_READ", "ALERTS_READ", "ALERTS_WRITE", "TENANT_ADMIN"]);
    for (const [query, vars, scope] of ops) {
      expectError(await gql(s.url, other.key, query, vars), "FORBIDDEN", scope);
      expectError(await gql(s.url, s.adminKey, query, vars), "FORBIDDEN");
    }
    const reader = await t.keyWith(["RULES_READ"]);
    await gqlOk(s.url, reader.key, CHANNELS);
    expectError(await gql(s.url, reader.key, UPDATE_CHANNEL, { id: c.id, input }), "FORBIDDEN", "RULES_WRITE");
    const writer = await t.keyWith(["RULES_WRITE"]);
    expectError(await gql(s.url, writer.key, DELETE_CHANNEL, { id: c.id }), "FORBIDDEN", "RULES_DELETE");
    expect(await channelCount(t.id)).toBe(1);
  });
});

describe("webhook delivery", () => {
  it("testChannel sends a signed Alertmanager v4 body with an Idempotency-Key and answers with the outcome", async () => {
    const t = await seedTenant(s);
    const c = await createChannelOk(s, t.key, { name: "signed", url: hook.url, secret: SECRET });
    const d = (await gqlOk(s.url, t.key, TEST_CHANNEL, { id: c.id })).testChannel;
    expect(d).toMatchObject({ reason: "TEST", status: "DELIVERED", attempts: 1, responseCode: 200, error: null, nextAttemptAt: null, channel: { id: c.id, name: "signed" } });
    expect(d.deliveredAt).toMatch(ISO);
    const [req] = await hook.waitFor(1);
    expect(req!.method).toBe("POST");
    expect(req!.path).toBe("/hook");
    expect(req!.headers["content-type"]).toBe("application/json");
    expect(req!.headers["idempotency-key"]).toBe(d.idempotencyKey);
    expect(verifySignature(req!.body, req!.headers["x-vigil-signature"], SECRET)).toBe(true);
    expect(verifySignature(req!.body, req!.headers["x-vigil-signature"], "another key")).toBe(false);
    const body = JSON.parse(req!.body);
    expect(body).toMatchObject({
      version: "4",
      receiver: "signed",
      status: "firing",
      truncatedAlerts: 0,
      externalURL: s.baseUrl,
      groupLabels: { alertname: "VigilTestNotification" },
      commonLabels: { alertname: "VigilTestNotification", severity: "info" },
    });
    expect(body.alerts).toHaveLength(1);
    expect(body.alerts[0]).toMatchObject({ status: "firing", endsAt: "0001-01-01T00:00:00Z", labels: { alertname: "VigilTestNotification" } });
    expect(body.alerts[0].generatorURL).toMatch(new RegExp(`^${s.baseUrl}/graphql\\?`));

    // without a secret: no signature header
    const plain = await createChannelOk(s, t.key, { name: "plain", url: hook.url });
    await gqlOk(s.url, t.key, TEST_CHANNEL, { id: plain.id });
    expect((await hook.waitFor(2))[1]!.headers["x-vigil-signature"]).toBeUndefined();
  });

  it("retries 500, 500, 500 with backoff and delivers once on the fourth attempt, with the same Idempotency-Key", async () => {
    const t = await seedTenant(s);
    const c = await createChannelOk(s, t.key, { name: "flaky", url: hook.url, secret: SECRET });
    const alert = await seedFiringAlert(s, t.id, { channelIds: [c.id] });
    hook.script([500, 500, 500, 200]);
    expect(await enqueue(s, t.id, [noticeOf(alert)])).toBe(1);
    const [d] = await waitForDeliveries(s, t.key, c.id, (n) => n[0]?.status === "DELIVERED");
    expect(d).toMatchObject({ reason: "FIRING", status: "DELIVERED", attempts: 4, responseCode: 200, error: null });
    expect(hook.requests.map((r) => r.answered)).toEqual([500, 500, 500, 200]);
    expect(new Set(hook.requests.map((r) => r.headers["idempotency-key"]))).toEqual(new Set([d.idempotencyKey]));
    // the same bytes every attempt, each validly signed
    expect(new Set(hook.requests.map((r) => r.body)).size).toBe(1);
    for (const r of hook.requests) expect(verifySignature(r.body, r.headers["x-vigil-signature"], SECRET)).toBe(true);
    const body = JSON.parse(hook.requests[3]!.body);
    expect(body.alerts[0]).toMatchObject({
      status: "firing",
      labels: { alertname: alert.ruleName, service: "api", severity: "critical" },
      annotations: { summary: "p99 latency 97.5 ms" },
      startsAt: alert.firedAt.toISOString(),
      fingerprint: alert.fingerprint,
    });
    expect(body.alerts[0].generatorURL).toContain(`alert=${alert.alertId}`);
  });

  it("records a retryable failure as PENDING with the excerpt, honours Retry-After, and fails at once on other 4xx without storing the secret", async () => {
    const t = await seedTenant(s);
    const c = await createChannelOk(s, t.key, { name: "limited", url: hook.url, secret: SECRET });
    hook.script([{ status: 429, headers: { "retry-after": "1" }, body: "slow down" }, 200]);
    const first = (await gqlOk(s.url, t.key, TEST_CHANNEL, { id: c.id })).testChannel;
    expect(first).toMatchObject({ status: "PENDING", attempts: 1, responseCode: 429, error: "HTTP 429: slow down" });
    // Retry-After (1 s) beats the jittered backoff, bounded by NOTIFY_RETRY_MAX_MS (200 ms here)
    const wait = Date.parse(first.nextAttemptAt) - Date.parse(first.lastAttemptAt);
    expect(wait).toBeGreaterThanOrEqual(200);
    expect(wait).toBeLessThan(1_000);
    const [done] = await waitForDeliveries(s, t.key, c.id, (n) => n[0]?.status === "DELIVERED");
    expect(done.attempts).toBe(2);
    const [r1, r2] = hook.requests;
    expect(r2!.at - r1!.at).toBeGreaterThanOrEqual(190);

    hook.requests.length = 0;
    hook.script([{ status: 404, body: `no such hook; you sent ${SECRET} ${"x".repeat(500)}` }]);
    const failed = (await gqlOk(s.url, t.key, TEST_CHANNEL, { id: c.id })).testChannel;
    expect(failed).toMatchObject({ status: "FAILED", attempts: 1, responseCode: 404, nextAttemptAt: null });
    expect(failed.error.length).toBeLessThanOrEqual(200);
    expect(failed.error).toMatch(/^HTTP 404: no such hook; you sent \[redacted\] x+…$/);
    const [stored] = await s.app.db.query<{ error: string }>(`SELECT error FROM notification_deliveries WHERE id = $1`, [failed.id]);
    expect(stored!.error).not.toContain(SECRET);
    await new Promise((r) => setTimeout(r, 400));
    expect(hook.requests).toHaveLength(1);
  });

  it("gives up after NOTIFY_MAX_ATTEMPTS on a refused connection, and pages deliveries newest first", async () => {
    const t = await seedTenant(s);
    const c = await createChannelOk(s, t.key, { name: "dead", url: `http://127.0.0.1:${await closedPort()}/hook` });
    const d = (await gqlOk(s.url, t.key, TEST_CHANNEL, { id: c.id })).testChannel;
    expect(d).toMatchObject({ status: "PENDING", attempts: 1, responseCode: null, error: expect.stringMatching(/^request failed: ECONNREFUSED/) });
    const [failed] = await waitForDeliveries(s, t.key, c.id, (n) => n[0]?.status === "FAILED", 30_000);
    expect(failed).toMatchObject({ attempts: 10, error: expect.stringMatching(/^gave up after 10 attempts: request failed/) });

    await gqlOk(s.url, t.key, TEST_CHANNEL, { id: c.id });
    await gqlOk(s.url, t.key, TEST_CHANNEL, { id: c.id });
    const p1 = (await gqlOk(s.url, t.key, DELIVERIES, { channelId: c.id, first: 2 })).deliveries;
    expect(p1.nodes).toHaveLength(2);
    expect(p1.pageInfo.hasNextPage).toBe(true);
    const p2 = (await gqlOk(s.url, t.key, DELIVERIES, { channelId: c.id, first: 2, after: p1.pageInfo.endCursor })).deliveries;
    expect(p2.nodes.map((n: { id: string }) => n.id)).toEqual([d.id]);
    expect(p2.pageInfo.hasNextPage).toBe(false);
    expectError(await gql(s.url, t.key, DELIVERIES, { after: "bogus" }), "BAD_USER_INPUT");
    expectError(await gql(s.url, t.key, DELIVERIES, { first: 501 }), "BAD_USER_INPUT");
    // leave nothing for the worker to retry
    await s.app.db.query(`UPDATE notification_deliveries SET status = 'FAILED' WHERE tenant_id = $1 AND status = 'PENDING'`, [t.id]);
  });
});

describe("routing", () => {
  it("routes by the rule's channels, minSeverity, sendResolved, enabled and silences", async () => {
    const t = await seedTenant(s);
    const all = await createChannelOk(s, t.key, { name: "all", url: hook.url });
    const errorsOnly = await createChannelOk(s, t.key, { name: "errors", url: hook.url, minSeverity: "ERROR" });
    const noResolved = await createChannelOk(s, t.key, { name: "no-resolved", url: hook.url, sendResolved: false });
    const off = await createChannelOk(s, t.key, { name: "off", url: hook.url, enabled: false });
    const unrouted = await createChannelOk(s, t.key, { name: "unrouted", url: hook.url });
    const alert = await seedFiringAlert(s, t.id, { channelIds: [all.id, errorsOnly.id, noResolved.id, off.id], severity: "WARNING" });
    const now = new Date();

    // WARNING: below errorsOnly's ERROR; off is disabled; unrouted is not the rule's
    expect(await enqueue(s, t.id, [noticeOf(alert, { severity: "WARNING" })], now)).toBe(2);
    // silenced: nothing at all
    expect(await enqueue(s, t.id, [noticeOf(alert, { severity: "CRITICAL", silenced: true })], now)).toBe(0);
    // RESOLVED: not to noResolved
    const resolved = noticeOf(alert, { severity: "CRITICAL", state: "RESOLVED", endsAt: now, value: 12 });
    expect(await enqueue(s, t.id, [resolved], now)).toBe(2);
    const rows = await outboxRows(s, t.id);
    const names = new Map([all, errorsOnly, noResolved, off, unrouted].map((c) => [c.id, c.name]));
    expect(rows.map((r) => [r.reason, names.get(r.channel_id)]).sort()).toEqual([
      ["FIRING", "all"],
      ["FIRING", "no-resolved"],
      ["RESOLVED", "all"],
      ["RESOLVED", "errors"],
    ]);
    expect(rows.every((r) => r.alert_id === alert.alertId)).toBe(true);
    const resolvedBody = rows.find((r) => r.reason === "RESOLVED")!.payload;
    expect(resolvedBody).toMatchObject({ status: "resolved", alerts: [{ status: "resolved", endsAt: now.toISOString() }] });
    await waitForDeliveries(s, t.key, all.id, (n) => n.length === 2 && n.every((d) => d.status === "DELIVERED"));
  });

  it("re-sends a firing alert every repeatIntervalSeconds, but not a silenced or resolved one", async () => {
    const t = await seedTenant(s);
    const c = await createChannelOk(s, t.key, { name: "repeat", url: hook.url, repeatIntervalSeconds: 60 });
    const t0 = Date.now();
    const firing = await seedFiringAlert(s, t.id, { channelIds: [c.id], firedAt: new Date(t0) });
    const silenced = await seedFiringAlert(s, t.id, { channelIds: [c.id], firedAt: new Date(t0), silenced: true });
    const gone = await seedFiringAlert(s, t.id, { channelIds: [c.id], firedAt: new Date(t0) });
    await enqueue(s, t.id, [noticeOf(firing), noticeOf(gone)], new Date(t0));
    await s.app.db.query(`UPDATE alerts SET state = 'RESOLVED', resolved_at = $2 WHERE id = $1`, [gone.alertId, new Date(t0 + 1_000).toISOString()]);
    await waitForDeliveries(s, t.key, c.id, (n) => n.length === 2 && n.every((d) => d.status === "DELIVERED"));
    const repeats = async () => (await outboxRows(s, t.id)).filter((r) => r.reason === "REPEAT").map((r) => r.alert_id);

    expect(await s.app.jobs.repeatNotifications(t0 + 59_000, t.id)).toBe(0);
    // the silenced one never had a delivery: it counts from when it fired, but silenced alerts are skipped
    expect(await s.app.jobs.repeatNotifications(t0 + 60_000, t.id)).toBe(1);
    expect(await repeats()).toEqual([firing.alertId]);
    expect(await s.app.jobs.repeatNotifications(t0 + 61_000, t.id)).toBe(0);
    expect(await s.app.jobs.repeatNotifications(t0 + 120_000, t.id)).toBe(1);
    expect(await repeats()).toEqual([firing.alertId, firing.alertId]);
    expect(silenced.alertId).not.toBe(firing.alertId);

    // the repeats are due at their (future) times: a pass at that time sends them
    expect(await s.app.jobs.deliverNotifications(t0 + 120_000, t.id)).toBe(2);
    const rows = await waitForDeliveries(s, t.key, c.id, (n) => n.length === 4 && n.every((d) => d.status === "DELIVERED"));
    expect(rows.map((d) => d.reason).sort()).toEqual(["FIRING", "FIRING", "REPEAT", "REPEAT"]);
    const keys = new Set(rows.map((d) => d.idempotencyKey));
    expect(keys.size).toBe(4);
    // keep the shared database's background repeat pass away from this tenant's alerts
    await s.app.db.query(`UPDATE alerts SET state = 'RESOLVED', resolved_at = now() WHERE tenant_id = $1 AND state = 'FIRING'`, [t.id]);
  });
});

describe("slack", () => {
  it("posts an incoming-webhook message coloured by state", async () => {
    const t = await seedTenant(s);
    const c = await createChannelOk(s, t.key, { name: "slack", kind: "SLACK", url: hook.url });
    const alert = await seedFiringAlert(s, t.id, { channelIds: [c.id], severity: "CRITICAL" });
    await enqueue(s, t.id, [noticeOf(alert, { annotations: { summary: "p99 <high> & rising", description: "see runbook" } })]);
    await enqueue(s, t.id, [noticeOf(alert, { state: "RESOLVED", endsAt: new Date(), value: 3 })]);
    const reqs = await hook.waitFor(2);
    const bodies = reqs.map((r) => JSON.parse(r.body));
    const firing = bodies.find((b) => b.text.startsWith("[FIRING]"));
    const resolved = bodies.find((b) => b.text.startsWith("[RESOLVED]"));
    expect(firing.text).toBe(`[FIRING] ${alert.ruleName} (CRITICAL): p99 &lt;high&gt; &amp; rising`);
    expect(firing.attachments[0]).toMatchObject({ color: "#e01e5a", text: "p99 &lt;high&gt; &amp; rising\nsee runbook" });
    expect(firing.attachments[0].fields).toEqual(
      expect.arrayContaining([
        { title: "Severity", value: "CRITICAL", short: true },
        { title: "Value", value: "97.5", short: true },
      ]),
    );
    expect(resolved.attachments[0]).toMatchObject({ color: "#2eb67d" });
    expect(resolved.attachments[0].fields).toEqual(expect.arrayContaining([{ title: "Value", value: "3", short: true }]));
  });
});
