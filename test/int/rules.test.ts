import { seedTenant, type SeededTenant } from "../builders/tenant.builder";
import { ingestOk, rowsOf } from "../builders/metrics.builder";
import {
  ACK,
  ALERT,
  ALERT_EVENTS,
  BACKTEST,
  CREATE_RULE,
  CREATE_SILENCE,
  DELETE_RULE,
  EXPIRE_SILENCE,
  RULE,
  RULES,
  SET_ENABLED,
  SILENCES,
  UPDATE_RULE,
  alertsOk,
  createRule,
  createRuleOk,
  ruleInput,
} from "../builders/rules.builder";
import { expectError, gql, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";
import { activeSubscriptions, collect, sleep, waitForSubscriptions, wsClient } from "../support/ws";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.stop();
});

const SEC = 1_000;

/** `values[k]` at slot − 55 s + 10 s·k: samples sit 5 s off the 10 s evaluation grid, never on a window edge. */
async function cpu(server: TestServer, key: string, slot: number, values: number[], labels: Record<string, string> = { host: "a" }) {
  await ingestOk(
    server,
    key,
    values.map((value, k) => ({ name: "cpu", value, timestamp: new Date(slot - 55 * SEC + 10 * SEC * k).toISOString(), labels })),
  );
}

async function evaluateAt(server: TestServer, t: SeededTenant, at: number) {
  return server.app.jobs.evaluateRules(at, t.id);
}

