import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";
import type { DriverCommand, DriverReply, RoundFigures } from "./ws-support";

/**
 * The client side of bench/ws.bench.ts, in its own process (started with an IPC channel): it opens
 * the sockets, subscribes them, fires the trigger of each round itself and times every socket's
 * receipt on its own clock, so no clocks are compared across processes.
 *
 * Both kinds of server are read the same way: a socket's receipt is the `message` event of `ws`
 * (the frame read and decoded, not parsed as JSON), for Vigil and for the raw baseline alike.
 */

interface Conn {
  ws: WebSocket;
  /** messages received so far (ack excluded) */
  received: number;
  /** receipt time (performance.now()) of the latest message */
  lastAt: number;
}

let conns: Conn[] = [];
let sample: string | undefined;

function reply(message: DriverReply): void {
  process.send!(message);
}

/** Opens one socket; for "graphql", sends connection_init and resolves on connection_ack. */
function open(url: string, kind: "graphql" | "raw", key: string | undefined): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = kind === "graphql" ? new WebSocket(url, "graphql-transport-ws") : new WebSocket(url);
    const conn: Conn = { ws, received: 0, lastAt: 0 };
    let acked = kind === "raw";
    const fail = (why: string) => {
      ws.terminate();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail("no connection_ack within 30 s"), 30_000);
    ws.on("error", (err) => {
      clearTimeout(timer);
      if (!acked) fail(err.message);
    });
    ws.on("close", (code, reason) => {
      clearTimeout(timer);
      if (!acked) reject(new Error(`closed ${code} ${String(reason)}`));
    });
    ws.on("message", (data) => {
      if (!acked) {
        if (String(data).includes('"connection_ack"')) {
          acked = true;
          clearTimeout(timer);
          resolve(conn);
        }
        return;
      }
      conn.lastAt = performance.now();
      conn.received++;
      if (sample === undefined) sample = String(data);
    });
    ws.on("open", () => {
      if (kind === "graphql") ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${key}` } }));
      else {
        clearTimeout(timer);
        resolve(conn);
      }
    });
  });
}

async function connect(cmd: Extract<DriverCommand, { cmd: "connect" }>): Promise<void> {
  const t0 = performance.now();
  const errors = new Map<string, number>();
  let next = 0;
  const opened: Conn[] = [];
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= cmd.n) return;
      try {
        opened.push(await open(cmd.url, cmd.kind, cmd.keys[i % Math.max(1, cmd.keys.length)]));
      } catch (err) {
        const why = (err as Error).message;
        errors.set(why, (errors.get(why) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: cmd.concurrency }, worker));
  conns = opened;
  reply({ cmd: "connected", open: opened.length, ms: performance.now() - t0, errors: Object.fromEntries(errors) });
}

async function rounds(cmd: Extract<DriverCommand, { cmd: "rounds" }>): Promise<void> {
  const figures: RoundFigures[] = [];
  const all: number[] = [];
  for (let r = 0; r < cmd.warmup + cmd.rounds; r++) {
    const base = conns.map((c) => c.received);
    const t0 = performance.now();
    const res = await fetch(cmd.trigger.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...cmd.trigger.headers },
      body: cmd.trigger.bodies[r % cmd.trigger.bodies.length],
      signal: AbortSignal.timeout(10_000),
    });
    const answered = performance.now() - t0;
    const text = await res.text();
    if (res.status >= 300 || text.includes('"errors"')) throw new Error(`trigger failed: ${res.status} ${text.slice(0, 300)}`);
    const deadline = t0 + cmd.timeoutMs;
    // the receipts are recorded by the message handlers; this only waits for the last one
    while (conns.some((c, i) => c.received <= base[i]!) && performance.now() < deadline) await sleep(5);
    const latencies: number[] = [];
    let missing = 0;
    conns.forEach((c, i) => {
      if (c.received > base[i]!) latencies.push(c.lastAt - t0);
      else missing++;
    });
    if (r >= cmd.warmup) {
      latencies.sort((a, b) => a - b);
      const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
      figures.push({ p50: q(0.5), p99: q(0.99), max: latencies[latencies.length - 1] ?? NaN, triggerAnsweredMs: answered, received: latencies.length, missing });
      all.push(...latencies);
    }
    await sleep(cmd.gapMs);
  }
  reply({ cmd: "rounds", figures, all, sample });
}

async function closeAll(): Promise<void> {
  const closing = conns.map(
    (c) =>
      new Promise<void>((resolve) => {
        if (c.ws.readyState === WebSocket.CLOSED) return resolve();
        c.ws.once("close", () => resolve());
        c.ws.close(1000);
        setTimeout(() => {
          c.ws.terminate();
          resolve();
        }, 5_000).unref();
      }),
  );
  await Promise.all(closing);
  conns = [];
  reply({ cmd: "closed" });
}

process.on("message", (message: DriverCommand) => {
  const run = async () => {
    switch (message.cmd) {
      case "connect":
        return connect(message);
      case "subscribe":
        conns.forEach((c, i) => c.ws.send(JSON.stringify({ id: String(i), type: "subscribe", payload: { query: message.query } })));
        return reply({ cmd: "subscribed" });
      case "rounds":
        return rounds(message);
      case "close":
        return closeAll();
      case "exit":
        process.exit(0);
    }
  };
  run().catch((err: unknown) => reply({ cmd: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});
// the parent went away: nothing to drive any more
process.on("disconnect", () => process.exit(0));
reply({ cmd: "ready" });
