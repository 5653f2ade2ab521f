import { cpSync } from "node:fs";
import { join } from "node:path";
import { seedTenant } from "../builders/tenant.builder";
import { createChannelOk, enqueue, noticeOf, seedFiringAlert, waitForDeliveries } from "../builders/notify.builder";
import { DATABASE_URL, TEMPLATE_DIR, freshTempDir } from "../support/env";
import { type TestServer, startServer } from "../support/server";
import { type WebhookReceiver, startWebhookReceiver } from "../support/webhook-receiver";
import { until } from "../support/wait";

/**
 * The outbox survives a restart: a delivery that failed (or was cut off by shutdown) in one
 * process is completed by the next one on the same database.
 */

let hook: WebhookReceiver;
const running: TestServer[] = [];
beforeAll(async () => {
  hook = await startWebhookReceiver();
});
afterAll(async () => {
  for (const s of running) await s.stop();
  await hook?.close();
});

/** One database for both processes: a copy of the migrated template (embedded), or the run's PostgreSQL. */
function sharedDataDir(): string {
  const dir = join(freshTempDir("data"), "db");
  if (!DATABASE_URL) cpSync(TEMPLATE_DIR, dir, { recursive: true });
  return dir;
}

async function start(dir: string): Promise<TestServer> {
  const s = await startServer({ NOTIFY_INTERVAL_MS: "100" }, dir);
  running.push(s);
  return s;
}

async function stop(s: TestServer): Promise<void> {
  await s.stop();
  running.splice(running.indexOf(s), 1);
}

async function deliveryRow(s: TestServer, tenantId: string): Promise<{ status: string; attempts: number; error: string | null } | undefined> {
  const [row] = await s.app.db.query<{ status: string; attempts: number; error: string | null }>(
    `SELECT status, attempts, error FROM notification_deliveries WHERE tenant_id = $1`,
    [tenantId],
  );
  return row;
}

beforeEach(() => {
  hook.requests.length = 0;
  hook.script([]);
});

it("completes, after a restart, a delivery whose first attempt failed", async () => {
  const dir = sharedDataDir();
  const s1 = await start(dir);
  const t = await seedTenant(s1);
  const c = await createChannelOk(s1, t.key, { name: "restart", url: hook.url });
  const alert = await seedFiringAlert(s1, t.id, { channelIds: [c.id] });
  // 503 with Retry-After: 2 s: the retry is due well after this process has stopped
  hook.script([{ status: 503, headers: { "retry-after": "2" }, body: "maintenance" }]);
  await enqueue(s1, t.id, [noticeOf(alert)]);
  await hook.waitFor(1);
  const failed = await until("the failed attempt to be recorded", async () => {
    const row = await deliveryRow(s1, t.id);
    return row?.attempts === 1 && row.error ? row : undefined;
  });
  expect(failed).toMatchObject({ status: "PENDING", attempts: 1, error: "HTTP 503: maintenance" });
  await stop(s1);

  const s2 = await start(dir);
  const [done] = await waitForDeliveries(s2, t.key, c.id, (n) => n[0]?.status === "DELIVERED");
  expect(done).toMatchObject({ status: "DELIVERED", attempts: 2, responseCode: 200 });
  expect(hook.requests.map((r) => r.answered)).toEqual([503, 200]);
  expect(hook.requests[1]!.at - hook.requests[0]!.at).toBeGreaterThanOrEqual(1_900);
  expect(hook.requests[1]!.headers["idempotency-key"]).toBe(hook.requests[0]!.headers["idempotency-key"]);
  expect(hook.requests[1]!.body).toBe(hook.requests[0]!.body);
  await stop(s2);
});

it("hands an attempt cut off by shutdown to the next process", async () => {
  const dir = sharedDataDir();
  const s1 = await start(dir);
  const t = await seedTenant(s1);
  const c = await createChannelOk(s1, t.key, { name: "cut-off", url: hook.url });
  const alert = await seedFiringAlert(s1, t.id, { channelIds: [c.id] });
  // the receiver takes longer than the shutdown
  hook.script([{ status: 200, delayMs: 60_000 }]);
  await enqueue(s1, t.id, [noticeOf(alert)]);
  await hook.waitFor(1);
  await stop(s1);

  const s2 = await start(dir);
  const [done] = await waitForDeliveries(s2, t.key, c.id, (n) => n[0]?.status === "DELIVERED");
  // the cut-off attempt does not count
  expect(done).toMatchObject({ status: "DELIVERED", attempts: 1, responseCode: 200 });
  expect(hook.requests).toHaveLength(2);
  expect(hook.requests[1]!.headers["idempotency-key"]).toBe(hook.requests[0]!.headers["idempotency-key"]);
  await stop(s2);
});
