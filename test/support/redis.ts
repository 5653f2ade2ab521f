import { type ChildProcess, spawn } from "node:child_process";
import { Redis } from "ioredis";
import { freePort } from "./wait";

/**
 * A private redis-server on a free loopback port, for tests that kill and restart Redis: the
 * machine's own Redis (127.0.0.1:6379) is never touched. Only this process is signalled, by pid.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  pid(): number | undefined;
  /** SIGKILL and wait for the exit */
  kill(): Promise<void>;
  /** starts again on the same port (after kill) and waits until it answers PING */
  restart(): Promise<void>;
  /** for afterAll */
  stop(): Promise<void>;
}

/** `port`: a given free port (e.g. one a server was told to use before Redis existed). */
export async function startPrivateRedis(port?: number): Promise<PrivateRedis> {
  port ??= await freePort();
  let proc: ChildProcess | undefined;
  let output = "";

  const launch = async () => {
    output = "";
    const p = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    p.stdout!.on("data", (d) => (output += d));
    p.stderr!.on("data", (d) => (output += d));
    proc = p;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (p.exitCode !== null) throw new Error(`redis-server exited with ${p.exitCode}:\n${output}`);
      if (await answersPing(port)) return;
      // the port may still be held briefly after a kill
      if (Date.now() > deadline) {
        p.kill("SIGKILL");
        throw new Error(`redis-server did not answer on port ${port} within 10 s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const kill = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGKILL");
    await exited;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => proc?.pid,
    kill,
    restart: launch,
    stop: kill,
  };
}

async function answersPing(port: number): Promise<boolean> {
  // disconnectTimeout: ioredis otherwise keeps a 2 s timer for a stream that never opened
  const client = new Redis({ host: "127.0.0.1", port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false, disconnectTimeout: 10 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Waits until Redis reports at least `n` subscribers on `channel` (PUBSUB NUMSUB): a subscription
 * the server accepted is only listening once its SUBSCRIBE reached Redis.
 */
export async function waitForRedisSubscribers(url: string, channel: string, n = 1, timeoutMs = 10_000): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on("error", () => undefined);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = (await client.pubsub("NUMSUB", channel)) as [string, number];
      if (Number(reply[1]) >= n) return;
      if (Date.now() > deadline) throw new Error(`Redis never had ${n} subscriber(s) on ${channel} (has ${reply[1]})`);
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    client.disconnect();
  }
}
