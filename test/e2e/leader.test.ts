import { randomInt } from "node:crypto";
import { existsSync } from "node:fs";
import { createChannelOk } from "../builders/notify.builder";
import { ingestOk } from "../builders/metrics.builder";
import { createRuleOk } from "../builders/rules.builder";
import { seedTenant } from "../builders/tenant.builder";
import { DATABASE_URL, TEST_ADMIN_KEY, freshTempDir } from "../support/env";
import { type OwnDatabase, createOwnDatabase } from "../support/own-database";
import { MAIN, type VigilProcess, spawnVigil } from "../support/process";
import type { TestServer } from "../support/server";
import { type WebhookReceiver, startWebhookReceiver } from "../support/webhook-receiver";
import { leaderGauge } from "../support/metrics";
import { until } from "../support/wait";

// Leader failover between real processes. PostgreSQL only: the embedded database belongs to one
// process (PGlite cannot be shared), which is always its leader — test/int/leader.test.ts covers that.
// jest.config.js leaves this file out of runs without DATABASE_URL.
if (!DATABASE_URL) throw new Error("test/e2e/leader.test.ts needs DATABASE_URL (PostgreSQL): jest.config.js should have left it out");

const LEADER_RETRY_MS = 200;
const NOTIFY_TIMEOUT_MS = 2_000;
/** A claimed delivery whose process died is due again after its lease: NOTIFY_TIMEOUT_MS + 60 s (notifier.ts). */
const LEASE_MS = NOTIFY_TIMEOUT_MS + 60_000;
const HOSTS = ["h0", "h1", "h2", "h3", "h4"];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("leader election across processes (PostgreSQL)", () => {
  let own: OwnDatabase;
  let hook: WebhookReceiver;
  let env: Record<string, string>;
  const started: VigilProcess[] = [];

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
    // spawned processes run their jobs across every tenant of their database: a database of our own
    own = await createOwnDatabase("vigil_leader");
    hook = await startWebhookReceiver();
    env = {
      DATABASE_URL: own.url,
      DATABASE_POOL_SIZE: "4",
      VIGIL_ADMIN_KEY: TEST_ADMIN_KEY,
      LOG_LEVEL: "info",
      LEADER_LOCK_KEY: String(1 + randomInt(2_000_000_000)),
      LEADER_RETRY_MS: String(LEADER_RETRY_MS),
      LEADER_CHECK_MS: "200",
      RULES_TICK_MS: "100",
      NOTIFY_INTERVAL_MS: "100",
      NOTIFY_TIMEOUT_MS: String(NOTIFY_TIMEOUT_MS),
      NOTIFY_RETRY_BASE_MS: "100",
      NOTIFY_RETRY_MAX_MS: "1000",
    };
  });
  afterEach(() => {
    for (const p of started.splice(0)) p.kill();
  });
  afterAll(async () => {
    await hook?.close();
    await own?.drop();
  });

  async function spawn(): Promise<VigilProcess> {
    const p = await spawnVigil(env, freshTempDir("leader"));
    started.push(p);
    return p;
  }

  /** Waits until exactly one of `procs` reports vigil_leader 1; returns [leader, the others]. */
  async function electedAmong(procs: VigilProcess[], timeoutMs = 15_000): Promise<[VigilProcess, VigilProcess[]]> {
    return until("one leader", async () => {
      const gauges = await Promise.all(procs.map((p) => leaderGauge(p.baseUrl)));
      if (gauges.filter((g) => g === 1).length !== 1 || gauges.some((g) => g !== 0 && g !== 1)) return undefined;
      const i = gauges.indexOf(1);
      return [procs[i]!, procs.filter((_, k) => k !== i)] as [VigilProcess, VigilProcess[]];
    }, timeoutMs);
  }

  /** A tenant with a webhook channel to the receiver and a rule per host over `load`, evaluated every second. */
  async function setUp(via: VigilProcess) {
    const server = { url: via.url, adminKey: TEST_ADMIN_KEY } as TestServer;
    const t = await seedTenant(server);
    const channel = await createChannelOk(server, t.key, { name: "ops", kind: "WEBHOOK", url: hook.url, sendResolved: true });
    await createRuleOk(server, t.key, {
      name: "HighLoad",
      severity: "CRITICAL",
      conditions: [{ selector: { name: "load" }, aggregation: "LAST", windowSeconds: 5, operator: "GT", threshold: 50 }],
      intervalSeconds: 1,
      channelIds: [channel.id],
      labels: { tenant: t.slug },
    });
    const requests = () => hook.requests.filter((r) => JSON.parse(r.body).commonLabels?.tenant === t.slug);
    return { t, server, requests };
  }

  it("kill -9 of the leader while it evaluates: the other process takes over, and every transition is delivered with one Idempotency-Key", async () => {
    const a = await spawn();
    const b = await spawn();
    const [leader, [survivor]] = await electedAmong([a, b]);
    expect(leader.output()).toContain("elected leader");
    const { t, server, requests } = await setUp(survivor!);

    // A stream of ingests through the survivor: each host's load flips between 90 and 10 with its
    // own period, so the rule keeps making FIRING and RESOLVED transitions, before and after the kill.
    let streaming = true;
    const t0 = Date.now();
    const stream = (async () => {
      while (streaming) {
        const elapsed = Date.now() - t0;
        const points = HOSTS.map((host, i) => ({ name: "load", value: Math.floor(elapsed / (1_500 + 400 * i)) % 2 === 0 ? 90 : 10, labels: { host } }));
        await ingestOk(server, t.key, points);
        await sleep(200);
      }
    })();

    try {
      // The leader evaluates (every second) and delivers (every 100 ms): wait for some of it, then kill
      // it in the middle of the stream. The kill lands at an arbitrary point of that cycle — during a
      // claim, an evaluation's transaction, a send, or between them — and the checks below hold for each.
      await until("deliveries before the kill", async () => requests().length >= 8, 30_000);
      const killedAt = Date.now();
      process.kill(leader.proc.pid!, "SIGKILL");
      expect(await leader.exited).toBe("SIGKILL");

      // The lock lives in the killed process's PostgreSQL session, which ends as soon as the server
      // sees the socket close; the survivor's next try (every LEADER_RETRY_MS) takes it. The
      // guarantee is "within LEADER_RETRY_MS of the session ending"; the deadline here is only a
      // generous bound for a loaded machine, not a measurement.
      await until("the survivor leads", async () => (await leaderGauge(survivor!.baseUrl)) === 1, 15_000);
      expect(survivor!.output()).toContain("elected leader");

      // evaluations and deliveries go on in the survivor
      const before = requests().length;
      await until("transitions evaluated after the takeover", async () => {
        const [row] = await own.query<{ n: number }>(`SELECT count(*)::int AS n FROM alert_transitions WHERE tenant_id = $1 AND at > $2`, [t.id, new Date(killedAt)]);
        return row!.n >= 6;
      }, 30_000);
      await until("deliveries after the takeover", async () => requests().length >= before + 6, 30_000);
    } finally {
      streaming = false;
      await stream;
    }

    // every host back to 10: all alerts resolve
    await until("every alert resolved", async () => {
      await ingestOk(server, t.key, HOSTS.map((host) => ({ name: "load", value: 10, labels: { host } })));
      const [row] = await own.query<{ n: number }>(`SELECT count(*)::int AS n FROM alerts WHERE tenant_id = $1 AND state <> 'RESOLVED'`, [t.id]);
      return row!.n === 0;
    }, 30_000);
    // A delivery the killed leader had claimed is leased to it until its lease ends, then taken
    // again by the survivor: the wait covers one lease.
    await until("every delivery settled", async () => {
      const [row] = await own.query<{ n: number }>(`SELECT count(*)::int AS n FROM notification_deliveries WHERE tenant_id = $1 AND status = 'PENDING'`, [t.id]);
      return row!.n === 0;
    }, LEASE_MS + 30_000);

    // What should have been notified: each transition into FIRING, and each FIRING → RESOLVED.
    const transitions = await own.query<{ alert_id: string; from_state: string | null; to_state: string }>(
      `SELECT alert_id, from_state, to_state FROM alert_transitions WHERE tenant_id = $1 ORDER BY at`,
      [t.id],
    );
    const expected = transitions
      .filter((tr) => tr.to_state === "FIRING" || (tr.to_state === "RESOLVED" && tr.from_state === "FIRING"))
      .map((tr) => `${tr.alert_id}/${tr.to_state}`);
    expect(new Set(expected).size).toBe(expected.length); // one transition of each kind per alert
    expect(expected.length).toBeGreaterThanOrEqual(14); // at least the 8 + 6 waited for above

    const deliveries = await own.query<{ alert_id: string; reason: string; idempotency_key: string; status: string; attempts: number; fingerprint: string }>(
      `SELECT d.alert_id, d.reason, d.idempotency_key, d.status, d.attempts, a.fingerprint
         FROM notification_deliveries d JOIN alerts a ON a.tenant_id = d.tenant_id AND a.id = d.alert_id
        WHERE d.tenant_id = $1 AND d.reason IN ('FIRING', 'RESOLVED')`,
      [t.id],
    );
    // the outbox: exactly one delivery per notifying transition, none lost, none enqueued twice
    expect(deliveries.map((d) => `${d.alert_id}/${d.reason}`).sort()).toEqual([...expected].sort());
    expect(new Set(deliveries.map((d) => d.idempotency_key)).size).toBe(deliveries.length);
    for (const d of deliveries) expect({ key: d.idempotency_key, status: d.status }).toEqual({ key: d.idempotency_key, status: "DELIVERED" });

    // The receiver: every delivery arrived under its own key, with the body of its transition. A
    // key arrives more than once only when its delivery was attempted more than once — a send in
    // flight when the leader died is sent again after its lease, with the same key (at least once).
    const byKey = new Map<string, Array<{ status: string; fingerprint: string }>>();
    for (const r of requests()) {
      const key = String(r.headers["idempotency-key"]);
      const body = JSON.parse(r.body);
      byKey.set(key, [...(byKey.get(key) ?? []), { status: body.status, fingerprint: body.alerts[0].fingerprint }]);
    }
    const deliveryKeys = new Set(deliveries.map((d) => d.idempotency_key));
    const strays = [...byKey.keys()].filter((k) => !deliveryKeys.has(k));
    expect(strays).toEqual([]); // nothing but these transitions (no REPEAT: alerts fire for seconds, repeats come after 60 s)
    for (const d of deliveries) {
      const got = byKey.get(d.idempotency_key) ?? [];
      expect({ key: d.idempotency_key, received: got.length >= 1 }).toEqual({ key: d.idempotency_key, received: true });
      expect(got.length).toBeLessThanOrEqual(d.attempts);
      if (d.attempts === 1) expect({ key: d.idempotency_key, received: got.length }).toEqual({ key: d.idempotency_key, received: 1 });
      for (const g of got) expect(g).toEqual({ status: d.reason === "FIRING" ? "firing" : "resolved", fingerprint: d.fingerprint });
    }
  }, 240_000);

  it("SIGTERM of the leader releases the lock: the other process takes over and goes on evaluating", async () => {
    const a = await spawn();
    const b = await spawn();
    const [leader, [other]] = await electedAmong([a, b]);
    const { t, server, requests } = await setUp(other!);

    leader.proc.kill("SIGTERM");
    expect(await leader.exited).toBe(0);
    expect(leader.output()).toMatch(/"reason":"shutdown".*"msg":"stepped down"|"msg":"stepped down".*"reason":"shutdown"/);
    // Stopping unlocks before it closes the database, so the other takes the lock at its next try
    // (LEADER_RETRY_MS); the deadline is only generous for a loaded machine.
    await until("the other leads", async () => (await leaderGauge(other!.baseUrl)) === 1, 10_000);

    await ingestOk(server, t.key, [{ name: "load", value: 95, labels: { host: "after-handover" } }]);
    await until("a notification from the new leader", async () =>
      requests().some((r) => JSON.parse(r.body).commonLabels.host === "after-handover" && JSON.parse(r.body).status === "firing"),
      30_000,
    );
  }, 120_000);
});
