import { AGGREGATE, HOUR, MINUTE, SUMMARY, hourAgo, ingestOk } from "../builders/metrics.builder";
import { type SeededTenant, seedTenant } from "../builders/tenant.builder";
import { expectError, gql, gqlOk } from "../support/gql";
import { type RefSeries, percentile, referenceAggregate } from "../support/reference";
import { type TestServer, startServer } from "../support/server";

let s: TestServer;
beforeAll(async () => {
  // the rollup job is driven by the tests (s.app.jobs.rollup), not by the clock
  s = await startServer({ ROLLUP_INTERVAL_MS: "600000" });
});
afterAll(async () => {
  await s?.stop();
});

const FNS = ["COUNT", "SUM", "AVG", "MIN", "MAX", "STDDEV", "P50", "P90", "P95", "P99", "LAST", "RATE", "INCREASE"];

async function load(t: SeededTenant, series: RefSeries[], type: "GAUGE" | "COUNTER" = "GAUGE"): Promise<void> {
  const points = series.flatMap((x) => x.samples.map(([ts, value]) => ({ name: x.name, labels: x.labels, timestamp: ts, value, type })));
  for (let i = 0; i < points.length; i += 5_000) await ingestOk(s, t.key, points.slice(i, i + 5_000));
}

async function aggregate(key: string, v: { selector: unknown; from: number; to: number; step: number; fn: string; groupBy: string[] | null }) {
  const { aggregate } = await gqlOk(s.url, key, AGGREGATE, v);
  return aggregate as Array<{ labels: Record<string, string>; buckets: Array<{ timestamp: string; value: number | null }> }>;
}

function expectClose(actual: Array<number | null>, expected: Array<number | null>, context: string): void {
  const bad = expected.findIndex((e, i) => {
    const a = actual[i];
    if (e === null || a === null || a === undefined) return a !== e;
    return Math.abs(a - e) > 1e-9 * Math.max(1, Math.abs(e));
  });
  if (bad !== -1 || actual.length !== expected.length) {
    throw new Error(`${context}: bucket ${bad} differs\nactual   ${JSON.stringify(actual)}\nexpected ${JSON.stringify(expected)}`);
  }
}

/** Checks every function, several steps and groupings against the reference implementation. */
async function checkAgainstReference(
  t: SeededTenant,
  series: RefSeries[],
  selector: unknown,
  from: number,
  to: number,
  steps: number[],
  groupBys: Array<string[] | null> = [null, [], ["host"]],
  fns: readonly string[] = FNS,
) {
  for (const step of steps) {
    for (const groupBy of groupBys) {
      for (const fn of fns) {
        const actual = await aggregate(t.key, { selector, from, to, step, fn, groupBy });
        const expected = referenceAggregate(series, { from, to, stepMs: step * 1000, fn, groupBy });
        const context = `${fn} step ${step} groupBy ${JSON.stringify(groupBy)}`;
        expect({ context, groups: actual.map((g) => g.labels) }).toEqual({ context, groups: expected.map((g) => g.labels) });
        actual.forEach((g, i) => {
          expect(g.buckets.map((b) => Date.parse(b.timestamp))).toEqual(expected[i]!.starts);
          expectClose(g.buckets.map((b) => b.value), expected[i]!.values, `${context} ${JSON.stringify(g.labels)}`);
        });
      }
    }
  }
}

