import { expectError, gql, gqlOk } from "../support/gql";
import { type TestServer, startServer } from "../support/server";

// Its own file: one embedded database per process (typeorm-pglite holds a single PGlite instance).
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
