import { AsyncLocalStorage } from "node:async_hooks";
import { setImmediate } from "node:timers/promises";
import type { Pool as PgPool, PoolClient, PoolConfig } from "pg";
import type { DataSource, EntityManager } from "typeorm";
import { Mutex } from "../lib/mutex";
import { type DatabaseKind, releaseEmbedded } from "./data-source";

interface Scope {
  manager: EntityManager;
  inTransaction: boolean;
  /** callbacks to run once the outermost transaction has committed */
  afterCommit: Array<() => void>;
}

/**
 * How a unit of work commits. "synchronous" (PostgreSQL's default): COMMIT answers once the WAL is
 * flushed to disk. "asynchronous" (synchronous_commit = off): COMMIT answers at once and the WAL
 * writer flushes within 3 × wal_writer_delay (600 ms by default). The changes are visible to every
 * other session at once either way; a crash of PostgreSQL (not of Vigil) can lose the last
 * asynchronous commits, never corrupt anything or lose a synchronous one (PostgreSQL's
 * "Asynchronous Commit"). Vigil commits asynchronously only the registry's soft state: what
 * pickInstance and reportCall write (active requests, breaker windows, call records). Measured on
 * one-row UPDATEs from one client, 4,000 each (2026-11-23): p50 0.40 → 0.20 ms, p99 1.79 → 0.41 ms.
 * The embedded database has one session and commits as it always does.
 */
export type CommitMode = "synchronous" | "asynchronous";

/**
 * The only way the domain reaches storage. `transaction` runs a unit of work atomically; `read`
 * runs queries outside a transaction. On the embedded database both are serialised through one
 * FIFO mutex, because PGlite has a single session shared by every caller: without it a rollback
 * discards other callers' writes and reads see uncommitted rows. Nested calls join the outer one.
 */
export class Database {
  private readonly mutex = new Mutex();
  private readonly scope = new AsyncLocalStorage<Scope>();
  /** PostgreSQL: connections whose session commits asynchronously, created on first use */
  private asyncCommitPool: PgPool | undefined;

  constructor(
    readonly dataSource: DataSource,
    readonly kind: DatabaseKind,
  ) {}

  /** Callers waiting for or holding the embedded database; 0 on PostgreSQL. */
  get queueDepth(): number {
    return this.mutex.depth;
  }

  /**
   * `fn` in one transaction. `commit` "asynchronous" (see CommitMode) costs one statement more on
   * PostgreSQL, `SET LOCAL synchronous_commit`; nested in an outer transaction, the outer one's mode holds.
   */
  transaction<T>(fn: (manager: EntityManager) => Promise<T>, commit: CommitMode = "synchronous"): Promise<T> {
    const outer = this.scope.getStore();
    if (outer?.inTransaction) return fn(outer.manager);
    const afterCommit: Array<() => void> = [];
    const asynchronous = commit === "asynchronous" && this.kind === "postgres";
    const run = () =>
      this.dataSource.transaction(async (manager) => {
        if (asynchronous) await manager.query("SET LOCAL synchronous_commit TO off");
        return this.scope.run({ manager, inTransaction: true, afterCommit }, () => fn(manager));
      });
    // Inside an embedded `read` the mutex is already held.
    const done = this.kind === "embedded" && !outer ? this.exclusive(run) : run();
    return done.then((result) => {
      for (const cb of afterCommit) cb();
      return result;
    });
  }

  /**
   * Runs `cb` after the current transaction commits (never if it rolls back), or at once outside
   * a transaction. Used to publish events only for data that is really there.
   */
  afterCommit(cb: () => void): void {
    const current = this.scope.getStore();
    if (current?.inTransaction) current.afterCommit.push(cb);
    else cb();
  }

