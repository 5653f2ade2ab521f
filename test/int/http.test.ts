import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildClientSchema, getIntrospectionQuery, type IntrospectionQuery } from "graphql";
import { printSortedSchema } from "../../src/schema/build-schema";
import { expectError, gql, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";
import { collect, wsClient } from "../support/ws";

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ MAX_BODY_BYTES: "4096", MAX_QUERY_DEPTH: "2", MAX_ALIASES: "3" });
});
afterAll(async () => {
  await s?.stop();
});

describe("health, readiness and metrics", () => {
  it("GET /healthz answers 200", async () => {
    const res = await fetch(`${s.baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("GET /readyz answers 200 with the database kind", async () => {
    const res = await fetch(`${s.baseUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ready", database: process.env.DATABASE_URL ? "postgres" : "embedded" });
  });

  it("GET /metrics exposes operations by name and outcome, sockets and the database", async () => {
    await gql(s.url, s.adminKey, `query MetricsProbe { viewer { platformAdmin } }`);
    await gql(s.url, undefined, `query MetricsProbe { viewer { platformAdmin } }`);
    const res = await fetch(`${s.baseUrl}/metrics`);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toMatch(/vigil_graphql_operations_total\{operation="MetricsProbe",type="query",outcome="success"\} 1/);
    expect(text).toMatch(/vigil_graphql_operations_total\{operation="MetricsProbe",type="query",outcome="error"\} 1/);
    expect(text).toMatch(/vigil_graphql_operation_duration_seconds_bucket\{le="0.1",operation="MetricsProbe"/);
    expect(text).toMatch(/^vigil_ws_connections \d+/m);
    expect(text).toMatch(/^vigil_ws_subscriptions \d+/m);
    expect(text).toMatch(/^vigil_db_embedded_queue_depth \d+/m);
    if (process.env.DATABASE_URL) expect(text).toMatch(/vigil_db_pool_connections\{state="total"\} \d+/);
  });

  it("counts WebSocket operations too", async () => {
    const { client } = wsClient(s.wsUrl, s.adminKey);
    const q = collect(client, `query WsProbe { viewer { platformAdmin } }`);
    await q.until(() => q.completed);
    const bad = collect(client, `query WsProbe { nope }`, undefined, "WsProbe");
    await bad.until(() => bad.error !== undefined);
    await client.dispose();
    const text = await (await fetch(`${s.baseUrl}/metrics`)).text();
    expect(text).toMatch(/vigil_graphql_operations_total\{operation="WsProbe",type="query",outcome="success"\} 1/);
    expect(text).toMatch(/vigil_graphql_operations_total\{operation="WsProbe",type="unknown",outcome="error"\} 1/);
  });

  it("echoes a given X-Request-Id and makes one otherwise", async () => {
    const given = await fetch(s.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "trace-123" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(given.headers.get("x-request-id")).toBe("trace-123");
    const made = await fetch(`${s.baseUrl}/healthz`);
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("GET /graphql", () => {
  it("answers queries (with Apollo's CSRF preflight header) and refuses mutations", async () => {
    const q = encodeURIComponent("{ viewer { platformAdmin } }");
    const headers = { authorization: `Bearer ${s.adminKey}`, "apollo-require-preflight": "true" };
    const res = await fetch(`${s.url}?query=${q}`, { headers });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { viewer: { platformAdmin: true } } });
    const m = encodeURIComponent(`mutation { deleteTenant(id: "00000000-0000-4000-8000-000000000000") }`);
    const refused = await fetch(`${s.url}?query=${m}`, { headers });
    expect(refused.status).toBe(405);
    const noPreflight = await fetch(`${s.url}?query=${q}`, { headers: { authorization: `Bearer ${s.adminKey}` } });
    expect(noPreflight.status).toBe(400);
  });

  it("marks every answer, data or error, as not to be stored by caches", async () => {
    const headers = { authorization: `Bearer ${s.adminKey}`, "apollo-require-preflight": "true" };
    const ok = await fetch(`${s.url}?query=${encodeURIComponent("{ viewer { platformAdmin } }")}`, { headers });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("cache-control")).toBe("no-store");
    const failed = await fetch(`${s.url}?query=${encodeURIComponent("{ noSuchField }")}`, { headers });
    expect(failed.status).toBe(400);
    expect(failed.headers.get("cache-control")).toBe("no-store");
  });
});

describe("bad requests", () => {
  it("a malformed JSON body gets 400 with BAD_USER_INPUT", async () => {
    const res = await fetch(s.url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"query": "{ viewer' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe("BAD_USER_INPUT");
    expect(body.errors[0]!.message).toContain("malformed JSON");
  });

  it("an oversized body gets 413 naming the limit", async () => {
    const res = await fetch(s.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }", variables: { pad: "x".repeat(10_000) } }),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe("BAD_USER_INPUT");
    expect(body.errors[0]!.message).toContain("4096 bytes");
  });

  it("a WebSocket message over the size limit closes that socket with 1009", async () => {
    const { client, closed } = wsClient(s.wsUrl, s.adminKey);
    collect(client, `{ viewer { platformAdmin } }`, { pad: "x".repeat(10_000) });
    expect((await closed).code).toBe(1009);
    await client.dispose();
  });

  it("a syntax error is GRAPHQL_PARSE_FAILED and an unknown field GRAPHQL_VALIDATION_FAILED", async () => {
    expectError(await gql(s.url, s.adminKey, `{ viewer { `), "GRAPHQL_PARSE_FAILED");
    expectError(await gql(s.url, s.adminKey, `{ viewer { nope } }`), "GRAPHQL_VALIDATION_FAILED", "nope");
  });

  it("the depth and alias limits apply over HTTP and over WebSocket alike", async () => {
    // Seeding a tenant needs depth 3, so this runs with the admin key alone.
    const key = s.adminKey;
    await gqlOk(s.url, key, `{ viewer { platformAdmin } }`);
    const deep = `{ viewer { tenant { id } } }`;
    const aliased = `{ a: viewer { platformAdmin } b: viewer { platformAdmin } c: viewer { platformAdmin } d: viewer { platformAdmin } }`;
    expectError(await gql(s.url, key, deep), "GRAPHQL_VALIDATION_FAILED", /depth/i);
    expectError(await gql(s.url, key, aliased), "GRAPHQL_VALIDATION_FAILED", /aliases/i);

    const { client } = wsClient(s.wsUrl, key);
    const okOverWs = collect(client, `{ viewer { platformAdmin } }`);
    await okOverWs.until(() => okOverWs.completed);
    expect(okOverWs.results[0]!.data).toEqual({ viewer: { platformAdmin: true } });
    for (const query of [deep, aliased]) {
      const r = collect(client, query);
      await r.until(() => r.error !== undefined);
      expect(JSON.stringify(r.error)).toMatch(/depth|aliases/i);
      expect(r.results).toHaveLength(0);
    }
    await client.dispose();
  });
});

describe("schema", () => {
  it("introspection is on by default and the running schema equals the committed schema.graphql", async () => {
    const { __schema } = await gqlOk(s.url, undefined, getIntrospectionQuery({ descriptions: true, specifiedByUrl: true }));
    const running = printSortedSchema(buildClientSchema({ __schema } as IntrospectionQuery));
    const committed = readFileSync(join(__dirname, "..", "..", "schema.graphql"), "utf8");
    expect(running).toBe(committed);
  });
});
