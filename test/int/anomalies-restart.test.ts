import { ANOMALIES, UPDATE_MONITOR, calmSeries, createMonitorOk, makeMonitorInput } from "../builders/anomaly.builder";
import { ingestOk } from "../builders/metrics.builder";
import { seedTenant } from "../builders/tenant.builder";
import { gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";

/**
 * Detector state across restarts. Each test stops its first server and starts a second on the same
 * database (the embedded one allows one open data directory per process, hence a file of its own).
 */
describe("restart", () => {
  it("keeps each detector's state in a checkpoint: after a restart a spike is still detected without warming up again", async () => {
    // its own server, so that stopping it leaves the suite's server alone
    const first = await startServer({ ROLLUP_INTERVAL_MS: "600000" });
    const dataDir = first.config.database.kind === "embedded" ? first.config.database.dataDir : undefined;
    let second: TestServer | undefined;
    try {
      const t = await seedTenant(first);
      const m = await createMonitorOk(first, t.key);
      const points = calmSeries(401, { spikes: { 400: 400 } });
      await ingestOk(first, t.key, points.slice(0, 400));
      expect(await first.app.jobs.anomalyCheckpoint()).toBeGreaterThanOrEqual(1);
      const [cp] = await first.app.db.query<{ last_ts: string; algorithm: string }>(`SELECT last_ts::text, algorithm FROM anomaly_checkpoints WHERE tenant_id = $1`, [t.id]);
      expect(cp).toEqual({ last_ts: String(points[399]!.timestamp), algorithm: "AUTO" });
      await first.stop();

      // no warm-up from stored samples at all: only the checkpoint can make the spike stand out
      second = await startServer({ ROLLUP_INTERVAL_MS: "600000", ANOMALY_WARMUP_SAMPLES: "0" }, dataDir);
      await ingestOk(second, t.key, points.slice(400));
      await second.app.jobs.anomalyCheckpoint();
      const found = (await gqlOk(second.url, t.key, ANOMALIES, { monitorId: m.id })).anomalies.nodes;
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ value: 400, direction: "UP" });
      const [after] = await second.app.db.query<{ last_ts: string }>(`SELECT last_ts::text FROM anomaly_checkpoints WHERE tenant_id = $1`, [t.id]);
      expect(after!.last_ts).toBe(String(points[400]!.timestamp));
    } finally {
      await second?.stop();
      if (!second) await first.stop();
    }
  });

  it("re-warms a restored detector from the stored samples newer than its checkpoint", async () => {
    const first = await startServer({ ROLLUP_INTERVAL_MS: "600000" });
    const dataDir = first.config.database.kind === "embedded" ? first.config.database.dataDir : undefined;
    let second: TestServer | undefined;
    try {
      const t = await seedTenant(first);
      const m = await createMonitorOk(first, t.key, { algorithm: "ZSCORE" });
      // level 50 up to point 99, learned and checkpointed; then the monitor is off while the
      // series moves to level 100 (points 100–299): stored, never scored
      const points = calmSeries(301).map((p, i) => (i >= 100 ? { ...p, value: p.value + 50 } : p));
      await ingestOk(first, t.key, points.slice(0, 100));
      await first.app.jobs.anomalyCheckpoint();
      await gqlOk(first.url, t.key, UPDATE_MONITOR, { id: m.id, input: makeMonitorInput({ algorithm: "ZSCORE", enabled: false }) });
      await ingestOk(first, t.key, points.slice(100, 300));
      await first.stop();

      second = await startServer({ ROLLUP_INTERVAL_MS: "600000" }, dataDir);
      await gqlOk(second.url, t.key, UPDATE_MONITOR, { id: m.id, input: makeMonitorInput({ algorithm: "ZSCORE", enabled: true }) });
      // at the new level: an anomaly only for a detector that never saw points 100–299
      await ingestOk(second, t.key, points.slice(300));
      await second.app.jobs.anomalyCheckpoint();
      expect((await gqlOk(second.url, t.key, ANOMALIES, { monitorId: m.id })).anomalies.nodes).toEqual([]);
      const [cp] = await second.app.db.query<{ last_ts: string }>(`SELECT last_ts::text FROM anomaly_checkpoints WHERE tenant_id = $1`, [t.id]);
      expect(cp!.last_ts).toBe(String(points[300]!.timestamp));
    } finally {
      await second?.stop();
      if (!second) await first.stop();
    }
  });
});