describe("rule lifecycle through the server", () => {
  it("goes PENDING → FIRING → RESOLVED as the data moves, keeps the history, renders annotations, and streams each transition to its tenant only", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const rule = await createRuleOk(s, a.key, ruleInput({ forSeconds: 30 }));
    await createRuleOk(s, b.key, ruleInput({ forSeconds: 30 }));
    const slot = Date.parse(rule.nextEvaluationAt);
    expect(slot).toBeGreaterThan(Date.now() - 1_000);
    expect(slot - Date.now()).toBeLessThanOrEqual(10 * SEC);
    // 95 up to slot + 35 s, then 10: the 60 s average crosses back under 90 at slot + 40 s
    await cpu(s, a.key, slot, [95, 95, 95, 95, 95, 95, 95, 95, 95, 10, 10, 10]);
    await cpu(s, b.key, slot, [95, 95, 95, 95, 95, 95, 95, 95, 95, 95, 95, 95]);

    const base = await activeSubscriptions(s.baseUrl);
    const { client } = wsClient(s.wsUrl, a.key);
    const sub = collect(client, ALERT_EVENTS, {});
    const { client: bClient } = wsClient(s.wsUrl, b.key);
    const bSub = collect(bClient, ALERT_EVENTS, { filter: { states: ["RESOLVED"] } });
    await waitForSubscriptions(s.baseUrl, base + 2);

    expect(await evaluateAt(s, a, slot)).toEqual({ evaluated: 1, transitions: 1, errors: 0 });
    await sub.until(() => sub.results.length >= 1);
    expect(sub.results[0]!.data.alertEvents).toMatchObject({
      previousState: null,
      state: "PENDING",
      at: new Date(slot).toISOString(),
      alert: { state: "PENDING", value: 95, labels: { alertname: "HighCpu", severity: "critical", host: "a" }, annotations: { summary: "cpu at 95 on a" } },
    });
    // still pending 20 s in; firing at 30 s (t − activeAt ≥ for)
    await evaluateAt(s, a, slot + 10 * SEC);
    await evaluateAt(s, a, slot + 20 * SEC);
    expect((await alertsOk(s, a.key)).nodes[0]).toMatchObject({ state: "PENDING", firedAt: null });
    await evaluateAt(s, a, slot + 30 * SEC);
    const firing = (await alertsOk(s, a.key)).nodes[0];
    expect(firing).toMatchObject({ state: "FIRING", activeAt: new Date(slot).toISOString(), firedAt: new Date(slot + 30 * SEC).toISOString() });

    // (slot − 20 s, slot + 40 s]: five samples of 95 and one of 10
    await evaluateAt(s, a, slot + 40 * SEC);
    const resolved = (await gqlOk(s.url, a.key, ALERT, { id: firing.id })).alert;
    const atResolution = (5 * 95 + 10) / 6;
    expect(resolved).toMatchObject({
      state: "RESOLVED",
      resolvedAt: new Date(slot + 40 * SEC).toISOString(),
      rule: { id: rule.id, name: "HighCpu" },
      annotations: { summary: `cpu at ${atResolution} on a` },
    });
    expect(resolved.value).toBeCloseTo(atResolution, 10);
    expect(resolved.history).toEqual([
      { at: new Date(slot).toISOString(), from: null, to: "PENDING", value: 95 },
      { at: new Date(slot + 30 * SEC).toISOString(), from: "PENDING", to: "FIRING", value: 95 },
      { at: new Date(slot + 40 * SEC).toISOString(), from: "FIRING", to: "RESOLVED", value: atResolution },
    ]);
    await sub.until(() => sub.results.length >= 3);
    expect(sub.results.map((r) => [r.data.alertEvents.previousState, r.data.alertEvents.state])).toEqual([
      [null, "PENDING"],
      ["PENDING", "FIRING"],
      ["FIRING", "RESOLVED"],
    ]);
    const rulesAfter = (await gqlOk(s.url, a.key, RULE, { id: rule.id })).rule;
    expect(rulesAfter).toMatchObject({ lastEvaluatedAt: new Date(slot + 40 * SEC).toISOString(), lastEvaluationError: null, alerts: [{ id: firing.id, state: "RESOLVED" }] });

    // B's rule was never evaluated (evaluations were for A only), and B's subscriber saw nothing of A's
    await sleep(100);
    expect(bSub.results).toEqual([]);
    expect((await alertsOk(s, b.key)).totalCount).toBe(0);
    await client.dispose();
    await bClient.dispose();
  });

  it("a rule that becomes true again after resolving raises a new alert with the same fingerprint", async () => {
    const t = await seedTenant(s);
    const rule = await createRuleOk(s, t.key, ruleInput());
    const slot = Date.parse(rule.nextEvaluationAt);
    // true at slot, false at slot + 60 s (the window holds only 10s), true again at slot + 120 s
    await cpu(s, t.key, slot, [95, 95, 95, 95, 95, 95, 10, 10, 10, 10, 10, 10, 99, 99, 99, 99, 99, 99]);
    await evaluateAt(s, t, slot);
    await evaluateAt(s, t, slot + 60 * SEC);
    await evaluateAt(s, t, slot + 120 * SEC);
    const alerts = (await alertsOk(s, t.key)).nodes;
    expect(alerts.map((x: { state: string }) => x.state)).toEqual(["FIRING", "RESOLVED"]);
    expect(alerts[0].id).not.toBe(alerts[1].id);
    expect(alerts[0].fingerprint).toBe(alerts[1].fingerprint);
    // for = 0: FIRING at once, no observable pending step
    expect(alerts[1].history.map((h: { from: string | null; to: string }) => [h.from, h.to])).toEqual([
      [null, "FIRING"],
      ["FIRING", "RESOLVED"],
    ]);
  });

  it("evaluates ANY slot once: a second pass at the same time finds nothing due", async () => {
    const t = await seedTenant(s);
    const rule = await createRuleOk(s, t.key, ruleInput());
    const slot = Date.parse(rule.nextEvaluationAt);
    expect((await evaluateAt(s, t, slot - 1)).evaluated).toBe(0);
    expect((await evaluateAt(s, t, slot)).evaluated).toBe(1);
    expect((await evaluateAt(s, t, slot + 9 * SEC)).evaluated).toBe(0);
    // a scheduler that fell behind evaluates the latest slot only
    expect((await evaluateAt(s, t, slot + 55 * SEC)).evaluated).toBe(1);
    const after = (await gqlOk(s.url, t.key, RULE, { id: rule.id })).rule;
    expect(after.lastEvaluatedAt).toBe(new Date(slot + 50 * SEC).toISOString());
    expect(after.nextEvaluationAt).toBe(new Date(slot + 60 * SEC).toISOString());
    // no data and noData OK: nothing happens
    expect(await alertsOk(s, t.key)).toMatchObject({ totalCount: 0 });
  });

  it("evaluates a slot once when two evaluation passes run at the same time (claims skip rows another pass holds)", async () => {
    const t = await seedTenant(s);
    const rules = [];
    for (let i = 0; i < 20; i++) rules.push(await createRuleOk(s, t.key, ruleInput({ name: `r${i}` })));
    const slot = Math.max(...rules.map((r) => Date.parse(r.nextEvaluationAt)));
    await cpu(s, t.key, slot, [95, 95, 95, 95, 95, 95]);
    const [one, two] = await Promise.all([evaluateAt(s, t, slot), evaluateAt(s, t, slot)]);
    expect(one.evaluated + two.evaluated).toBe(20);
    expect(one.transitions + two.transitions).toBe(20);
    const alerts = (await gqlOk(s.url, t.key, `query { alerts(first: 100) { totalCount nodes { state history { to } } } }`)).alerts;
    expect(alerts.totalCount).toBe(20);
    for (const a of alerts.nodes) expect(a).toEqual({ state: "FIRING", history: [{ to: "FIRING" }] });
  });

  it("reports why an evaluation failed on the rule and changes no alert: two series with one label set are one identity twice", async () => {
    const t = await seedTenant(s);
    const rule = await createRuleOk(s, t.key, ruleInput({}, { selector: { name: "disk.*" }, aggregation: "LAST" }));
    const slot = Date.parse(rule.nextEvaluationAt);
    const at = new Date(slot - 15 * SEC).toISOString();
    await ingestOk(s, t.key, [
      { name: "disk.read", value: 95, timestamp: at, labels: { host: "a" } },
      { name: "disk.write", value: 95, timestamp: at, labels: { host: "a" } },
    ]);
    expect(await evaluateAt(s, t, slot)).toEqual({ evaluated: 1, transitions: 0, errors: 1 });
    const failed = (await gqlOk(s.url, t.key, RULE, { id: rule.id })).rule;
    expect(failed.lastEvaluationError).toMatch(/series (disk\.write and disk\.read|disk\.read and disk\.write) have the same label set/);
    expect(failed.lastEvaluatedAt).toBe(new Date(slot).toISOString());
    expect((await alertsOk(s, t.key)).totalCount).toBe(0);
  });
});