describe("aggregate", () => {
  it("computes hand-checked values: averages, a counter reset, empty buckets and a single-point series", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(3);
    await ingestOk(s, t.key, [
      // counter: 10 → 15 (+5) → 3 (reset: +3) in the first minute, 8 (+5) in the second
      { name: "req_total", type: "COUNTER", labels: { job: "api" }, timestamp: base + 10_000, value: 10 },
      { name: "req_total", type: "COUNTER", labels: { job: "api" }, timestamp: base + 20_000, value: 15 },
      { name: "req_total", type: "COUNTER", labels: { job: "api" }, timestamp: base + 30_000, value: 3 },
      { name: "req_total", type: "COUNTER", labels: { job: "api" }, timestamp: base + 70_000, value: 8 },
      // a single sample, in the third minute
      { name: "temp", labels: { room: "a" }, timestamp: base + 150_000, value: 21.5 },
    ]);
    const selector = { name: "req_total" };
    const inc = await aggregate(t.key, { selector, from: base, to: base + 179_999, step: 60, fn: "INCREASE", groupBy: [] });
    // minute 1: (15-10) + 3 (reset) = 8; minute 2: 8-3 = 5; minute 3: no samples
    expect(inc[0]!.buckets.map((b) => b.value)).toEqual([8, 5, null]);
    const rate = await aggregate(t.key, { selector, from: base, to: base + 179_999, step: 60, fn: "RATE", groupBy: [] });
    expect(rate[0]!.buckets.map((b) => b.value)).toEqual([8 / 60, 5 / 60, null]);
    const avg = await aggregate(t.key, { selector, from: base, to: base + 179_999, step: 60, fn: "AVG", groupBy: [] });
    // (10 + 15 + 3) / 3 = 9.333…; 8
    expect(avg[0]!.buckets.map((b) => b.value)).toEqual([28 / 3, 8, null]);
    const count = await aggregate(t.key, { selector, from: base, to: base + 179_999, step: 60, fn: "COUNT", groupBy: [] });
    expect(count[0]!.buckets.map((b) => b.value)).toEqual([3, 1, 0]);
    const single = await aggregate(t.key, { selector: { name: "temp" }, from: base, to: base + 179_999, step: 60, fn: "STDDEV", groupBy: null });
    expect(single).toEqual([
      {
        labels: { __name__: "temp", room: "a" },
        buckets: [
          { timestamp: new Date(base).toISOString(), value: null },
          { timestamp: new Date(base + 60_000).toISOString(), value: null },
          { timestamp: new Date(base + 120_000).toISOString(), value: 0 },
        ],
      },
    ]);
    // the increase into a range starts from the last sample before it: 3 → 8 = 5, in the range's first bucket
    const tail = await aggregate(t.key, { selector, from: base + 60_000, to: base + 119_999, step: 60, fn: "INCREASE", groupBy: [] });
    expect(tail[0]!.buckets.map((b) => b.value)).toEqual([5]);
    // a series with no samples in the range yields no group at all
    expect(await aggregate(t.key, { selector, from: base + 3_600_000, to: base + 3_700_000, step: 60, fn: "AVG", groupBy: null })).toEqual([]);
  });

  it("matches the reference for every function, from raw samples, minute rollups and hour rollups alike", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(5);
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const series: RefSeries[] = ["a", "b", "c"].map((host, h) => {
      const samples: Array<[number, number]> = [];
      let v = 0;
      for (let ts = base + h * 1_111; ts < base + 3 * HOUR; ts += 7_000 + Math.floor(rnd() * 20_000)) {
        v = rnd() < 0.03 ? Math.floor(rnd() * 5) : v + Math.floor(rnd() * 100); // counter with resets
        samples.push([ts, v]);
      }
      return { name: "http_requests_total", labels: { host, zone: h < 2 ? "eu" : "us" }, samples };
    });
    await load(t, series, "COUNTER");
    await s.app.jobs.rollup();
    const [{ n }] = await s.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM metric_rollups_1h WHERE tenant_id = $1`, [t.id]);
    expect(n).toBeGreaterThanOrEqual(9); // rollups exist, so the 3600 s and 60 s steps read them
    // unaligned edges (raw) around an aligned middle (rollups), and a raw-only step (45 s)
    await checkAgainstReference(t, series, { name: "http_requests_total" }, base + 17_321, base + 3 * HOUR - 4_567, [3600, 60, 45]);
  });

  it("stays exact after rewrites and out-of-order samples that land in minutes already rolled up", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(4);
    const series: RefSeries[] = [{ name: "queue_depth", labels: { host: "a" }, samples: [] }];
    for (let i = 0; i < 240; i++) series[0]!.samples.push([base + i * 30_000, i % 17]);
    await load(t, series);
    await s.app.jobs.rollup();
    // last write wins, and a late sample between two existing ones
    series[0]!.samples[10] = [base + 10 * 30_000, 1_000];
    series[0]!.samples.push([base + 15_000, -50]);
    await ingestOk(s, t.key, [
      { name: "queue_depth", labels: { host: "a" }, timestamp: base + 10 * 30_000, value: 1_000 },
      { name: "queue_depth", labels: { host: "a" }, timestamp: base + 15_000, value: -50 },
    ]);
    // no rollup job has run since: the query brings the minutes it reads up to date itself
    await checkAgainstReference(t, series, { name: "queue_depth" }, base, base + 2 * HOUR - 1, [3600, 60]);
  });

  it("pools groups in the database as the reference does: missing labels, empty buckets, series starting mid-range", async () => {
    // COUNT SUM AVG MIN MAX STDDEV are merged per group and bucket by PostgreSQL (one row per group,
    // not per series): every grouping and every source of states (raw edges, minute and hour rollups)
    const t = await seedTenant(s);
    const base = hourAgo(5);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const value = () => Math.round((rnd() * 200 - 100) * 1000) / 1000;
    const every = (from: number, to: number, gap: number): Array<[number, number]> => {
      const out: Array<[number, number]> = [];
      for (let ts = from; ts < to; ts += gap) out.push([ts, value()]);
      return out;
    };
    const series: RefSeries[] = [
      // a gap of 40 minutes in which no series has samples: whole empty buckets at the 17-minute step
      { name: "pool", labels: { dc: "x", host: "a" }, samples: [...every(base, base + 50 * MINUTE, 10_000), ...every(base + 90 * MINUTE, base + 3 * HOUR, 10_000)] },
      // starts in the middle of a minute, of a 17-minute bucket and of the range
      { name: "pool", labels: { dc: "x", host: "b" }, samples: every(base + HOUR + 37 * MINUTE + 3_000, base + 3 * HOUR, 7_000) },
      // no dc label: the group without it (labels written in the order jsonb keeps them, which orders the groups)
      { name: "pool", labels: { host: "c" }, samples: [...every(base, base + 40 * MINUTE, 20_000), ...every(base + 2 * HOUR, base + 3 * HOUR, 20_000)] },
      // a single sample
      { name: "pool", labels: { dc: "y", host: "d" }, samples: [[base + 2 * HOUR + 5_000, 42.5]] },
    ];
    await load(t, series);
    await s.app.jobs.rollup();
    // a rewrite and a late sample after the rollup job: the query refreshes the minutes it reads
    series[0]!.samples[3] = [series[0]!.samples[3]![0], 1_000];
    series[1]!.samples.push([base + HOUR + 37 * MINUTE + 1_000, -7]);
    await ingestOk(s, t.key, [
      { name: "pool", labels: { dc: "x", host: "a" }, timestamp: series[0]!.samples[3]![0], value: 1_000 },
      { name: "pool", labels: { dc: "x", host: "b" }, timestamp: base + HOUR + 37 * MINUTE + 1_000, value: -7 },
    ]);
    const from = base + 7_777;
    const to = base + 3 * HOUR - 12_345;
    const pooled = ["COUNT", "SUM", "AVG", "MIN", "MAX", "STDDEV"];
    await checkAgainstReference(t, series, { name: "pool" }, from, to, [1020, 3600, 60, 45], [null, [], ["dc"], ["dc", "host"], ["zone"]], pooled);
    // hand-checked: the 17-minute buckets inside the gap are empty for every group
    const gap = await aggregate(t.key, { selector: { name: "pool" }, from: base + 51 * MINUTE, to: base + 67 * MINUTE, step: 1020, fn: "COUNT", groupBy: [] });
    expect(gap).toEqual([]);
    const counted = await aggregate(t.key, { selector: { name: "pool" }, from, to, step: 1020, fn: "COUNT", groupBy: [] });
    const inGap = counted[0]!.buckets.filter((b) => Date.parse(b.timestamp) >= base + 50 * MINUTE && Date.parse(b.timestamp) + 1_020_000 <= base + 90 * MINUTE);
    expect(inGap.length).toBeGreaterThan(0);
    expect(inGap.map((b) => b.value)).toEqual(inGap.map(() => 0));
  });

  it("matches the reference on steps that are not a multiple of a minute (rollups inside buckets, raw minutes at their edges)", async () => {
    // Pooled functions read each bucket's whole hours and minutes from rollups and only the minutes
    // straddling its edges from raw samples (planParts); the others keep their path. Every function,
    // every grouping, with gaps, series starting and ending mid-minute, and a rewrite plus a late
    // sample the rollup job has not seen (the query refreshes the minutes it reads).
    const t = await seedTenant(s);
    const base = hourAgo(6);
    let seed = 99;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const counter = (from: number, to: number, gap: number, start: number): Array<[number, number]> => {
      const out: Array<[number, number]> = [];
      let v = start;
      for (let ts = from; ts < to; ts += gap + Math.floor(rnd() * gap)) {
        v = rnd() < 0.02 ? Math.floor(rnd() * 10) : v + Math.floor(rnd() * 50); // resets now and then
        out.push([ts, v]);
      }
      return out;
    };
    const series: RefSeries[] = [
      // dense, with a 47-minute gap
      { name: "edges", labels: { host: "a", zone: "eu" }, samples: [...counter(base + 1_234, base + 70 * MINUTE, 3_000, 0), ...counter(base + 117 * MINUTE + 29_500, base + 4 * HOUR, 3_000, 5)] },
      // starts and ends mid-minute
      { name: "edges", labels: { host: "b", zone: "eu" }, samples: counter(base + HOUR + 13 * MINUTE + 41_700, base + 3 * HOUR + 21 * MINUTE + 7_300, 5_000, 100) },
      // sparse: not every minute has a sample
      { name: "edges", labels: { host: "c", zone: "us" }, samples: counter(base + 999, base + 4 * HOUR, 70_000, 3) },
    ];
    await load(t, series, "COUNTER");
    await s.app.jobs.rollup();
    const a = series[0]!.samples;
    a[200] = [a[200]![0], 1];
    const late: [number, number] = [a[300]![0] + 1, a[300]![1]];
    a.splice(301, 0, late);
    await ingestOk(s, t.key, [
      { name: "edges", labels: { host: "a", zone: "eu" }, type: "COUNTER", timestamp: a[200]![0], value: 1 },
      { name: "edges", labels: { host: "a", zone: "eu" }, type: "COUNTER", timestamp: late[0], value: late[1] },
    ]);
    // 150 s: bucket edges every 2.5 minutes, half of them mid-minute; 1,000 s; 5,400 s (90 minutes: a
    // whole hour inside every bucket); 3,700 s (hours, minutes and raw minutes in one bucket); 37 s
    // (mostly raw: read from raw samples only)
    await checkAgainstReference(t, series, { name: "edges" }, base + 17_321, base + 4 * HOUR - 4_567, [150, 1000, 5400, 3700, 37]);
  });

  it("groups by labels: null per series, [] all together, [labels] by their values", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(2);
    await ingestOk(s, t.key, [
      { name: "cpu", labels: { dc: "x", host: "a" }, timestamp: base, value: 1 },
      { name: "cpu", labels: { dc: "x", host: "b" }, timestamp: base, value: 3 },
      { name: "cpu", labels: { host: "c", dc: "y" }, timestamp: base, value: 8 },
    ]);
    const v = { selector: { name: "cpu" }, from: base, to: base + 59_999, step: 60, fn: "SUM" };
    expect((await aggregate(t.key, { ...v, groupBy: null })).map((g) => [g.labels, g.buckets[0]!.value])).toEqual([
      [{ __name__: "cpu", dc: "x", host: "a" }, 1],
      [{ __name__: "cpu", dc: "x", host: "b" }, 3],
      [{ __name__: "cpu", dc: "y", host: "c" }, 8],
    ]);
    expect((await aggregate(t.key, { ...v, groupBy: [] })).map((g) => [g.labels, g.buckets[0]!.value])).toEqual([[{}, 12]]);
    expect((await aggregate(t.key, { ...v, groupBy: ["dc"] })).map((g) => [g.labels, g.buckets[0]!.value])).toEqual([
      [{ dc: "x" }, 4],
      [{ dc: "y" }, 8],
    ]);
  });

  it("rejects unbounded or malformed requests with the field and the limit", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(1);
    const v = { selector: { name: "m" }, from: base, to: base + HOUR, step: 60, fn: "AVG", groupBy: null };
    const tooMany = expectError(await gql(s.url, t.key, AGGREGATE, { ...v, from: base - 20 * HOUR, step: 1, to: base }), "BAD_USER_INPUT", "at most 11000");
    expect(tooMany.extensions?.field).toBe("stepSeconds");
    expect(expectError(await gql(s.url, t.key, AGGREGATE, { ...v, step: 0 }), "BAD_USER_INPUT").extensions?.field).toBe("stepSeconds");
    expect(expectError(await gql(s.url, t.key, AGGREGATE, { ...v, to: base - 1 }), "BAD_USER_INPUT").extensions?.field).toBe("to");
    expect(expectError(await gql(s.url, t.key, AGGREGATE, { ...v, groupBy: ["bad-label"] }), "BAD_USER_INPUT").extensions?.field).toBe("groupBy[0]");
    expect(expectError(await gql(s.url, t.key, AGGREGATE, { ...v, selector: { name: "bad name" } }), "BAD_USER_INPUT").extensions?.field).toBe("selector.name");
    const badRe = { ...v, selector: { name: "m", matchers: [{ label: "host", op: "REGEX", value: "(" }] } };
    expect(expectError(await gql(s.url, t.key, AGGREGATE, badRe), "BAD_USER_INPUT", "RE2").extensions?.field).toBe("selector.matchers[0].value");

    // 1,001 series match: more than one aggregate reads
    const points = Array.from({ length: 1_001 }, (_, i) => ({ name: "wide", labels: { i: String(i) }, timestamp: base, value: i }));
    await ingestOk(s, t.key, points);
    const wide = expectError(await gql(s.url, t.key, AGGREGATE, { ...v, selector: { name: "wide" } }), "BAD_USER_INPUT", "more than 1000 series");
    expect(wide.extensions?.field).toBe("selector");
    const narrowed = { ...v, selector: { name: "wide", matchers: [{ label: "i", op: "REGEX", value: "1.." }] } };
    expect(await aggregate(t.key, narrowed)).toHaveLength(100);
    // grouped (pooled in the database) the limits are the same, and the 100 series add up: 100 + … + 199
    const wideGrouped = expectError(await gql(s.url, t.key, AGGREGATE, { ...v, selector: { name: "wide" }, fn: "SUM", groupBy: [] }), "BAD_USER_INPUT", "more than 1000 series");
    expect(wideGrouped.extensions?.field).toBe("selector");
    const pooled = await aggregate(t.key, { ...narrowed, fn: "SUM", groupBy: [] });
    expect(pooled.map((g) => [g.labels, g.buckets[0]!.value])).toEqual([[{}, 14_950]]);
    const tooManyGrouped = { ...v, from: base - 20 * HOUR, step: 1, to: base, groupBy: ["i"] };
    expect(expectError(await gql(s.url, t.key, AGGREGATE, tooManyGrouped), "BAD_USER_INPUT", "at most 11000").extensions?.field).toBe("stepSeconds");
  });
});

describe("summary", () => {
  it("matches values computed in the test, over several series, and is empty without data", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(2);
    const values = [4, 8, 15, 16, 23, 42, 7.5, -3];
    await ingestOk(
      s,
      t.key,
      values.map((value, i) => ({ name: "lat", labels: { host: i % 2 ? "a" : "b" }, timestamp: base + i * 1_000, value })),
    );
    const { summary } = await gqlOk(s.url, t.key, SUMMARY, { selector: { name: "lat" }, from: base, to: base + 10_000 });
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(summary.count).toBe(8);
    expect(summary.sum).toBeCloseTo(112.5, 10);
    expect(summary.avg).toBeCloseTo(mean, 10);
    expect(summary.min).toBe(-3);
    expect(summary.max).toBe(42);
    expect(summary.stddev).toBeCloseTo(Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length), 10);
    expect(summary.p50).toBeCloseTo(percentile(values, 0.5)!, 10);
    expect(summary.p95).toBeCloseTo(percentile(values, 0.95)!, 10);
    expect(summary.p99).toBeCloseTo(percentile(values, 0.99)!, 10);
    expect([summary.first, summary.last]).toEqual([4, -3]);
    const empty = await gqlOk(s.url, t.key, SUMMARY, { selector: { name: "lat" }, from: base + HOUR, to: base + 2 * HOUR });
    expect(empty.summary).toEqual({ count: 0, sum: null, avg: null, min: null, max: null, stddev: null, p50: null, p95: null, p99: null, first: null, last: null });
  });
});

const TREND = `query($selector: SeriesSelectorInput!, $from: DateTime!, $to: DateTime!, $step: Int!, $horizon: Int, $confidence: Float) {
  trend(selector: $selector, from: $from, to: $to, stepSeconds: $step, horizonSeconds: $horizon, confidence: $confidence) {
    direction slopePerSecond strength forecast { timestamp value lower upper } } }`;

describe("trend", () => {
  it("finds an exact line, forecasts along it, and says FLAT for noise without slope", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(2);
    const points = [];
    for (let i = 0; i < 60; i++) {
      points.push({ name: "disk_used", timestamp: base + i * MINUTE, value: 100 + 0.5 * i * 60 }); // +0.5 per second
      points.push({ name: "disk_free", timestamp: base + i * MINUTE, value: 500 - 0.25 * i * 60 });
      points.push({ name: "noise", timestamp: base + i * MINUTE, value: i % 2 ? 10 : 12 });
    }
    await ingestOk(s, t.key, points);
    const v = { from: base, to: base + HOUR - 1, step: 60 };
    const up = (await gqlOk(s.url, t.key, TREND, { ...v, selector: { name: "disk_used" }, horizon: 300 })).trend;
    expect(up.direction).toBe("UP");
    expect(up.slopePerSecond).toBeCloseTo(0.5, 9);
    expect(up.strength).toBeCloseTo(1, 9);
    // five forecast points, one per step after the last bucket, on the line and (a perfect fit) with no spread
    expect(up.forecast.map((f: { timestamp: string }) => Date.parse(f.timestamp))).toEqual([1, 2, 3, 4, 5].map((k) => base + HOUR - MINUTE + k * MINUTE));
    up.forecast.forEach((f: { timestamp: string; value: number; lower: number; upper: number }) => {
      const expected = 100 + 0.5 * ((Date.parse(f.timestamp) - base) / 1000);
      expect(f.value).toBeCloseTo(expected, 6);
      expect(f.upper - f.lower).toBeCloseTo(0, 6);
    });
    const down = (await gqlOk(s.url, t.key, TREND, { ...v, selector: { name: "disk_free" } })).trend;
    expect([down.direction, down.forecast.length]).toEqual(["DOWN", 10]);
    expect(down.slopePerSecond).toBeCloseTo(-0.25, 9);
    const flat = (await gqlOk(s.url, t.key, TREND, { ...v, selector: { name: "noise" } })).trend;
    expect(flat.direction).toBe("FLAT");
    expect(flat.strength).toBeLessThan(0.1);
  });

  it("gives prediction intervals that match an independent least-squares computation", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(2);
    const ys = [3, 5, 4, 7, 6, 9, 8, 11, 12, 10, 13, 15]; // one sample per 60 s bucket
    await ingestOk(s, t.key, ys.map((value, i) => ({ name: "m", timestamp: base + i * MINUTE, value })));
    const { trend } = await gqlOk(s.url, t.key, TREND, { selector: { name: "m" }, from: base, to: base + 12 * MINUTE - 1, step: 60, horizon: 60, confidence: 0.95 });
    // OLS by hand on x = bucket start in seconds
    const xs = ys.map((_, i) => (base + i * MINUTE) / 1000);
    const n = ys.length;
    const mx = xs.reduce((a, b) => a + b, 0) / n;
    const my = ys.reduce((a, b) => a + b, 0) / n;
    const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    const sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
    const slope = sxy / sxx;
    const sse = xs.reduce((a, x, i) => a + (ys[i]! - (my + slope * (x - mx))) ** 2, 0);
    const sst = ys.reduce((a, y) => a + (y - my) ** 2, 0);
    expect(trend.slopePerSecond).toBeCloseTo(slope, 12);
    expect(trend.strength).toBeCloseTo(1 - sse / sst, 10);
    const x0 = (base + 12 * MINUTE) / 1000;
    const yhat = my + slope * (x0 - mx);
    const half = 2.228139 * Math.sqrt(sse / (n - 2)) * Math.sqrt(1 + 1 / n + (x0 - mx) ** 2 / sxx); // t(0.975, 10 df)
    expect(trend.forecast).toHaveLength(1);
    expect(trend.forecast[0].value).toBeCloseTo(yhat, 8);
    expect(trend.forecast[0].lower).toBeCloseTo(yhat - half, 4);
    expect(trend.forecast[0].upper).toBeCloseTo(yhat + half, 4);
    expectError(await gql(s.url, t.key, TREND, { selector: { name: "m" }, from: base, to: base + HOUR, step: 60, confidence: 1 }), "BAD_USER_INPUT", "confidence");
  });
});

const CORRELATION = `query($a: SeriesSelectorInput!, $b: SeriesSelectorInput!, $from: DateTime!, $to: DateTime!, $step: Int!) {
  correlation(a: $a, b: $b, from: $from, to: $to, stepSeconds: $step) { coefficient pValue points } }`;

describe("correlation", () => {
  it("is Pearson's r over buckets where both sides have data, with a two-sided p-value", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(2);
    const a = [1, 2, 3, 4, 5, 6];
    const c = [2, 1, 4, 3, 7, 5];
    const points = [];
    for (let i = 0; i < a.length; i++) {
      points.push({ name: "a", timestamp: base + i * MINUTE, value: a[i]! });
      points.push({ name: "b", timestamp: base + i * MINUTE, value: 2 * a[i]! + 1 });
      points.push({ name: "c", timestamp: base + i * MINUTE, value: c[i]! });
    }
    points.push({ name: "a", timestamp: base + 6 * MINUTE, value: 100 }); // no partner bucket in b or c
    await ingestOk(s, t.key, points);
    const v = { from: base, to: base + 10 * MINUTE, step: 60 };
    const perfect = (await gqlOk(s.url, t.key, CORRELATION, { ...v, a: { name: "a" }, b: { name: "b" } })).correlation;
    expect(perfect.points).toBe(6);
    expect(perfect.coefficient).toBeCloseTo(1, 12);
    expect(perfect.pValue).toBeCloseTo(0, 12);
    // by hand: a − ā = [-2.5 … 2.5], c − c̄ = [-1.667, -2.667, 0.333, -0.667, 3.333, 1.333];
    // Sxy = 4.1667 + 4 − 0.1667 − 0.3333 + 5 + 3.3333 = 16, Sxx = 17.5, Syy = 23.333
    // → r = 16 / √(17.5 · 23.333) = 0.791795
    const partial = (await gqlOk(s.url, t.key, CORRELATION, { ...v, a: { name: "a" }, b: { name: "c" } })).correlation;
    expect(partial.coefficient).toBeCloseTo(0.791795, 5);
    // t = r √(4 / (1 − r²)) = 2.592701 with 4 df; closed form for 4 df with x = t / √(4 + t²):
    // F(t) = ½ + ¾·x·(1 − x²/3) → two-sided p = 2 (1 − F) = 0.060511
    expect(partial.pValue).toBeCloseTo(0.060511, 5);
    const none = (await gqlOk(s.url, t.key, CORRELATION, { ...v, a: { name: "a" }, b: { name: "missing" } })).correlation;
    expect(none).toEqual({ coefficient: null, pValue: null, points: 0 });
  });
});

const SERIES = `query($selector: SeriesSelectorInput!, $first: Int, $after: String) {
  series(selector: $selector, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id name type labels firstSeenAt lastSeenAt } } }`;

describe("series, samples and labelValues", () => {
  it("selects by name, glob and Prometheus matchers, and pages through the result", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(1);
    await ingestOk(s, t.key, [
      { name: "system.cpu.user", labels: { host: "web-1", env: "prod" }, timestamp: base, value: 1 },
      { name: "system.cpu.idle", labels: { host: "web-2", env: "prod" }, timestamp: base, value: 1 },
      { name: "system.mem.used", labels: { host: "db-1" }, timestamp: base, value: 1 },
      { name: "system_cpu_x", labels: { host: "web-3" }, timestamp: base, value: 1 },
    ]);
    const names = async (selector: unknown) =>
      ((await gqlOk(s.url, t.key, SERIES, { selector })).series.nodes as Array<{ name: string }>).map((n) => n.name).sort();
    expect(await names({ name: "system.cpu.user" })).toEqual(["system.cpu.user"]);
    // `.` and `_` are literal in globs: system_cpu_x is not system.cpu.*
    expect(await names({ name: "system.cpu.*" })).toEqual(["system.cpu.idle", "system.cpu.user"]);
    expect(await names({ name: "*", matchers: [{ label: "env", value: "prod" }] })).toEqual(["system.cpu.idle", "system.cpu.user"]);
    expect(await names({ name: "*", matchers: [{ label: "env", op: "NEQ", value: "prod" }] })).toEqual(["system.mem.used", "system_cpu_x"]);
    expect(await names({ name: "*", matchers: [{ label: "env", op: "EQ", value: "" }] })).toEqual(["system.mem.used", "system_cpu_x"]);
    // anchored: "web" alone matches no host
    expect(await names({ name: "*", matchers: [{ label: "host", op: "REGEX", value: "web" }] })).toEqual([]);
    expect(await names({ name: "*", matchers: [{ label: "host", op: "REGEX", value: "web-[12]" }] })).toEqual(["system.cpu.idle", "system.cpu.user"]);
    expect(await names({ name: "*", matchers: [{ label: "host", op: "NOT_REGEX", value: "web-.*" }] })).toEqual(["system.mem.used"]);

    const first = (await gqlOk(s.url, t.key, SERIES, { selector: { name: "*" }, first: 3 })).series;
    expect([first.totalCount, first.nodes.length, first.pageInfo.hasNextPage]).toEqual([4, 3, true]);
    const rest = (await gqlOk(s.url, t.key, SERIES, { selector: { name: "*" }, first: 3, after: first.pageInfo.endCursor })).series;
    expect([rest.nodes.length, rest.pageInfo.hasNextPage]).toEqual([1, false]);
    const all = [...first.nodes, ...rest.nodes].map((n: { id: string }) => n.id);
    expect(new Set(all).size).toBe(4);
    const filteredPage = (await gqlOk(s.url, t.key, SERIES, { selector: { name: "*", matchers: [{ label: "host", op: "REGEX", value: "web-.*" }] }, first: 2 })).series;
    expect([filteredPage.totalCount, filteredPage.nodes.length, filteredPage.pageInfo.hasNextPage]).toEqual([3, 2, true]);
  });

  it("returns samples of a series oldest first, from `from` or the latest ones", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(1);
    await ingestOk(s, t.key, [0, 1, 2, 3, 4].map((i) => ({ name: "s", type: "COUNTER" as const, timestamp: base + i * 1_000, value: i * 10 })));
    const q = `query($from: DateTime, $to: DateTime, $limit: Int) { series(selector: { name: "s" }) { nodes { type firstSeenAt lastSeenAt lastValue samples(from: $from, to: $to, limit: $limit) { timestamp value } } } }`;
    const values = async (v: Record<string, unknown>) =>
      ((await gqlOk(s.url, t.key, q, v)).series.nodes[0].samples as Array<{ value: number }>).map((x) => x.value);
    expect(await values({})).toEqual([0, 10, 20, 30, 40]);
    expect(await values({ from: base + 1_000, limit: 2 })).toEqual([10, 20]);
    expect(await values({ limit: 2 })).toEqual([30, 40]);
    expect(await values({ from: base + 1_000, to: base + 3_000 })).toEqual([10, 20, 30]);
    const node = (await gqlOk(s.url, t.key, q, {})).series.nodes[0];
    expect(node.type).toBe("COUNTER");
    expect(node.lastValue).toBe(40);
    expect([Date.parse(node.firstSeenAt), Date.parse(node.lastSeenAt)]).toEqual([base, base + 4_000]);
    expectError(await gql(s.url, t.key, q, { limit: 10_001 }), "BAD_USER_INPUT", "limit");
  });

  it("lists label values, sorted, of all or of the selected series, and metric names as __name__", async () => {
    const t = await seedTenant(s);
    const base = hourAgo(1);
    await ingestOk(s, t.key, [
      { name: "up", labels: { job: "node", host: "b" }, timestamp: base, value: 1 },
      { name: "up", labels: { job: "api", host: "a" }, timestamp: base, value: 1 },
      { name: "load", labels: { host: "c" }, timestamp: base, value: 1 },
    ]);
    const lv = `query($label: String!, $selector: SeriesSelectorInput) { labelValues(label: $label, selector: $selector) }`;
    expect((await gqlOk(s.url, t.key, lv, { label: "host" })).labelValues).toEqual(["a", "b", "c"]);
    expect((await gqlOk(s.url, t.key, lv, { label: "host", selector: { name: "up" } })).labelValues).toEqual(["a", "b"]);
    expect((await gqlOk(s.url, t.key, lv, { label: "__name__" })).labelValues).toEqual(["load", "up"]);
    expect((await gqlOk(s.url, t.key, lv, { label: "job", selector: { name: "load" } })).labelValues).toEqual([]);
    expectError(await gql(s.url, t.key, lv, { label: "bad-label" }), "BAD_USER_INPUT", "label");
  });
});

describe("tenant isolation and scopes", () => {
  it("never shows another tenant's series, samples or values, even with a matching selector", async () => {
    const a = await seedTenant(s);
    const b = await seedTenant(s);
    const base = hourAgo(1);
    await ingestOk(s, a.key, [{ name: "shared_name", labels: { owner: "a" }, timestamp: base, value: 1 }]);
    await ingestOk(s, b.key, [{ name: "shared_name", labels: { owner: "b" }, timestamp: base, value: 1_000 }]);
    const sel = { name: "shared_name" };
    const seen = (await gqlOk(s.url, b.key, SERIES, { selector: { name: "*" } })).series;
    expect(seen.nodes.map((n: { labels: unknown }) => n.labels)).toEqual([{ owner: "b" }]);
    const agg = await aggregate(b.key, { selector: sel, from: base, to: base + 59_999, step: 60, fn: "SUM", groupBy: [] });
    expect(agg[0]!.buckets[0]!.value).toBe(1_000);
    expect((await gqlOk(s.url, b.key, SUMMARY, { selector: sel, from: base, to: base + 1 })).summary.count).toBe(1);
    expect((await gqlOk(s.url, b.key, `{ labelValues(label: "owner") }`)).labelValues).toEqual(["b"]);
    expect((await gqlOk(s.url, b.key, TREND, { selector: sel, from: base, to: base + 59_999, step: 60 })).trend.slopePerSecond).toBe(0);
  });

  it("answers FORBIDDEN without METRICS_READ, and to a platform admin who has no tenant", async () => {
    const t = await seedTenant(s);
    const writer = await t.keyWith(["METRICS_WRITE"]);
    const base = hourAgo(1);
    const queries: Array<[string, Record<string, unknown>]> = [
      [SERIES, { selector: { name: "*" } }],
      [AGGREGATE, { selector: { name: "x" }, from: base, to: base + 1, step: 60, fn: "AVG" }],
      [SUMMARY, { selector: { name: "x" }, from: base, to: base + 1 }],
      [TREND, { selector: { name: "x" }, from: base, to: base + 1, step: 60 }],
      [CORRELATION, { a: { name: "x" }, b: { name: "y" }, from: base, to: base + 1, step: 60 }],
      [`{ labelValues(label: "x") }`, {}],
    ];
    for (const [q, v] of queries) {
      expectError(await gql(s.url, writer.key, q, v), "FORBIDDEN", "METRICS_READ");
      expectError(await gql(s.url, s.adminKey, q, v), "FORBIDDEN", "tenant");
      expectError(await gql(s.url, undefined, q, v), "UNAUTHENTICATED");
    }
  });
});
