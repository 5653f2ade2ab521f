import { randomInt } from "node:crypto";
import { Client } from "pg";
import pino from "pino";
import { advisoryLock } from "../../src/domain/cluster";
import type { LockSession } from "../../src/domain/cluster";
import { createChannelOk } from "../builders/notify.builder";
import { ingestOk } from "../builders/metrics.builder";
import { createRuleOk } from "../builders/rules.builder";
import { seedTenant } from "../builders/tenant.builder";
import { DATABASE_URL, DB_KIND } from "../support/env";
import { type OwnDatabase, createOwnDatabase } from "../support/own-database";
import { type TestServer, startServer } from "../support/server";
import { type WebhookReceiver, startWebhookReceiver } from "../support/webhook-receiver";
import { leaderGauge } from "../support/metrics";

describe(`a process alone on its database leads (${DB_KIND})`, () => {
  // Its background rule evaluation and delivery act on every tenant of the database: on PostgreSQL
  // the server gets a database of its own, so it touches no other suite's rules.
  let own: OwnDatabase | undefined;
  let s: TestServer | undefined;
  let hook: WebhookReceiver;
  beforeAll(async () => {
    own = DATABASE_URL ? await createOwnDatabase("vigil_leader_int") : undefined;
    hook = await startWebhookReceiver();
    s = await startServer({ RULES_TICK_MS: "100", NOTIFY_INTERVAL_MS: "100", ...(own ? { DATABASE_URL: own.url } : {}) });
  });
  afterAll(async () => {
    await s?.stop();
    await hook?.close();
    await own?.drop();
  });

  it("reports vigil_leader 1 and its own jobs evaluate rules and deliver notifications, with no app.jobs call", async () => {
    expect(await leaderGauge(s!.baseUrl)).toBe(1);
    const t = await seedTenant(s!);
    const channel = await createChannelOk(s!, t.key, { name: "ops", kind: "WEBHOOK", url: hook.url, sendResolved: true });
    await createRuleOk(s!, t.key, {
      name: "HighLoad",
      severity: "CRITICAL",
      conditions: [{ selector: { name: "load" }, aggregation: "LAST", windowSeconds: 30, operator: "GT", threshold: 50 }],
      intervalSeconds: 1,
      channelIds: [channel.id],
      labels: { tenant: t.slug },
    });
    await ingestOk(s!, t.key, [{ name: "load", value: 99, labels: { host: "a" } }]);
    const [firing] = await hook.waitFor(1, 20_000);
    const body = JSON.parse(firing!.body);
    expect(body).toMatchObject({ status: "firing", commonLabels: { alertname: "HighLoad", tenant: t.slug, host: "a" } });
    expect(firing!.headers["idempotency-key"]).toMatch(/^vigil-[0-9a-f]{40}$/);

    await ingestOk(s!, t.key, [{ name: "load", value: 1, labels: { host: "a" } }]);
    const [, resolved] = await hook.waitFor(2, 20_000);
    expect(JSON.parse(resolved!.body)).toMatchObject({ status: "resolved", commonLabels: { host: "a" } });
    expect(await leaderGauge(s!.baseUrl)).toBe(1);
  });
});

// The advisory lock itself, on a real PostgreSQL: the embedded database has no other process to
// elect against (it is always its one process's), so this part needs DATABASE_URL.
// (Declared only with DATABASE_URL, like the two-process cases of e2e/scale-out.test.ts.)
if (DATABASE_URL) describe("the PostgreSQL advisory lock session", () => {
  const sessions: LockSession[] = [];
  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.close();
  });

  async function holderPid(key: number): Promise<number | null> {
    const c = new Client({ connectionString: DATABASE_URL });
    await c.connect();
    try {
      const { rows } = await c.query<{ pid: number }>(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1::oid AND objsubid = 1 AND granted`, [
        key,
      ]);
      return rows[0]?.pid ?? null;
    } finally {
      await c.end();
    }
  }

  it("one session of a key holds it; when its connection dies the lock is free for the other", async () => {
    const key = 1 + randomInt(2_000_000_000);
    const lock = advisoryLock({ url: DATABASE_URL!, key, timeoutMs: 5_000 });
    const lostA: string[] = [];
    const a = await lock.connect((r) => lostA.push(r));
    const b = await lock.connect(() => {});
    sessions.push(a, b);
    expect(await a.tryAcquire()).toBe(true);
    expect(await a.tryAcquire()).toBe(true); // taking it again keeps it (and needs one more unlock)
    expect(await b.tryAcquire()).toBe(false);
    expect(await a.holds()).toBe(true);
    expect(await b.holds()).toBe(false);

    // the holder's backend goes away, as when its process is killed or its connection cut
    const pid = await holderPid(key);
    expect(pid).not.toBeNull();
    const admin = new Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`SELECT pg_terminate_backend($1)`, [pid]);
    await admin.end();
    const deadline = Date.now() + 10_000;
    while (lostA.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(lostA).toHaveLength(1);
    await expect(a.holds()).rejects.toThrow();

    expect(await b.tryAcquire()).toBe(true);
    expect(await holderPid(key)).not.toBe(pid);
    // released (shutdown): free at once
    await b.release();
    expect(await holderPid(key)).toBeNull();
  });

  it("a server whose lock connection is killed steps down at once, then is elected again", async () => {
    const lines: Array<{ msg: string; reason?: string; component?: string }> = [];
    const logger = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const s = await startServer({ LEADER_RETRY_MS: "100", LEADER_CHECK_MS: "100" }, undefined, logger);
    try {
      const said = (msg: string) => lines.filter((l) => l.component === "leader" && l.msg === msg);
      expect(said("elected leader")).toHaveLength(1);
      const pid = await holderPid(s.config.leader.lockKey);
      expect(pid).not.toBeNull();
      const admin = new Client({ connectionString: DATABASE_URL });
      await admin.connect();
      await admin.query(`SELECT pg_terminate_backend($1)`, [pid]);
      await admin.end();
      const deadline = Date.now() + 15_000;
      while (said("elected leader").length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(said("stepped down").map((l) => l.reason)).toEqual([expect.stringMatching(/^lock connection (lost|check failed): /)]);
      expect(said("elected leader")).toHaveLength(2);
      // a new session holds it now, and the gauge says so
      expect(await holderPid(s.config.leader.lockKey)).not.toBe(pid);
      expect(await leaderGauge(s.baseUrl)).toBe(1);
    } finally {
      await s.stop();
    }
    expect(await holderPid(s.config.leader.lockKey)).toBeNull();
  });
});