describe("alert filters", () => {
  it("filter alerts and alertEvents by states, minSeverity, ruleId and label matchers", async () => {
    const t = await seedTenant(s);
    const warn = await createRuleOk(s, t.key, ruleInput({ name: "Warn", severity: "WARNING" }));
    const crit = await createRuleOk(s, t.key, ruleInput({ name: "Crit", severity: "CRITICAL", forSeconds: 600 }));
    const slot = Math.max(Date.parse(warn.nextEvaluationAt), Date.parse(crit.nextEvaluationAt));
    await cpu(s, t.key, slot, [95, 95, 95, 95, 95, 95], { host: "db-1" });
    await cpu(s, t.key, slot, [95, 95, 95, 95, 95, 95], { host: "web-1" });

    const base = await activeSubscriptions(s.baseUrl);
    const { client } = wsClient(s.wsUrl, t.key);
    const critical = collect(client, ALERT_EVENTS, { filter: { minSeverity: "ERROR" } });
    const dbOnly = collect(client, ALERT_EVENTS, { filter: { matchers: [{ label: "host", op: "REGEX", value: "db-.*" }], states: ["FIRING"] } });
    await waitForSubscriptions(s.baseUrl, base + 2);
    await evaluateAt(s, t, slot);

    const names = (nodes: Array<{ labels: { alertname: string; host: string } }>) => nodes.map((a) => `${a.labels.alertname}/${a.labels.host}`).sort();
    expect(names((await alertsOk(s, t.key)).nodes)).toEqual(["Crit/db-1", "Crit/web-1", "Warn/db-1", "Warn/web-1"]);
    expect(names((await alertsOk(s, t.key, { minSeverity: "ERROR" })).nodes)).toEqual(["Crit/db-1", "Crit/web-1"]);
    expect(names((await alertsOk(s, t.key, { ruleId: warn.id })).nodes)).toEqual(["Warn/db-1", "Warn/web-1"]);
    expect(names((await alertsOk(s, t.key, { states: ["PENDING"], matchers: [{ label: "host", op: "NEQ", value: "db-1" }] })).nodes)).toEqual(["Crit/web-1"]);
    const page = await gqlOk(s.url, t.key, `query { alerts(filter: { matchers: [{ label: "host", value: "web-1" }] }, first: 1) { totalCount pageInfo { hasNextPage } } }`);
    expect(page.alerts).toEqual({ totalCount: 2, pageInfo: { hasNextPage: true } });

    await critical.until(() => critical.results.length >= 2);
    await dbOnly.until(() => dbOnly.results.length >= 1);
    await sleep(100);
    expect(critical.results.map((r) => `${r.data.alertEvents.state}/${r.data.alertEvents.alert.labels.host}`).sort()).toEqual(["PENDING/db-1", "PENDING/web-1"]);
    expect(dbOnly.results.map((r) => `${r.data.alertEvents.alert.labels.alertname}/${r.data.alertEvents.alert.labels.host}`)).toEqual(["Warn/db-1"]);
    // a bad filter is refused when subscribing, naming the field
    const bad = collect(client, ALERT_EVENTS, { filter: { matchers: [{ label: "host", op: "REGEX", value: "(" }] } });
    await bad.until(() => bad.results.length > 0 || bad.error !== undefined);
    expect(JSON.stringify(bad.results[0] ?? bad.error)).toContain("filter.matchers[0].value");
    await client.dispose();
  });
});

