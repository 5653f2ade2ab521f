import { Client } from "pg";
import type { LeaderLock, LockSession } from "./leader";

export interface AdvisoryLockOptions {
  /** the PostgreSQL URL (DATABASE_URL) */
  url: string;
  /** LEADER_LOCK_KEY: processes with the same key on the same database elect one leader */
  key: number;
  /** connect, and every statement on the session, fail after this long (default 5 s) */
  timeoutMs?: number;
}

/**
 * Server-side TCP keepalive for the lock session. A leader cut off from PostgreSQL by a partition
 * sends nothing more, and only when the server finds the connection dead does it free the lock for
 * another process: after 5 s of silence, 5 probes 1 s apart, so about 10 s. The leader itself steps
 * down sooner (its checks fail). These are per-session settings any role may set; they do nothing
 * on a Unix socket, whose peer cannot silently vanish.
 */
const SERVER_KEEPALIVE = "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=1 -c tcp_keepalives_count=5 -c tcp_user_timeout=10000";

const DEFAULT_TIMEOUT_MS = 5_000;

/** How long closing may take before it is left to the socket's own teardown. */
const CLOSE_WAIT_MS = 1_000;

/**
 * The leader lock on PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock(key)`) held on
 * a dedicated connection outside the TypeORM pool, so it lives exactly as long as that session —
 * a process killed with -9 loses it as soon as the server sees the socket close. It needs a real
 * session: behind a transaction-pooling proxy (PgBouncer in transaction mode) point DATABASE_URL
 * at PostgreSQL or a session pool.
 */
export function advisoryLock(options: AdvisoryLockOptions): LeaderLock {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    description: `pg advisory lock ${options.key}`,
    async connect(lost) {
      const client = new Client({
        connectionString: options.url,
        application_name: "vigil-leader",
        keepAlive: true,
        keepAliveInitialDelayMillis: 1_000,
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs,
        options: SERVER_KEEPALIVE,
      });
      let connected = false;
      let closing = false;
      const report = (reason: string) => {
        if (!connected || closing) return;
        closing = true; // once: an 'error' is followed by 'end'
        lost(reason);
      };
      // an 'error' without a listener would crash the process
      client.on("error", (err) => report(err.message));
      client.on("end", () => report("the connection ended"));
      try {
        await client.connect();
      } catch (err) {
        closing = true;
        await bounded(client.end());
        throw err;
      }
      connected = true;
      return session(client, options.key, () => {
        closing = true;
      });
    },
  };
}

function session(client: Client, key: number, closing: () => void): LockSession {
  const end = async () => {
    closing();
    await bounded(client.end());
  };
  return {
    async tryAcquire() {
      const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1::bigint) AS ok`, [key]);
      return rows[0]?.ok === true;
    },
    async holds() {
      // a one-argument (bigint) advisory lock shows as classid = high 32 bits, objid = low 32 bits, objsubid = 1
      const { rows } = await client.query<{ held: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                          AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1) AS held`,
        [key],
      );
      return rows[0]?.held === true;
    },
    async release() {
      // ending the session frees the lock too; unlocking first says so explicitly and at once
      await client.query(`SELECT pg_advisory_unlock($1::bigint)`, [key]).catch(() => undefined);
      await end();
    },
    close: end,
  };
}

/** Waits for `p` at most CLOSE_WAIT_MS, and never rejects: closing is best effort. */
async function bounded(p: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
  clearTimeout(timer);
}

/**
 * The embedded database is one process's (PGlite cannot be shared), so that process is always the
 * leader: the session takes the lock at once and never loses it.
 */
export function soloLock(): LeaderLock {
  const always: LockSession = {
    tryAcquire: async () => true,
    holds: async () => true,
    release: async () => {},
    close: async () => {},
  };
  return { description: "embedded database (one process)", connect: async () => always };
}
