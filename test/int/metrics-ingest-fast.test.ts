import "reflect-metadata";
import type { GraphQLFormattedError } from "graphql";
import { hourAgo, rowsOf } from "../builders/metrics.builder";
import { type SeededTenant, seedTenant } from "../builders/tenant.builder";
import { ingestHandOff } from "../../src/resolvers/metrics.resolver";
import { type TestServer, startServer } from "../support/server";

/**
 * The HTTP ingest fast path (src/server/ingest-fast-path.ts) against the regular graphql-js path:
 * the same variables sent as `ingestMetrics(points: $points)` alone (fast path) and with an extra
 * root `__typename` (regular path: graphql-js coerces every point), each into a fresh tenant,
 * must get the same HTTP status, data and errors (message, code, field, path, locations) and
 * write the same rows. `ingestHandOff.give` is watched to know which path a request took.
 */

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ ROLLUP_INTERVAL_MS: "600000" });
});
afterAll(async () => {
  await s?.stop();
});

const FAST = `mutation Ingest($points: [MetricPointInput!]!) { ingestMetrics(points: $points) { accepted seriesCreated } }`;
// `__typename` last, so that every error location is the same in both documents
const REGULAR = `mutation Ingest($points: [MetricPointInput!]!) { ingestMetrics(points: $points) { accepted seriesCreated } __typename }`;

interface Reply {
  status: number;
  headers: Headers;
  data?: Record<string, unknown> | null;
  errors?: GraphQLFormattedError[];
}

/** POSTs a body given as JSON text (so that values JSON.stringify cannot write, like 1e400, can be sent). */
async function post(key: string | undefined, body: string): Promise<Reply> {
  const res = await fetch(s.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body,
  });
  const text = await res.text();
  let parsed: { data?: Record<string, unknown> | null; errors?: GraphQLFormattedError[] };
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`non-JSON response ${res.status}: ${text.slice(0, 500)}`);
  }
  return { status: res.status, headers: res.headers, data: parsed.data, errors: parsed.errors };
}

function bodyOf(query: string, variablesJson: string | undefined): string {
  return `{"query":${JSON.stringify(query)}${variablesJson === undefined ? "" : `,"variables":${variablesJson}`}}`;
}

let give: jest.SpyInstance;
beforeEach(() => {
  give = jest.spyOn(ingestHandOff, "give");
});
afterEach(() => {
  give.mockRestore();
});

/** True when the requests since the last call were taken by the fast path (a hand-off was accepted). */
function tookFastPath(): boolean {
  const taken = give.mock.results.some((r) => r.type === "return" && r.value === true);
  give.mockClear();
  return taken;
}

/** What must be equal between the paths: status, data without the extra `__typename`, errors. */
function comparable(r: Reply) {
  let data = r.data;
  if (data) {
    const { __typename: _t, ...rest } = data;
    data = rest;
  }
  return { status: r.status, data, errors: r.errors };
}

async function rowsOfTenant(t: SeededTenant): Promise<{ series: number; samples: number }> {
  return { series: await rowsOf(s, "metric_series", t.id), samples: await rowsOf(s, "metric_samples", t.id) };
}

interface Compared {
  fast: Reply;
  fastPath: boolean;
  rows: { series: number; samples: number };
}

/**
 * Sends the same variables through both paths, each into a new tenant made with `tenant` settings
 * (after `setup` ran on it), and asserts the answers and the rows written are equal.
 */
async function compare(
  variablesJson: string | undefined,
  tenant: Record<string, unknown> = {},
  setup?: (t: SeededTenant) => Promise<unknown>,
): Promise<Compared> {
  const [a, b] = await Promise.all([seedTenant(s, tenant), seedTenant(s, tenant)]);
  await setup?.(a);
  give.mockClear();
  const fast = await post(a.key, bodyOf(FAST, variablesJson));
  const fastPath = tookFastPath();
  await setup?.(b);
  give.mockClear();
  const regular = await post(b.key, bodyOf(REGULAR, variablesJson));
  expect(tookFastPath()).toBe(false);
  expect(comparable(fast)).toEqual(comparable(regular));
  const rows = await rowsOfTenant(a);
  expect(rows).toEqual(await rowsOfTenant(b));
  return { fast, fastPath, rows };
}