describe("groupBy, conditions and noData through the server", () => {
  it("groups series by a label and joins two conditions with ALL on the group key", async () => {
    const t = await seedTenant(s);
    const rule = await createRuleOk(s, t.key, {
      name: "Cascade",
      severity: "ERROR",
      groupBy: ["dc"],
      combine: "ALL",
      intervalSeconds: 10,
      conditions: [
        { selector: { name: "cpu" }, aggregation: "AVG", windowSeconds: 60, operator: "GT", threshold: 90 },
        { selector: { name: "mem" }, aggregation: "MAX", windowSeconds: 60, operator: "GT", threshold: 85 },
      ],
    });
    const slot = Date.parse(rule.nextEvaluationAt);
    const at = new Date(slot - 15 * SEC).toISOString();
    await ingestOk(s, t.key, [
      // dc x: cpu avg over two hosts 92.5, mem 90 → both true
      { name: "cpu", value: 95, timestamp: at, labels: { host: "a", dc: "x" } },
      { name: "cpu", value: 90, timestamp: at, labels: { host: "b", dc: "x" } },
      { name: "mem", value: 90, timestamp: at, labels: { host: "a", dc: "x" } },
      // dc y: cpu true, mem false
      { name: "cpu", value: 99, timestamp: at, labels: { host: "c", dc: "y" } },
      { name: "mem", value: 50, timestamp: at, labels: { host: "c", dc: "y" } },
    ]);
    await evaluateAt(s, t, slot);
    const alerts = (await alertsOk(s, t.key)).nodes;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ state: "FIRING", labels: { alertname: "Cascade", severity: "error", dc: "x" }, value: 92.5 });

    await gqlOk(s.url, t.key, UPDATE_RULE, { id: rule.id, input: { ...ruleInputOf(rule), combine: "ANY" } });
    await evaluateAt(s, t, slot + 10 * SEC);
    const any = (await alertsOk(s, t.key, { states: ["FIRING"] })).nodes;
    expect(any.map((x: { labels: { dc: string } }) => x.labels.dc).sort()).toEqual(["x", "y"]);
  });

  it("selects series with Prometheus matcher semantics: EQ, NEQ, REGEX (anchored), NOT_REGEX, and a missing label read as empty", async () => {
    const t = await seedTenant(s);
    const mk = (name: string, matchers: Array<Record<string, string>>) =>
      createRuleOk(s, t.key, ruleInput({ name, labels: { rule: name } }, { aggregation: "LAST", selector: { name: "cpu", matchers } }));
    const rules = [
      await mk("eq", [{ label: "dc", op: "EQ", value: "x" }]),
      await mk("neq", [{ label: "dc", op: "NEQ", value: "x" }]),
      await mk("regex", [{ label: "host", op: "REGEX", value: "a|b" }]),
      await mk("notRegex", [{ label: "host", op: "NOT_REGEX", value: "a.*" }]),
      await mk("emptyDc", [{ label: "dc", op: "EQ", value: "" }]),
      await mk("twoEq", [{ label: "dc", op: "EQ", value: "x" }, { label: "host", op: "EQ", value: "ab" }]),
    ];
    const slot = Math.max(...rules.map((r) => Date.parse(r.nextEvaluationAt)));
    const at = new Date(slot - 15 * SEC).toISOString();
    await ingestOk(s, t.key, [
      { name: "cpu", value: 95, timestamp: at, labels: { host: "a", dc: "x" } },
      { name: "cpu", value: 95, timestamp: at, labels: { host: "ab", dc: "x" } },
      { name: "cpu", value: 95, timestamp: at, labels: { host: "b", dc: "y" } },
      { name: "cpu", value: 95, timestamp: at, labels: { host: "c" } },
    ]);
    await evaluateAt(s, t, slot);
    const hosts: Record<string, string[]> = {};
    for (const a of (await alertsOk(s, t.key)).nodes) (hosts[a.labels.rule] ??= []).push(a.labels.host);
    for (const list of Object.values(hosts)) list.sort();
    expect(hosts).toEqual({ eq: ["a", "ab"], neq: ["b", "c"], regex: ["a", "b"], notRegex: ["b", "c"], emptyDc: ["c"], twoEq: ["ab"] });
  });

  it("ABSENT fires with the selector's equality labels when nothing matches", async () => {
    const t = await seedTenant(s);
    const rule = await createRuleOk(s, t.key, {
      name: "NoHeartbeat",
      severity: "WARNING",
      intervalSeconds: 10,
      conditions: [{ kind: "ABSENT", selector: { name: "up", matchers: [{ label: "job", value: "api" }] }, windowSeconds: 60 }],
    });
    const slot = Date.parse(rule.nextEvaluationAt);
    await ingestOk(s, t.key, [{ name: "up", value: 1, timestamp: new Date(slot - 30 * SEC).toISOString(), labels: { job: "web" } }]);
    await evaluateAt(s, t, slot);
    expect((await alertsOk(s, t.key)).nodes).toEqual([expect.objectContaining({ state: "FIRING", labels: { alertname: "NoHeartbeat", severity: "warning", job: "api" } })]);
    await ingestOk(s, t.key, [{ name: "up", value: 1, timestamp: new Date(slot + 5 * SEC).toISOString(), labels: { job: "api" } }]);
    await evaluateAt(s, t, slot + 10 * SEC);
    expect((await alertsOk(s, t.key)).nodes[0]).toMatchObject({ state: "RESOLVED" });
  });

  it("noData ALERTING raises one alert for the rule when its selector has no data", async () => {
    const t = await seedTenant(s);
    const rule = await createRuleOk(s, t.key, ruleInput({ noData: "ALERTING" }));
    await evaluateAt(s, t, Date.parse(rule.nextEvaluationAt));
    const [alert] = (await alertsOk(s, t.key)).nodes;
    expect(alert).toMatchObject({ state: "FIRING", labels: { alertname: "HighCpu", severity: "critical", vigil_nodata: "true" } });
  });
});