  read<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    const outer = this.scope.getStore();
    if (outer) return fn(outer.manager);
    if (this.kind !== "embedded") return fn(this.dataSource.manager);
    const manager = this.dataSource.manager;
    return this.exclusive(() => this.scope.run({ manager, inTransaction: false, afterCommit: [] }, () => fn(manager)));
  }

  /**
   * Runs `fn` alone on the embedded database, then lets the event loop turn before the next caller:
   * PGlite executes on this thread and resolves through microtasks, so back-to-back units of work
   * (a rollup backlog) would otherwise starve HTTP and timers.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      try {
        return await fn();
      } finally {
        await setImmediate();
      }
    });
  }

  /** Raw parameterised SQL, for hot paths and health checks; serialised like everything else. */
  query<T = unknown>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.read((m) => m.query(sql, params) as Promise<T[]>);
  }

  /**
   * A query as a named prepared statement: on PostgreSQL each connection parses and plans `sql` once
   * and then only binds and executes it. For the short statements of the hot paths, where planning
   * is much of the cost: pickInstance's statement took 0.82–0.91 ms per execution as an unnamed
   * statement and 0.38–0.42 ms prepared (pgbench, one client, 2026-11-23). Runs on `m` (a
   * transaction's manager) when given, else in the current scope like `query`. On the embedded
   * database it is an ordinary query. Rows come back as rows for every command (TypeORM's query
   * answers [rows, rowCount] for UPDATE and DELETE). `name` must be unique to `sql`. Vigil needs a
   * session pool anyway (the leader's advisory lock, README "Leader election"); behind PgBouncer in
   * transaction mode this would need PgBouncer ≥ 1.21 with max_prepared_statements set.
   */
  prepared<T = unknown>(name: string, sql: string, params: unknown[], m?: EntityManager): Promise<T[]> {
    return this.preparedWith(name, sql, params, m, "synchronous");
  }

  /**
   * `prepared`, committed asynchronously (see CommitMode) when it runs outside a transaction: on
   * PostgreSQL through connections of their own whose session has synchronous_commit off, at most
   * half DATABASE_POOL_SIZE (rounded up) of them. In a transaction, the transaction's mode holds.
   */
  preparedAsyncCommit<T = unknown>(name: string, sql: string, params: unknown[]): Promise<T[]> {
    return this.preparedWith(name, sql, params, undefined, "asynchronous");
  }

  private async preparedWith<T>(name: string, sql: string, params: unknown[], m: EntityManager | undefined, commit: CommitMode): Promise<T[]> {
    const manager = m ?? this.scope.getStore()?.manager;
    // embedded: inside a scope the mutex is held already; outside one, `query` takes it
    if (this.kind !== "postgres") return rowsOf<T>(await (manager ? manager.query(sql, params) : this.query(sql, params)));
    const statement = { name, text: sql, values: params };
    const runner = manager?.queryRunner;
    if (!runner) return (await (commit === "asynchronous" ? this.asyncPool() : this.pool()!).query(statement)).rows as T[];
    // the transaction's own connection (TypeORM's PostgresQueryRunner hands out its pg client)
    const client = (await runner.connect()) as PoolClient;
    return (await client.query(statement)).rows as T[];
  }

  /** TypeORM's pg Pool (the driver's `master`), on PostgreSQL. */
  private pool(): PgPool | undefined {
    return (this.dataSource.driver as unknown as { master?: PgPool }).master;
  }

  /** The asynchronous-commit pool: the main pool's settings, half its size, synchronous_commit off. */
  private asyncPool(): PgPool {
    if (this.asyncCommitPool) return this.asyncCommitPool;
    const main = this.pool()!;
    const options = (main as unknown as { options: PoolConfig }).options;
    const Pool = main.constructor as new (config: PoolConfig) => PgPool;
    const pool = new Pool({
      ...options,
      max: Math.ceil((options.max ?? 10) / 2),
      application_name: `${options.application_name ?? "vigil"}-async-commit`,
      options: `${options.options ?? ""} -c synchronous_commit=off`.trim(),
    });
    // an idle connection that PostgreSQL dropped: pg's pool discards it; nothing else to do
    pool.on("error", () => undefined);
    return (this.asyncCommitPool = pool);
  }

  async migrate(): Promise<string[]> {
    const run = async () => {
      const done = await this.dataSource.runMigrations({ transaction: "each" });
      return done.map((m) => m.name);
    };
    if (this.kind === "embedded") return this.mutex.run(run);
    // Several processes may start at once: one migrates, the others wait and then find nothing to do.
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.query(`SELECT pg_advisory_lock(hashtext('vigil:migrations'))`);
      return await run();
    } finally {
      await runner.query(`SELECT pg_advisory_unlock(hashtext('vigil:migrations'))`).catch(() => undefined);
      await runner.release();
    }
  }

  poolStats(): { total: number; idle: number; waiting: number } | undefined {
    if (this.kind !== "postgres") return undefined;
    const pool = this.pool();
    if (!pool) return undefined;
    const pools = this.asyncCommitPool ? [pool, this.asyncCommitPool] : [pool];
    const sum = (f: (p: PgPool) => number) => pools.reduce((n, p) => n + f(p), 0);
    return { total: sum((p) => p.totalCount), idle: sum((p) => p.idleCount), waiting: sum((p) => p.waitingCount) };
  }

  async close(): Promise<void> {
    const asyncPool = this.asyncCommitPool;
    this.asyncCommitPool = undefined;
    await asyncPool?.end();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    if (this.kind === "embedded") releaseEmbedded();
  }
}

/**
 * Rows of a query through TypeORM: UPDATE and DELETE come back as [rows, rowCount] on both
 * drivers, SELECT and INSERT as rows.
 */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === "number") return result[0] as T[];
  return result as T[];
}
