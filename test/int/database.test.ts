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

it("a prepared statement answers as a query does: outside a transaction, and inside one, where it sees the transaction's own writes", async () => {
  const tag = uniqueSlug("prep");
  const count = `SELECT count(*)::int AS n FROM platform_audit_entries WHERE action = $1`;
  // the same name and text every time, as the hot paths use it; on PostgreSQL each pool connection prepares it once
  for (let i = 0; i < 3; i++) expect(await s.app.db.prepared<{ n: number }>("test_prepared_count", count, [tag])).toEqual([{ n: 0 }]);
  await expect(
    s.app.db.transaction(async (m) => {
      await m.query(`INSERT INTO platform_audit_entries (actor, action) VALUES ('test', $1)`, [tag]);
      expect(await s.app.db.prepared<{ n: number }>("test_prepared_count", count, [tag])).toEqual([{ n: 1 }]);
      throw new Error("roll back");
    }),
  ).rejects.toThrow("roll back");
  expect(await s.app.db.prepared<{ n: number }>("test_prepared_count", count, [tag])).toEqual([{ n: 0 }]);
  if (s.app.db.kind === "postgres") {
    // outside a transaction it is a named statement: prepared on the connection that ran it
    const [prepared] = await s.app.db.prepared<{ n: number }>(
      "test_prepared_self",
      `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'test_prepared_self'`,
      [],
    );
    expect(prepared).toEqual({ n: 1 });
  }
});

// the embedded database has one session: without its mutex these would run inside the open transaction and count its row
it.each(["prepared", "preparedAsyncCommit"] as const)("%s outside a transaction never runs inside another caller's open transaction", async (method) => {
  const tag = uniqueSlug("prep-iso");
  const count = `SELECT count(*)::int AS n FROM platform_audit_entries WHERE action = $1`;
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let inserted!: () => void;
  const didInsert = new Promise<void>((r) => (inserted = r));
  const tx = s.app.db
    .transaction(async (m) => {
      await m.query(`INSERT INTO platform_audit_entries (actor, action) VALUES ('test', $1)`, [tag]);
      inserted();
      await held;
      throw new Error("roll back");
    })
    .catch((err: Error) => err.message);
  await didInsert;
  const seen = s.app.db[method]<{ n: number }>(`test_${method}_iso`, count, [tag]);
  setTimeout(release, 50);
  expect(await seen).toEqual([{ n: 0 }]);
  expect(await tx).toBe("roll back");
});

describe("asynchronous commit (the registry's soft state)", () => {
  const setting = `SELECT current_setting('synchronous_commit') AS v`;
  const count = `SELECT count(*)::int AS n FROM platform_audit_entries WHERE action = $1`;
  const insert = `INSERT INTO platform_audit_entries (actor, action) VALUES ('test', $1) RETURNING action`;

  it("commits preparedAsyncCommit and transaction(fn, 'asynchronous') without waiting for the WAL flush on PostgreSQL, and nothing else", async () => {
    const expected = s.app.db.kind === "postgres" ? "off" : "on";
    const asyncOutside = await s.app.db.preparedAsyncCommit<{ v: string }>("test_sc_async", setting, []);
    const asyncTx = await s.app.db.transaction((m) => m.query(setting) as Promise<Array<{ v: string }>>, "asynchronous");
    expect(asyncOutside).toEqual([{ v: expected }]);
    expect(asyncTx).toEqual([{ v: expected }]);
    // SET LOCAL ends with its transaction: the main pool's connections (the one just used among them) commit synchronously
    const after = await Promise.all(Array.from({ length: 4 }, () => s.app.db.query<{ v: string }>(setting)));
    expect(after.flat()).toEqual(Array(4).fill({ v: "on" }));
    expect(await s.app.db.prepared<{ v: string }>("test_sc_sync", setting, [])).toEqual([{ v: "on" }]);
    expect(await s.app.db.transaction((m) => m.query(setting))).toEqual([{ v: "on" }]);
  });

  it("an asynchronous commit is seen by every other session at once, and its transaction still rolls back whole", async () => {
    const tag = uniqueSlug("async");
    expect(await s.app.db.preparedAsyncCommit<{ action: string }>("test_sc_insert", insert, [tag])).toEqual([{ action: tag }]);
    expect(await s.app.db.prepared<{ n: number }>("test_sc_count", count, [tag])).toEqual([{ n: 1 }]);
    await expect(
      s.app.db.transaction(async (m) => {
        await m.query(insert, [tag]);
        throw new Error("roll back");
      }, "asynchronous"),
    ).rejects.toThrow("roll back");
    expect(await s.app.db.prepared<{ n: number }>("test_sc_count", count, [tag])).toEqual([{ n: 1 }]);
  });
});
