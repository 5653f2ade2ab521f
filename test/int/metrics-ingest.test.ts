import { AGGREGATE, HOUR, INGEST, type PointIn, hourAgo, ingest, ingestOk, rowsOf } from "../builders/metrics.builder";
import { seedTenant } from "../builders/tenant.builder";
import { expectError, gql, gqlOk } from "../support/gql";
import { referenceAggregate } from "../support/reference";
import { type TestServer, startServer } from "../support/server";

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ ROLLUP_INTERVAL_MS: "600000" });
});
afterAll(async () => {
  await s?.stop();
});

const SAMPLES = `query($name: String!) { series(selector: { name: $name }) { nodes { labels samples { timestamp value } } } }`;

describe("ingestMetrics", () => {
  it("accepts points, creates each series once, and stores exactly what was sent", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(1);
    const points: PointIn[] = [
      { name: "system.cpu.usage", labels: { host: "a", core: "0" }, timestamp: base, value: 0.25 },
      { name: "system.cpu.usage", labels: { core: "0", host: "a" }, timestamp: new Date(base + 1_000).toISOString(), value: 0.5 },
      { name: "system.cpu.usage", labels: { host: "b" }, timestamp: base, value: -1.5e-7 },
    ];
    expect(await ingestOk(s, t.key, points)).toEqual({ accepted: 3, seriesCreated: 2 });
    expect(await ingestOk(s, t.key, points.slice(0, 1))).toEqual({ accepted: 1, seriesCreated: 0 });
    const { series } = await gqlOk(s.url, t.key, SAMPLES, { name: "system.cpu.usage" });
    expect(series.nodes).toEqual([
      { labels: { core: "0", host: "a" }, samples: [{ timestamp: new Date(base).toISOString(), value: 0.25 }, { timestamp: new Date(base + 1_000).toISOString(), value: 0.5 }] },
      { labels: { host: "b" }, samples: [{ timestamp: new Date(base).toISOString(), value: -1.5e-7 }] },
    ]);
  });

  it("stamps points without a timestamp with the time of the call", async () => {
    const t = await seedTenant(s);
    const before = Date.now();
    await ingestOk(s, t.key, [{ name: "now_metric", value: 1 }]);
    const after = Date.now();
    const { series } = await gqlOk(s.url, t.key, SAMPLES, { name: "now_metric" });
    const ts = Date.parse(series.nodes[0].samples[0].timestamp);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(after);
  });

  it("keeps the last write for the same series and timestamp, within a batch and across calls", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(1);
    await ingestOk(s, t.key, [
      { name: "dup", timestamp: base, value: 1 },
      { name: "dup", timestamp: base, value: 2 },
    ]);
    await ingestOk(s, t.key, [{ name: "dup", timestamp: base + 1, value: 5 }]);
    await ingestOk(s, t.key, [{ name: "dup", timestamp: base + 1, value: 6 }]);
    const { series } = await gqlOk(s.url, t.key, SAMPLES, { name: "dup" });
    expect(series.nodes[0].samples.map((x: { value: number }) => x.value)).toEqual([2, 6]);
  });

  const base = hourAgo(1);
  const cases: Array<[string, PointIn, string]> = [
    ["an empty name", { name: "", value: 1, timestamp: base }, "points[1].name"],
    ["a name starting with a digit", { name: "1abc", value: 1, timestamp: base }, "points[1].name"],
    ["a name with a space", { name: "a b", value: 1, timestamp: base }, "points[1].name"],
    ["a name of 201 characters", { name: "a".repeat(201), value: 1, timestamp: base }, "points[1].name"],
    ["33 labels", { name: "m", value: 1, timestamp: base, labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, "v"])) }, "points[1].labels"],
    ["a label name with a dash", { name: "m", value: 1, timestamp: base, labels: { "bad-key": "v" } }, "points[1].labels.bad-key"],
    ["a label name of 101 characters", { name: "m", value: 1, timestamp: base, labels: { ["k".repeat(101)]: "v" } }, `points[1].labels.${"k".repeat(100)}`],
    ["a label value of 1025 characters", { name: "m", value: 1, timestamp: base, labels: { k: "v".repeat(1025) } }, "points[1].labels.k"],
    ["a label value that is not a string", { name: "m", value: 1, timestamp: base, labels: { k: 5 } }, "points[1].labels.k"],
    ["nested labels", { name: "m", value: 1, timestamp: base, labels: { k: { x: "y" } } }, "points[1].labels.k"],
    ["a timestamp older than retention", { name: "m", value: 1, timestamp: Date.now() - 31 * 86_400_000 }, "points[1].timestamp"],
    ["a timestamp 11 minutes ahead", { name: "m", value: 1, timestamp: Date.now() + 11 * 60_000 }, "points[1].timestamp"],
  ];
  it.each(cases)("rejects %s, naming the point and field, and writes nothing", async (_what, bad, field) => {
    const t = await seedTenant(s);
    const r = await ingest(s, t.key, [{ name: "fine", value: 1, timestamp: base }, bad]);
    expect(expectError(r, "BAD_USER_INPUT", field).extensions?.field).toBe(field);
    expect(await rowsOf(s, "metric_series", t.id)).toBe(0);
    expect(await rowsOf(s, "metric_samples", t.id)).toBe(0);
  });

  it("rejects non-finite values and values of the wrong type before anything runs", async () => {
    const t = await seedTenant(s);
    // JSON has no NaN or Infinity: the closest a client can send is a huge literal or a string
    const huge = await gql(s.url, t.key, `mutation { ingestMetrics(points: [{ name: "m", value: 1e400 }]) { accepted } }`);
    expect(huge.errors?.[0]?.message).toMatch(/Float|value/);
    expectError(await gql(s.url, t.key, INGEST, { points: [{ name: "m", value: "NaN" }] }), "BAD_USER_INPUT");
    expect(await rowsOf(s, "metric_samples", t.id)).toBe(0);
  });

  it("fixes the type when the series is created; a point of the other type is rejected with nothing written", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(1);
    await ingestOk(s, t.key, [{ name: "jobs_total", type: "COUNTER", timestamp: base, value: 1 }]);
    const r = await ingest(s, t.key, [
      { name: "other", timestamp: base, value: 1 },
      { name: "jobs_total", type: "GAUGE", timestamp: base + 1, value: 2 },
    ]);
    expect(expectError(r, "BAD_USER_INPUT", "COUNTER").extensions?.field).toBe("points[1].type");
    // without a type the point follows the series
    await ingestOk(s, t.key, [{ name: "jobs_total", timestamp: base + 2, value: 3 }]);
    expect(await rowsOf(s, "metric_series", t.id)).toBe(1);
    expect(await rowsOf(s, "metric_samples", t.id)).toBe(2);
  });

  it("takes at most 10,000 points per call", async () => {
    const t = await seedTenant(s, { maxSamplesPerSecond: 1_000_000 });
    const base = hourAgo(1);
    const points = Array.from({ length: 10_001 }, (_, i) => ({ name: "big", timestamp: base + i, value: i }));
    expect(expectError(await ingest(s, t.key, points), "BAD_USER_INPUT", "10000").extensions?.field).toBe("points");
    expect(await ingestOk(s, t.key, points.slice(1))).toEqual({ accepted: 10_000, seriesCreated: 1 });
  });

  it("enforces maxSeries with QUOTA_EXCEEDED and writes nothing of the batch", async () => {
    const t = await seedTenant(s, { maxSeries: 3 });
    const base = hourAgo(1);
    await ingestOk(s, t.key, [
      { name: "q", labels: { i: "1" }, timestamp: base, value: 1 },
      { name: "q", labels: { i: "2" }, timestamp: base, value: 1 },
    ]);
    const r = await ingest(s, t.key, [
      { name: "q", labels: { i: "1" }, timestamp: base + 1, value: 1 },
      { name: "q", labels: { i: "3" }, timestamp: base, value: 1 },
      { name: "q", labels: { i: "4" }, timestamp: base, value: 1 },
    ]);
    expectError(r, "QUOTA_EXCEEDED", "maxSeries 3");
    expect(await rowsOf(s, "metric_series", t.id)).toBe(2);
    expect(await rowsOf(s, "metric_samples", t.id)).toBe(2);
    // existing series still take points, and one more new series fits
    await ingestOk(s, t.key, [{ name: "q", labels: { i: "3" }, timestamp: base, value: 1 }]);
    expect(await rowsOf(s, "metric_series", t.id)).toBe(3);
  });

  it("enforces maxSamplesPerSecond with RATE_LIMITED and retryAfterSeconds, and writes nothing of the batch", async () => {
    const t = await seedTenant(s, { maxSamplesPerSecond: 10 });
    const base = hourAgo(1);
    const batch = (n: number, offset: number) => Array.from({ length: n }, (_, i) => ({ name: "r", timestamp: base + offset + i, value: i }));
    await ingestOk(s, t.key, batch(8, 0));
    const limited = expectError(await ingest(s, t.key, batch(5, 100)), "RATE_LIMITED", "maxSamplesPerSecond");
    expect(limited.extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(await rowsOf(s, "metric_samples", t.id)).toBe(8);
    // a batch larger than the whole per-second budget can never pass: that is a client error
    expect(expectError(await ingest(s, t.key, batch(11, 200)), "BAD_USER_INPUT", "smaller batches").extensions?.field).toBe("points");
  });

  it("creates a new series once when concurrent batches race to create it", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(1);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => ingestOk(s, t.key, [{ name: "race", labels: { k: "v" }, timestamp: base + i, value: i }])),
    );
    expect(results.reduce((a, r) => a + r.seriesCreated, 0)).toBe(1);
    expect(await rowsOf(s, "metric_series", t.id)).toBe(1);
    expect(await rowsOf(s, "metric_samples", t.id)).toBe(6);
  });

  it("answers FORBIDDEN without METRICS_WRITE or to a platform admin, and another tenant's data is untouched", async () => {
    const t = await seedTenant(s);
    const reader = await t.keyWith(["METRICS_READ"]);
    const p = [{ name: "m", value: 1 }];
    expectError(await ingest(s, reader.key, p), "FORBIDDEN", "METRICS_WRITE");
    expectError(await ingest(s, s.adminKey, p), "FORBIDDEN", "tenant");
    expectError(await gql(s.url, undefined, INGEST, { points: p }), "UNAUTHENTICATED");
    expect(await rowsOf(s, "metric_samples", t.id)).toBe(0);
  });
});

