import { expectError, gql, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";

// A server with INTROSPECTION=false and default limits. Its own file: one embedded database per
// process (typeorm-pglite holds a single PGlite instance).
let s: TestServer;
beforeAll(async () => {
  s = await startServer({ INTROSPECTION: "false" });
});
afterAll(async () => {
  await s?.stop();
});

it("INTROSPECTION=false rejects introspection and still serves operations", async () => {
  expectError(await gql(s.url, undefined, `{ __schema { queryType { name } } }`), "GRAPHQL_VALIDATION_FAILED", /introspection/i);
  expect((await gqlOk(s.url, s.adminKey, `{ viewer { platformAdmin } }`)).viewer.platformAdmin).toBe(true);
});

it("a document over the token limit is refused while parsing", async () => {
  const many = `{ ${Array.from({ length: 12_000 }, () => "__typename").join(" ")} }`;
  const r = await gql(s.url, s.adminKey, many);
  expect(r.status).toBe(400);
  expectError(r, "GRAPHQL_PARSE_FAILED", /more that 10000 tokens/);
});