describe("silences and acknowledgements", () => {
  it("a silence marks matching alerts silenced without stopping their states; expiring it clears the mark", async () => {
    const t = await seedTenant(s);
    const rule = await createRuleOk(s, t.key, ruleInput());
    const slot = Date.parse(rule.nextEvaluationAt);
    await cpu(s, t.key, slot, [95, 95, 95, 95, 95, 95], { host: "a" });
    await cpu(s, t.key, slot, [95, 95, 95, 95, 95, 95], { host: "b" });
    const silence = (
      await gqlOk(s.url, t.key, CREATE_SILENCE, {
        // from before the slot, which can fall moments after the rule's creation
        input: { matchers: [{ label: "host", op: "REGEX", value: "a|z" }], startsAt: new Date(slot - 60_000).toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString(), comment: "maintenance" },
      })
    ).createSilence;
    expect(silence).toMatchObject({ active: true, comment: "maintenance", matchers: [{ label: "host", op: "REGEX", value: "a|z" }] });
    await evaluateAt(s, t, slot);
    const byHost = async () =>
      Object.fromEntries((await alertsOk(s, t.key)).nodes.map((x: { labels: { host: string }; silenced: boolean; state: string }) => [x.labels.host, [x.state, x.silenced]]));
    expect(await byHost()).toEqual({ a: ["FIRING", true], b: ["FIRING", false] });
    expect((await gqlOk(s.url, t.key, SILENCES, { active: true })).silences).toHaveLength(1);

    const expired = (await gqlOk(s.url, t.key, EXPIRE_SILENCE, { id: silence.id })).expireSilence;
    expect(expired.active).toBe(false);
    expect(await byHost()).toEqual({ a: ["FIRING", false], b: ["FIRING", false] });
    // expired silences stay listed
    expect((await gqlOk(s.url, t.key, SILENCES, { active: false })).silences.map((x: { id: string }) => x.id)).toEqual([silence.id]);
  });

  it("acknowledgeAlert records who and when and changes no state", async () => {
    const t = await seedTenant(s);
    const rule = await createRuleOk(s, t.key, ruleInput({ forSeconds: 600 }));
    const slot = Date.parse(rule.nextEvaluationAt);
    await cpu(s, t.key, slot, [95, 95, 95, 95, 95, 95]);
    await evaluateAt(s, t, slot);
    const [alert] = (await alertsOk(s, t.key)).nodes;
    const acked = (await gqlOk(s.url, t.key, ACK, { id: alert.id, comment: "looking" })).acknowledgeAlert;
    expect(acked).toMatchObject({ state: "PENDING", acknowledgedBy: expect.stringContaining("all scopes"), acknowledgeComment: "looking" });
    expect(Date.parse(acked.acknowledgedAt)).toBeGreaterThan(Date.now() - 10_000);
    expect(acked.history).toHaveLength(1);
  });
});