const base = hourAgo(2);
const json = (v: unknown) => JSON.stringify(v);
const points = (...p: unknown[]) => json({ points: p });
const ok = { name: "fine", value: 1, timestamp: base };

describe("ingestMetrics fast path: answers equal to graphql-js coercion", () => {
  const good: Array<[string, string, { accepted: number; seriesCreated: number }]> = [
    [
      "points with every field, ISO and epoch timestamps, nulls",
      points(
        { name: "cpu", value: 0.5, timestamp: new Date(base).toISOString(), type: "GAUGE", labels: { host: "a", core: "0" } },
        { name: "cpu", value: -2, timestamp: base + 1_000, labels: { core: "0", host: "a" } },
        { name: "jobs_total", value: 3, timestamp: new Date(base).toISOString().replace("Z", "+00:00"), type: "COUNTER", labels: null },
        { name: "mem", value: 1.5e15, timestamp: null, type: null },
        { labels: { z: "" }, value: 7, name: "ordered_differently", timestamp: base + 0.5 },
      ),
      { accepted: 5, seriesCreated: 4 },
    ],
    ["an empty list", points(), { accepted: 0, seriesCreated: 0 }],
    [
      "points out of time order, with a repeated timestamp",
      points(
        ...[3, 1, 2, 1, 0].map((k, i) => ({ name: "late", labels: { s: "a" }, value: 10 * k + i, timestamp: base + k * 1_000 })),
        ...[2, 0].map((k) => ({ name: "late", labels: { s: "b" }, value: k, timestamp: base + k * 1_000 })),
      ),
      { accepted: 7, seriesCreated: 2 },
    ],
    ["a date-only timestamp", points({ name: "d", value: 1, timestamp: new Date(base).toISOString().slice(0, 10) }), { accepted: 1, seriesCreated: 1 }],
    ["integers for the Float value", points({ name: "i", value: 42, timestamp: base }, { name: "i", value: 0, timestamp: base + 1 }), { accepted: 2, seriesCreated: 1 }],
  ];
  it.each(good)("accepts %s on the fast path", async (_what, variables, expected) => {
    const r = await compare(variables);
    expect(r.fastPath).toBe(true);
    expect(r.fast.data).toEqual({ ingestMetrics: expected });
  });

  it("stores points sent out of time order in time order, the later of a repeated timestamp winning", async () => {
    const t = await seedTenant(s);
    const sent = [3, 1, 2, 1, 0].map((k, i) => ({ name: "late", value: 10 * k + i, timestamp: base + k * 1_000 }));
    await post(t.key, bodyOf(FAST, points(...sent, { name: "early", value: 5, timestamp: base })));
    expect(tookFastPath()).toBe(true);
    const rows = await s.app.db.query<{ ts: number; value: number }>(
      `SELECT x.ts::float8 AS ts, x.value FROM metric_samples x JOIN metric_series m ON m.id = x.series_id WHERE x.tenant_id = $1 AND m.name = 'late' ORDER BY x.ts`,
      [t.id],
    );
    expect(rows.map((r) => [r.ts - base, r.value])).toEqual([[0, 4], [1_000, 13], [2_000, 22], [3_000, 30]]);
  });

  it("accepts a single object where the list is expected, as graphql-js does (left to graphql-js)", async () => {
    const r = await compare(json({ points: ok }));
    expect(r.fastPath).toBe(false);
    expect(r.fast.data).toEqual({ ingestMetrics: { accepted: 1, seriesCreated: 1 } });
  });

  // Values graphql-js refuses while coercing the variable: the fast path leaves them to it, so the
  // answers are graphql-js's own (HTTP 400, BAD_USER_INPUT, the point's path in the message).
  const coercion: Array<[string, string | undefined, string]> = [
    ["a numeric string for value", points(ok, { name: "m", value: "1" }), `at "points[1].value"`],
    ["a boolean value", points(ok, { name: "m", value: true }), `at "points[1].value"`],
    ["a null value", points(ok, { name: "m", value: null }), `at "points[1].value"`],
    ["a missing value", points(ok, { name: "m" }), `at "points[1]"`],
    ["an overflowing value (1e400)", `{"points":[${json(ok)},{"name":"m","value":1e400}]}`, `at "points[1].value"`],
    ["a number for name", points(ok, { name: 5, value: 1 }), `at "points[1].name"`],
    ["a missing name", points(ok, { value: 1 }), `at "points[1]"`],
    ["an unknown field", points(ok, { name: "m", value: 1, unit: "s" }), `at "points[1]"`],
    ["a __proto__ field", `{"points":[${json(ok)},{"name":"m","value":1,"__proto__":{"x":1}}]}`, `at "points[1]"`],
    ["a string for labels", points(ok, { name: "m", value: 1, labels: "host=a" }), `at "points[1].labels"`],
    ["a list for labels", points(ok, { name: "m", value: 1, labels: ["a"] }), `at "points[1].labels"`],
    ["a timestamp that is not a date", points(ok, { name: "m", value: 1, timestamp: "yesterday" }), `at "points[1].timestamp"`],
    ["a boolean timestamp", points(ok, { name: "m", value: 1, timestamp: true }), `at "points[1].timestamp"`],
    ["an unknown type", points(ok, { name: "m", value: 1, type: "HISTOGRAM" }), `at "points[1].type"`],
    ["a null point", points(ok, null), `at "points[1]"`],
    ["a point that is a string", points(ok, "m 1"), `at "points[1]"`],
    ["null for the list", json({ points: null }), `"$points" of non-null type`],
    ["no variables at all", undefined, `"$points" of required type`],
  ];
  it.each(coercion)("rejects %s exactly as graphql-js does, writing nothing", async (_what, variables, messagePart) => {
    const r = await compare(variables);
    expect(r.fastPath).toBe(false);
    expect(r.fast.status).toBe(400);
    expect(r.fast.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(r.fast.errors?.[0]?.message).toContain(messagePart);
    expect(r.rows).toEqual({ series: 0, samples: 0 });
  });

  it("reports every refused point, as graphql-js does", async () => {
    const r = await compare(points({ name: "m", value: "x" }, ok, { name: 1, value: 1, extra: true }));
    expect(r.fast.errors?.map((e) => e.message.match(/at "([^"]+)"/)?.[1])).toEqual(["points[0].value", "points[2].name", "points[2]"]);
  });

  // Values of the right GraphQL types that break the input rules: checked by the domain on both
  // paths, BAD_USER_INPUT with extensions.field naming the point and field.
  const rules: Array<[string, string, string]> = [
    ["a name starting with a digit", points(ok, { name: "1abc", value: 1, timestamp: base }), "points[1].name"],
    ["a label value that is not a string", points(ok, { name: "m", value: 1, timestamp: base, labels: { k: 5 } }), "points[1].labels.k"],
    ["a reserved label name", points(ok, { name: "m", value: 1, timestamp: base, labels: { __name__: "x" } }), "points[1].labels.__name__"],
    ["a timestamp older than retention", points(ok, { name: "m", value: 1, timestamp: Date.now() - 40 * 86_400_000 }), "points[1].timestamp"],
    ["a timestamp 11 minutes ahead", points(ok, { name: "m", value: 1, timestamp: Date.now() + 11 * 60_000 }), "points[1].timestamp"],
    ["10,001 points", json({ points: Array.from({ length: 10_001 }, (_, i) => ({ name: "big", value: i, timestamp: base + i })) }), "points"],
  ];
  it.each(rules)("rejects %s on the fast path with the domain's error, writing nothing", async (_what, variables, field) => {
    const r = await compare(variables, { maxSamplesPerSecond: 1_000_000 });
    expect(r.fastPath).toBe(true);
    expect(r.fast.status).toBe(200);
    expect(r.fast.data).toBeNull();
    expect(r.fast.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
    expect(r.rows).toEqual({ series: 0, samples: 0 });
  });

  it("rejects a point of the other type than its series' on the fast path", async () => {
    const counter = (t: SeededTenant) => post(t.key, bodyOf(FAST, points({ name: "jobs_total", type: "COUNTER", value: 1, timestamp: base })));
    const r = await compare(points(ok, { name: "jobs_total", type: "GAUGE", value: 2, timestamp: base + 1 }), {}, counter);
    expect(r.fastPath).toBe(true);
    expect(r.fast.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "points[1].type" });
    expect(r.rows).toEqual({ series: 1, samples: 1 });
  });

  it("answers QUOTA_EXCEEDED on the fast path and writes nothing of the batch", async () => {
    const r = await compare(
      points(...[1, 2, 3, 4].map((i) => ({ name: "q", labels: { i: String(i) }, value: i, timestamp: base }))),
      { maxSeries: 3 },
    );
    expect(r.fastPath).toBe(true);
    expect(r.fast.errors?.[0]?.extensions?.code).toBe("QUOTA_EXCEEDED");
    expect(r.rows).toEqual({ series: 0, samples: 0 });
  });

  it("answers RATE_LIMITED with retryAfterSeconds on the fast path and writes nothing of the batch", async () => {
    // 8 points, then 5 more within the same second of a budget of 10. A loaded machine may let the
    // second go by between the two calls (then the 5 pass): such an attempt is tried again.
    const batch = (n: number, offset: number) => json({ points: Array.from({ length: n }, (_, i) => ({ name: "r", value: i, timestamp: base + offset + i })) });
    const limited = async (query: string) => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const t = await seedTenant(s, { maxSamplesPerSecond: 10 });
        await post(t.key, bodyOf(query, batch(8, 0)));
        give.mockClear();
        const r = await post(t.key, bodyOf(query, batch(5, 100)));
        const fastPath = tookFastPath();
        if (r.errors) return { r, fastPath, rows: await rowsOfTenant(t) };
      }
      throw new Error("no RATE_LIMITED answer in 5 attempts");
    };
    const fast = await limited(FAST);
    const regular = await limited(REGULAR);
    expect(fast.fastPath).toBe(true);
    expect(regular.fastPath).toBe(false);
    expect(comparable(fast.r)).toEqual(comparable(regular.r));
    expect(fast.r.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");
    expect(fast.r.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(fast.rows).toEqual({ series: 1, samples: 8 });
  });
});

describe("ingestMetrics fast path: access and isolation", () => {
  const one = points({ name: "m", value: 1, timestamp: base });

  it("answers FORBIDDEN without METRICS_WRITE and to a platform admin, UNAUTHENTICATED without a key", async () => {
    const t = await seedTenant(s);
    const reader = await t.keyWith(["METRICS_READ"]);
    const forbidden = await post(reader.key, bodyOf(FAST, one));
    expect(tookFastPath()).toBe(true);
    expect(forbidden.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(forbidden.errors?.[0]?.message).toContain("metrics:write");
    const admin = await post(s.adminKey, bodyOf(FAST, one));
    expect(admin.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const anonymous = await post(undefined, bodyOf(FAST, one));
    expect(anonymous.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    // the same answers as the regular path
    expect(comparable(await post(reader.key, bodyOf(REGULAR, one)))).toEqual(comparable(forbidden));
    expect(comparable(await post(undefined, bodyOf(REGULAR, one)))).toEqual(comparable(anonymous));
    expect(await rowsOfTenant(t)).toEqual({ series: 0, samples: 0 });
  });

  it("writes into the caller's tenant only; another tenant's series with the same name is untouched", async () => {
    const [a, b] = await Promise.all([seedTenant(s), seedTenant(s)]);
    const series = `query { series(selector: { name: "shared" }) { nodes { labels samples { value } } } }`;
    await post(b.key, bodyOf(FAST, points({ name: "shared", labels: { host: "x" }, value: 1, timestamp: base })));
    const r = await post(a.key, bodyOf(FAST, points({ name: "shared", labels: { host: "x" }, value: 2, timestamp: base })));
    expect(tookFastPath()).toBe(true);
    expect(r.data).toEqual({ ingestMetrics: { accepted: 1, seriesCreated: 1 } });
    expect((await post(a.key, bodyOf(series, undefined))).data).toEqual({ series: { nodes: [{ labels: { host: "x" }, samples: [{ value: 2 }] }] } });
    expect((await post(b.key, bodyOf(series, undefined))).data).toEqual({ series: { nodes: [{ labels: { host: "x" }, samples: [{ value: 1 }] }] } });
  });
});

describe("ingestMetrics fast path: which operations take it", () => {
  let t: SeededTenant;
  beforeAll(async () => {
    t = await seedTenant(s);
  });
  const p1 = { name: "which", labels: { k: "1" }, value: 1, timestamp: base };
  const p2 = { name: "which", labels: { k: "2" }, value: 2, timestamp: base };

  it("takes an aliased field, fragments and the chosen operation of several", async () => {
    const aliased = await post(t.key, bodyOf(`mutation($p: [MetricPointInput!]!) { done: ingestMetrics(points: $p) { n: accepted } }`, json({ p: [p1] })));
    expect(tookFastPath()).toBe(true);
    expect(aliased.data).toEqual({ done: { n: 1 } });
    const fragment = await post(
      t.key,
      bodyOf(`mutation($p: [MetricPointInput!]!) { ingestMetrics(points: $p) { ...R } } fragment R on IngestResult { accepted seriesCreated }`, json({ p: [p1] })),
    );
    expect(tookFastPath()).toBe(true);
    expect(fragment.data).toEqual({ ingestMetrics: { accepted: 1, seriesCreated: 0 } });
    const chosen = await post(
      t.key,
      JSON.stringify({
        query: `query Other { __typename } mutation Write($p: [MetricPointInput!]!) { ingestMetrics(points: $p) { accepted } }`,
        operationName: "Write",
        variables: { p: [p1, p2] },
      }),
    );
    expect(tookFastPath()).toBe(true);
    expect(chosen.data).toEqual({ ingestMetrics: { accepted: 2 } });
  });

  it("leaves two ingestMetrics fields, or the variable used twice, to graphql-js, each field with its own points", async () => {
    const two = await post(
      t.key,
      bodyOf(
        `mutation($a: [MetricPointInput!]!, $b: [MetricPointInput!]!) { a: ingestMetrics(points: $a) { accepted } b: ingestMetrics(points: $b) { accepted } }`,
        json({ a: [p1], b: [p1, p2, { ...p2, timestamp: base + 1 }] }),
      ),
    );
    expect(tookFastPath()).toBe(false);
    expect(two.data).toEqual({ a: { accepted: 1 }, b: { accepted: 3 } });
    const twice = await post(
      t.key,
      bodyOf(`mutation($a: [MetricPointInput!]!) { a: ingestMetrics(points: $a) { accepted } b: ingestMetrics(points: $a) { accepted } }`, json({ a: [p1, p2] })),
    );
    expect(tookFastPath()).toBe(false);
    expect(twice.data).toEqual({ a: { accepted: 2 }, b: { accepted: 2 } });
  });

  it("leaves inline points and directives to graphql-js", async () => {
    const inline = await post(t.key, bodyOf(`mutation { ingestMetrics(points: [{ name: "which", value: 3, timestamp: ${base} }]) { accepted } }`, undefined));
    expect(tookFastPath()).toBe(false);
    expect(inline.data).toEqual({ ingestMetrics: { accepted: 1 } });
    const skipped = await post(
      t.key,
      bodyOf(`mutation($p: [MetricPointInput!]!, $no: Boolean!) { ingestMetrics(points: $p) @skip(if: $no) { accepted } }`, json({ p: [p1], no: true })),
    );
    expect(tookFastPath()).toBe(false);
    expect(skipped.data).toEqual({});
  });

  it("is counted and logged like any operation: request id header, operation metrics", async () => {
    const metric = async () => {
      const text = await (await fetch(`${s.baseUrl}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`vigil_graphql_operations_total{operation="FastCounted",type="mutation",outcome="success"}`));
      return line ? Number(line.split(" ").pop()) : 0;
    };
    const before = await metric();
    const res = await fetch(s.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.key}`, "x-request-id": "fast-path-req-1" },
      body: JSON.stringify({ query: `mutation FastCounted($p: [MetricPointInput!]!) { ingestMetrics(points: $p) { accepted } }`, variables: { p: [p1] } }),
    });
    expect(tookFastPath()).toBe(true);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("fast-path-req-1");
    expect(await res.json()).toEqual({ data: { ingestMetrics: { accepted: 1 } } });
    expect(await metric()).toBe(before + 1);
  });
});
