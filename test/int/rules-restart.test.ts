import { cpSync } from "node:fs";
import { join } from "node:path";
import { alertsOk, createRuleOk, ruleInput } from "../builders/rules.builder";
import { ingestOk } from "../builders/metrics.builder";
import { seedTenant } from "../builders/tenant.builder";
import { DATABASE_URL, TEMPLATE_DIR, freshTempDir } from "../support/env";
import { type TestServer, startServer } from "../support/server";

// Its own file: an embedded database can be open once per process, so no other server may run here.
const SEC = 1_000;

describe("restart", () => {
  it("keeps a PENDING alert's activeAt across a restart: it fires when `for` has passed since the first evaluation, not since the restart", async () => {
    const dir = DATABASE_URL ? undefined : join(freshTempDir("restart"), "db");
    if (dir) cpSync(TEMPLATE_DIR, dir, { recursive: true });
    let first: TestServer | undefined = await startServer({}, dir);
    let second: TestServer | undefined;
    try {
      const t = await seedTenant(first);
      const rule = await createRuleOk(first, t.key, ruleInput({ forSeconds: 60 }));
      const slot = Date.parse(rule.nextEvaluationAt);
      await ingestOk(
        first,
        t.key,
        Array.from({ length: 14 }, (_, k) => ({ name: "cpu", value: 97, timestamp: new Date(slot - 55 * SEC + 10 * SEC * k).toISOString(), labels: { host: "a" } })),
      );
      await first.app.jobs.evaluateRules(slot, t.id);
      await first.app.jobs.evaluateRules(slot + 30 * SEC, t.id);
      await first.stop();
      first = undefined;

      second = await startServer({}, dir);
      await second.app.jobs.evaluateRules(slot + 50 * SEC, t.id);
      expect((await alertsOk(second, t.key)).nodes[0]).toMatchObject({ state: "PENDING", activeAt: new Date(slot).toISOString() });
      await second.app.jobs.evaluateRules(slot + 60 * SEC, t.id);
      expect((await alertsOk(second, t.key)).nodes[0]).toMatchObject({ state: "FIRING", firedAt: new Date(slot + 60 * SEC).toISOString() });
    } finally {
      await first?.stop();
      await second?.stop();
    }
  });
});