describe("backtestRule", () => {
  it("replays an unsaved rule over stored samples and writes nothing", async () => {
    const t = await seedTenant(s);
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;
    // 95 for ten minutes from base + 5 min, 10 otherwise, one sample every 30 s (off the minute)
    const points = Array.from({ length: 50 }, (_, k) => {
      const ts = base + 15 * SEC + 30 * SEC * k;
      return { name: "cpu", value: ts >= base + 5 * 60_000 && ts < base + 15 * 60_000 ? 95 : 10, timestamp: new Date(ts).toISOString(), labels: { host: "a" } };
    });
    await ingestOk(s, t.key, points);
    const input = ruleInput({ intervalSeconds: 60, forSeconds: 120 });
    const r = (await gqlOk(s.url, t.key, BACKTEST, { input, from: new Date(base).toISOString(), to: new Date(base + 24 * 60_000).toISOString() })).backtestRule;
    expect(r.evaluations).toBe(25);
    const iso = (min: number) => new Date(base + min * 60_000).toISOString();
    // the 60 s average is above 90 from base + 6 min (two samples of 95) to base + 15 min (its last 95 sample at 14:45)
    expect(r.transitions.map((x: { at: string; from: string | null; to: string }) => [x.at, x.from, x.to])).toEqual([
      [iso(6), null, "PENDING"],
      [iso(8), "PENDING", "FIRING"],
      [iso(16), "FIRING", "RESOLVED"],
    ]);
    expect(r.transitions[0].labels).toEqual({ alertname: "HighCpu", severity: "critical", host: "a" });
    expect(await rowsOf(s, "alert_rules", t.id)).toBe(0);
    expect(await rowsOf(s, "alerts", t.id)).toBe(0);
  });

  it("rejects a range of more than 11,000 evaluations", async () => {
    const t = await seedTenant(s);
    const r = await gql(s.url, t.key, BACKTEST, { input: ruleInput({ intervalSeconds: 1 }), from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" });
    expectError(r, "BAD_USER_INPUT", /^to: /);
  });
});

describe("validation: clear errors naming the field, nothing written", () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["no conditions", ruleInput({ conditions: [] }), /^input\.conditions: /],
    ["a template naming an unknown variable", ruleInput({ annotations: { summary: "{{ $nope }}" } }), /^input\.annotations\.summary: /],
    ["a template that does not parse", ruleInput({ annotations: { summary: "{{ $value " } }), /^input\.annotations\.summary: /],
    ["windowSeconds out of range", ruleInput({}, { windowSeconds: 0 }), /^input\.conditions\[0\]\.windowSeconds: /],
    ["intervalSeconds out of range", ruleInput({ intervalSeconds: 86_401 }), /^input\.intervalSeconds: /],
    ["THRESHOLD without threshold", ruleInput({}, { threshold: null }), /^input\.conditions\[0\]\.threshold: /],
    ["a recovery level on the firing side", ruleInput({}, { recoveryThreshold: 95 }), /^input\.conditions\[0\]\.recoveryThreshold: /],
    ["an empty selector name", ruleInput({}, { selector: { name: "" } }), /^input\.conditions\[0\]\.selector\.name: /],
    ["a channel of no one", ruleInput({ channelIds: ["00000000-0000-4000-8000-000000000000"] }), /^input\.channelIds\[0\]: /],
    ["an empty name", ruleInput({ name: " " }), /^input\.name: /],
  ];
  it.each(cases)("%s", async (_, input, message) => {
    const t = await seedTenant(s);
    expectError(await createRule(s, t.key, input), "BAD_USER_INPUT", message);
    expect(await rowsOf(s, "alert_rules", t.id)).toBe(0);
  });

  it("a NaN threshold cannot get through: GraphQL's Float refuses it, naming the variable", async () => {
    const t = await seedTenant(s);
    const input = ruleInput({}, { threshold: "NaN" });
    const r = await createRule(s, t.key, input);
    expectError(r, "BAD_USER_INPUT", /threshold/);
    expect(await rowsOf(s, "alert_rules", t.id)).toBe(0);
  });

  it("a silence ending before it starts, or with no matchers, is refused", async () => {
    const t = await seedTenant(s);
    const later = new Date(Date.now() + 7_200_000).toISOString();
    const sooner = new Date(Date.now() + 3_600_000).toISOString();
    expectError(await gql(s.url, t.key, CREATE_SILENCE, { input: { matchers: [{ label: "a", value: "b" }], startsAt: later, endsAt: sooner } }), "BAD_USER_INPUT", /^input\.endsAt: /);
    expectError(await gql(s.url, t.key, CREATE_SILENCE, { input: { matchers: [], endsAt: later } }), "BAD_USER_INPUT", /^input\.matchers: /);
    expectError(
      await gql(s.url, t.key, CREATE_SILENCE, { input: { matchers: [{ label: "a", op: "REGEX", value: "(" }], endsAt: later } }),
      "BAD_USER_INPUT",
      /^input\.matchers\[0\]\.value: /,
    );
    expect(await rowsOf(s, "silences", t.id)).toBe(0);
  });
});

