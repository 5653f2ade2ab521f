import pino from "pino";
import { Writable } from "node:stream";
import { seedTenant } from "../builders/tenant.builder";
import { gql } from "../support/gql";
import { type TestServer, startServer } from "../support/server";

// Breaks its server's database on purpose, so it has a file (and a server) of its own.
const lines: Array<Record<string, unknown>> = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
    done();
  },
});

let s: TestServer;
beforeAll(async () => {
  s = await startServer({}, undefined, pino({ level: "info" }, sink));
});
afterAll(async () => {
  await s?.stop();
});

it("an unexpected failure reaches the client masked, the log keeps the original with the request id, and /readyz says why", async () => {
  const t = await seedTenant(s);
  await s.app.db.dataSource.destroy(); // the database goes away under a running server

  const ready = await fetch(`${s.baseUrl}/readyz`);
  expect(ready.status).toBe(503);
  const body = (await ready.json()) as { status: string; reason: string };
  expect(body.status).toBe("unavailable");
  expect(body.reason).toMatch(/^database unreachable: /);

  const res = await fetch(s.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${s.adminKey}`, "x-request-id": "mask-probe-1" },
    body: JSON.stringify({ query: "{ tenants { id } }" }),
  });
  const answer = (await res.json()) as { errors: Array<{ message: string; extensions: Record<string, unknown> }> };
  expect(answer.errors).toHaveLength(1);
  expect(answer.errors[0]!.message).toBe("Unexpected error.");
  expect(answer.errors[0]!.extensions).toEqual({ code: "INTERNAL_SERVER_ERROR" });

  const logged = lines.find((l) => l.reqId === "mask-probe-1" && l.msg === "unexpected error in a GraphQL operation");
  expect(logged).toBeDefined();
  expect(JSON.stringify(logged!.err)).not.toContain("Unexpected error.");
  // every line of the request carries its id, and no header (keys!) is logged
  const requestLines = lines.filter((l) => (l.req as { id?: string } | undefined)?.id === "mask-probe-1");
  expect(requestLines.map((l) => l.msg)).toEqual(expect.arrayContaining(["request completed"]));
  expect(JSON.stringify(lines)).not.toContain(s.adminKey);

  // a tenant key needs the database to authenticate: still masked, never a stack or SQL
  const r = await gql(s.url, t.key, `{ viewer { platformAdmin } }`);
  expect(r.errors![0]!.message).toBe("Unexpected error.");
  expect(r.errors![0]!.extensions).toEqual({ code: "INTERNAL_SERVER_ERROR" });
});