describe("retention", () => {
  it("deletes samples older than the tenant's retention and only them; rollups follow; other tenants keep theirs", async () => {
    const t = await seedTenant(s, { retentionDays: 3 });
    const other = await seedTenant(s, { retentionDays: 3 });
    // hourly samples over the last ~50 hours, on a grid that does not sit on hour boundaries
    const start = hourAgo(50) + 90_000;
    const samples: Array<[number, number]> = [];
    for (let ts = start; ts < Date.now() - 60_000; ts += 20 * 60_000) samples.push([ts, samples.length % 7]);
    const points = samples.map(([timestamp, value]) => ({ name: "kept", labels: { host: "a" }, timestamp, value }));
    await ingestOk(s, t.key, points);
    await ingestOk(s, other.key, points);
    await s.app.jobs.rollup();

    await gqlOk(s.url, s.adminKey, `mutation($id: ID!) { updateTenant(id: $id, input: { retentionDays: 1 }) { id } }`, { id: t.id });
    const before = Date.now();
    await s.app.jobs.retention();
    const cutoffLow = before - 86_400_000;
    const cutoffHigh = Date.now() - 86_400_000;

    const rows = await s.app.db.query<{ ts: number }>(`SELECT ts::float8 AS ts FROM metric_samples WHERE tenant_id = $1 ORDER BY ts`, [t.id]);
    const kept = rows.map((r) => r.ts);
    // everything older than the cutoff is gone, everything newer is still there
    expect(kept.every((ts) => ts >= cutoffLow)).toBe(true);
    // every sample newer than the cutoff is still there (the cutoff is `now` during the run, between the two bounds)
    const sent = samples.map(([ts]) => ts);
    expect(kept.filter((ts) => ts >= cutoffHigh)).toEqual(sent.filter((ts) => ts >= cutoffHigh));
    expect(kept.every((ts) => sent.includes(ts))).toBe(true);
    expect(kept.length).toBeGreaterThan(60);
    expect(kept.length).toBeLessThan(sent.length - 60);
    expect(await rowsOf(s, "metric_samples", other.id)).toBe(samples.length);

    // hour rollups, recomputed at the edge, agree with the samples that are left
    await s.app.jobs.rollup();
    const from = hourAgo(30);
    const to = hourAgo(0) - 1;
    const { aggregate } = await gqlOk(s.url, t.key, AGGREGATE, { selector: { name: "kept" }, from, to, step: 3600, fn: "COUNT", groupBy: [] });
    const expected = referenceAggregate([{ name: "kept", labels: { host: "a" }, samples: samples.filter(([ts]) => kept.includes(ts)) }], {
      from,
      to,
      stepMs: HOUR,
      fn: "COUNT",
      groupBy: [],
    });
    expect(aggregate[0].buckets.map((b: { value: number }) => b.value)).toEqual(expected[0]!.values);
  });

  it("a minute and an hour left without samples lose their rollup rows; the rest of the hour is recomputed", async () => {
    const t = await seedTenant(s);
    const hour = hourAgo(3);
    // minute 0 of the hour: 3 samples; minute 1: 2 samples (a counter that resets); another hour: 1 sample
    const points = [
      [hour + 1_000, 5],
      [hour + 2_000, 7],
      [hour + 3_000, 2],
      [hour + 61_000, 10],
      [hour + 62_000, 4],
      [hour + 7_200_000 + 5_000, 1],
    ].map(([timestamp, value]) => ({ name: "emptied", type: "COUNTER" as const, labels: { host: "a" }, timestamp, value }));
    await ingestOk(s, t.key, points);
    await s.app.jobs.rollup();
    const rollups = async (table: string) =>
      s.app.db.query<{ bucket: number; n: number; sum: number; first: number; last: number; inc: number }>(
        `SELECT bucket::float8 AS bucket, sample_count AS n, value_sum AS sum, first_value AS first, last_value AS last, increase AS inc
           FROM ${table} WHERE tenant_id = $1 ORDER BY bucket`,
        [t.id],
      );
    expect(await rollups("metric_rollups_1m")).toEqual([
      { bucket: hour, n: 3, sum: 14, first: 5, last: 2, inc: 2 + 2 },
      { bucket: hour + 60_000, n: 2, sum: 14, first: 10, last: 4, inc: 4 },
      { bucket: hour + 7_200_000, n: 1, sum: 1, first: 1, last: 1, inc: 0 },
    ]);
    // the hour's increase joins its minutes across the boundary: 2 → 10 is +8
    expect(await rollups("metric_rollups_1h")).toEqual([
      { bucket: hour, n: 5, sum: 28, first: 5, last: 4, inc: 4 + 8 + 4 },
      { bucket: hour + 7_200_000, n: 1, sum: 1, first: 1, last: 1, inc: 0 },
    ]);

    // the first minute and the other hour lose every sample (as retention's row deletes do), and are marked
    await s.app.db.query(`DELETE FROM metric_samples WHERE tenant_id = $1 AND (ts < $2 OR ts >= $3)`, [t.id, hour + 60_000, hour + 3_600_000]);
    await s.app.db.query(
      `INSERT INTO metric_rollup_pending (tenant_id, bucket, series_ids)
       SELECT tenant_id, bucket, array_agg(series_id) FROM metric_rollups_1m WHERE tenant_id = $1 AND bucket IN ($2, $3) GROUP BY tenant_id, bucket`,
      [t.id, hour, hour + 7_200_000],
    );
    await s.app.jobs.rollup();
    expect(await rollups("metric_rollups_1m")).toEqual([{ bucket: hour + 60_000, n: 2, sum: 14, first: 10, last: 4, inc: 4 }]);
    expect(await rollups("metric_rollups_1h")).toEqual([{ bucket: hour, n: 2, sum: 14, first: 10, last: 4, inc: 4 }]);
    const [bounds] = await s.app.db.query<{ first: number; last: number }>(
      `SELECT first_sample_at::float8 AS first, last_sample_at::float8 AS last FROM metric_series WHERE tenant_id = $1`,
      [t.id],
    );
    // series bounds only widen (they are the earliest and latest sample ever seen)
    expect(bounds).toEqual({ first: hour + 1_000, last: hour + 7_205_000 });
  });
});