describe("CRUD", () => {
  it("creates, lists with pagination and the enabled filter, updates, disables (retiring firing alerts) and deletes rules, auditing each change", async () => {
    const t = await seedTenant(s);
    const r1 = await createRuleOk(s, t.key, ruleInput({ name: "one", labels: { team: "db" }, description: "d", category: "infra" }));
    expect(r1).toMatchObject({
      name: "one",
      description: "d",
      category: "infra",
      combine: "ALL",
      groupBy: null,
      forSeconds: 0,
      keepFiringForSeconds: 0,
      intervalSeconds: 10,
      noData: "OK",
      enabled: true,
      labels: { team: "db" },
      conditions: [{ kind: "THRESHOLD", selector: { name: "cpu", matchers: [] }, aggregation: "AVG", windowSeconds: 60, operator: "GT", threshold: 90, recoveryThreshold: null }],
    });
    const r2 = await createRuleOk(s, t.key, ruleInput({ name: "two", enabled: false }));
    expect(r2.nextEvaluationAt).toBeNull();
    const page1 = (await gqlOk(s.url, t.key, RULES, { first: 1 })).rules;
    expect(page1).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true }, nodes: [{ name: "one" }] });
    const page2 = (await gqlOk(s.url, t.key, RULES, { first: 1, after: page1.pageInfo.endCursor })).rules;
    expect(page2).toMatchObject({ pageInfo: { hasNextPage: false }, nodes: [{ name: "two" }] });
    expect((await gqlOk(s.url, t.key, RULES, { enabled: false })).rules.nodes.map((r: { name: string }) => r.name)).toEqual(["two"]);

    const updated = (await gqlOk(s.url, t.key, UPDATE_RULE, { id: r1.id, input: ruleInput({ name: "uno", forSeconds: 120 }) })).updateRule;
    expect(updated).toMatchObject({ id: r1.id, name: "uno", forSeconds: 120, labels: {} });

    // a firing alert is resolved (value null) when its rule is disabled
    const slot = Date.parse(r1.nextEvaluationAt);
    await gqlOk(s.url, t.key, UPDATE_RULE, { id: r1.id, input: ruleInput({ name: "uno" }) });
    await cpu(s, t.key, slot, [95, 95, 95, 95, 95, 95]);
    await evaluateAt(s, t, slot);
    expect((await alertsOk(s, t.key)).nodes[0].state).toBe("FIRING");
    const disabled = (await gqlOk(s.url, t.key, SET_ENABLED, { id: r1.id, enabled: false })).setRuleEnabled;
    expect(disabled).toEqual({ id: r1.id, enabled: false, nextEvaluationAt: null });
    expect((await alertsOk(s, t.key)).nodes[0]).toMatchObject({ state: "RESOLVED", value: null });
    expect((await evaluateAt(s, t, slot + 3_600_000)).evaluated).toBe(0);

    expect((await gqlOk(s.url, t.key, DELETE_RULE, { id: r1.id })).deleteRule).toBe(true);
    expect((await gqlOk(s.url, t.key, RULE, { id: r1.id })).rule).toBeNull();
    expect(await rowsOf(s, "alerts", t.id)).toBe(0);
    expectError(await gql(s.url, t.key, DELETE_RULE, { id: r1.id }), "NOT_FOUND");
    const audit = await s.app.db.query<{ action: string }>(`SELECT action FROM audit_entries WHERE tenant_id = $1 AND action LIKE 'rule.%' ORDER BY id`, [t.id]);
    expect(audit.map((x) => x.action)).toEqual(["rule.create", "rule.create", "rule.update", "rule.update", "rule.disable", "rule.delete"]);
  });
});

