import { uniqueSlug } from "../builders/tenant.builder";
import { type TestServer, startServer } from "../support/server";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.stop();
});

it("a transaction rolled back after writing never takes other callers' concurrent writes with it", async () => {
  const tag = uniqueSlug("tx");
  const work = Array.from({ length: 60 }, (_, i) =>
    s.app.db.transaction(async (m) => {
      await m.query(`INSERT INTO platform_audit_entries (actor, action) VALUES ('test', $1)`, [`${tag}-${i}`]);
      await new Promise((r) => setTimeout(r, i % 3)); // let other callers interleave
      if (i % 2 === 1) throw new Error(`rollback ${i}`);
    }),
  );
  const settled = await Promise.allSettled(work);
  expect(settled.filter((r) => r.status === "rejected")).toHaveLength(30);
  const rows = await s.app.db.query<{ action: string }>(`SELECT action FROM platform_audit_entries WHERE action LIKE $1`, [`${tag}-%`]);
  const expected = Array.from({ length: 30 }, (_, k) => `${tag}-${k * 2}`);
  expect(rows.map((r) => r.action).sort()).toEqual(expected.sort());
});

it("afterCommit callbacks run only for committed transactions, nested calls join the outer one", async () => {
  const seen: string[] = [];
  await s.app.db.transaction(async () => {
    s.app.db.afterCommit(() => seen.push("outer"));
    await s.app.db.transaction(async () => s.app.db.afterCommit(() => seen.push("inner")));
    expect(seen).toEqual([]);
  });
  await expect(
    s.app.db.transaction(async () => {
      s.app.db.afterCommit(() => seen.push("rolled back"));
      throw new Error("no");
    }),
  ).rejects.toThrow("no");
  expect(seen).toEqual(["outer", "inner"]);
});