describe("tenant isolation and scopes", () => {
  it("another tenant can neither see nor change a tenant's rules, alerts and silences", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const rule = await createRuleOk(s, a.key, ruleInput());
    const slot = Date.parse(rule.nextEvaluationAt);
    await cpu(s, a.key, slot, [95, 95, 95, 95, 95, 95]);
    await evaluateAt(s, a, slot);
    const [alert] = (await alertsOk(s, a.key)).nodes;
    const silence = (await gqlOk(s.url, a.key, CREATE_SILENCE, { input: { matchers: [{ label: "host", value: "a" }], endsAt: new Date(Date.now() + 60_000).toISOString() } })).createSilence;

    expect((await gqlOk(s.url, b.key, RULE, { id: rule.id })).rule).toBeNull();
    expect((await gqlOk(s.url, b.key, RULES, {})).rules.totalCount).toBe(0);
    expect((await gqlOk(s.url, b.key, ALERT, { id: alert.id })).alert).toBeNull();
    expect((await alertsOk(s, b.key)).totalCount).toBe(0);
    expect((await gqlOk(s.url, b.key, SILENCES, {})).silences).toEqual([]);
    expectError(await gql(s.url, b.key, UPDATE_RULE, { id: rule.id, input: ruleInput() }), "NOT_FOUND");
    expectError(await gql(s.url, b.key, SET_ENABLED, { id: rule.id, enabled: false }), "NOT_FOUND");
    expectError(await gql(s.url, b.key, DELETE_RULE, { id: rule.id }), "NOT_FOUND");
    expectError(await gql(s.url, b.key, ACK, { id: alert.id }), "NOT_FOUND");
    expectError(await gql(s.url, b.key, EXPIRE_SILENCE, { id: silence.id }), "NOT_FOUND");
    // B's backtest reads B's samples only: A's cpu series is not there
    const bt = (await gqlOk(s.url, b.key, BACKTEST, { input: ruleInput(), from: new Date(slot - 60_000).toISOString(), to: new Date(slot).toISOString() })).backtestRule;
    expect(bt.transitions).toEqual([]);
    // and nothing of A's changed
    expect((await gqlOk(s.url, a.key, RULE, { id: rule.id })).rule).toMatchObject({ enabled: true, alerts: [{ id: alert.id, state: "FIRING" }] });
    expect((await gqlOk(s.url, a.key, ALERT, { id: alert.id })).alert.acknowledgedAt).toBeNull();
    expect((await gqlOk(s.url, a.key, SILENCES, { active: true })).silences).toHaveLength(1);
  });

  it("a key without the scope gets FORBIDDEN for every operation, and so does a platform admin key", async () => {
    const t = await seedTenant(s);
    const rule = await createRuleOk(s, t.key, ruleInput());
    const none = (await t.keyWith(["METRICS_READ"])).key;
    const later = new Date(Date.now() + 60_000).toISOString();
    const ops: Array<[string, Record<string, unknown>]> = [
      [RULES, {}],
      [RULE, { id: rule.id }],
      [CREATE_RULE, { input: ruleInput() }],
      [UPDATE_RULE, { id: rule.id, input: ruleInput() }],
      [SET_ENABLED, { id: rule.id, enabled: false }],
      [DELETE_RULE, { id: rule.id }],
      [BACKTEST, { input: ruleInput(), from: later, to: later }],
      [`query { alerts { totalCount } }`, {}],
      [ALERT, { id: rule.id }],
      [ACK, { id: rule.id }],
      [SILENCES, {}],
      [CREATE_SILENCE, { input: { matchers: [{ label: "a", value: "b" }], endsAt: later } }],
      [EXPIRE_SILENCE, { id: rule.id }],
    ];
    for (const [query, variables] of ops) {
      expectError(await gql(s.url, none, query, variables), "FORBIDDEN");
      expectError(await gql(s.url, s.adminKey, query, variables), "FORBIDDEN");
    }
    // the right scope alone is enough
    const reader = (await t.keyWith(["RULES_READ"])).key;
    expect((await gqlOk(s.url, reader, `query($id: ID!) { rule(id: $id) { id } }`, { id: rule.id })).rule.id).toBe(rule.id);
    // a rule's alerts are alert data: ALERTS_READ
    expectError(await gql(s.url, reader, RULE, { id: rule.id }), "FORBIDDEN", /ALERTS_READ/);
    expectError(await gql(s.url, reader, DELETE_RULE, { id: rule.id }), "FORBIDDEN");
    const deleter = (await t.keyWith(["RULES_DELETE"])).key;
    expect((await gqlOk(s.url, deleter, DELETE_RULE, { id: rule.id })).deleteRule).toBe(true);

    // the stream: FORBIDDEN without ALERTS_READ
    const { client } = wsClient(s.wsUrl, none);
    const sub = collect(client, ALERT_EVENTS, {});
    await sub.until(() => sub.results.length > 0 || sub.error !== undefined);
    expect(JSON.stringify(sub.results[0] ?? sub.error)).toContain("FORBIDDEN");
    await client.dispose();
  });
});

/** The input that recreates a rule as returned by the API. */
function ruleInputOf(rule: Record<string, any>): Record<string, unknown> {
  return {
    name: rule.name,
    severity: rule.severity,
    combine: rule.combine,
    groupBy: rule.groupBy,
    intervalSeconds: rule.intervalSeconds,
    conditions: rule.conditions.map((c: Record<string, any>) => ({ ...c, selector: { name: c.selector.name, matchers: c.selector.matchers } })),
  };
}

