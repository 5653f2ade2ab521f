import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { type Child, ROOT, onCleanup, spawnNode, waitUntil } from "./support";

/** The IPC protocol between bench/ws.bench.ts and its client process bench/ws-driver.ts. */
export type DriverCommand =
  | { cmd: "connect"; url: string; kind: "graphql" | "raw"; n: number; keys: string[]; concurrency: number }
  | { cmd: "subscribe"; query: string }
  | {
      cmd: "rounds";
      warmup: number;
      rounds: number;
      gapMs: number;
      timeoutMs: number;
      /** POSTed once per round, bodies in turn; the round's clock starts just before */
      trigger: { url: string; headers: Record<string, string>; bodies: string[] };
    }
  | { cmd: "close" }
  | { cmd: "exit" };

export interface RoundFigures {
  p50: number;
  p99: number;
  max: number;
  /** when the trigger's HTTP answer arrived, ms after the round's start */
  triggerAnsweredMs: number;
  received: number;
  missing: number;
}

export type DriverReply =
  | { cmd: "ready" }
  | { cmd: "connected"; open: number; ms: number; errors: Record<string, number> }
  | { cmd: "subscribed" }
  | { cmd: "rounds"; figures: RoundFigures[]; all: number[]; sample: string | undefined }
  | { cmd: "closed" }
  | { cmd: "error"; message: string };

/** The driver process: `node dist/bench/ws-driver.js` with an IPC channel, stopped by its pid at the end. */
export class Driver {
  private readonly proc: ChildProcess;
  private readonly replies: DriverReply[] = [];
  private waiter: (() => void) | undefined;
  private exited = false;

  constructor(logPath: string) {
    const fd = openSync(logPath, "a");
    try {
      this.proc = spawn(process.execPath, [join(ROOT, "dist", "bench", "ws-driver.js")], { cwd: ROOT, stdio: ["ignore", fd, fd, "ipc"] });
    } finally {
      closeSync(fd);
    }
    this.proc.on("message", (m: DriverReply) => {
      this.replies.push(m);
      this.waiter?.();
    });
    this.proc.once("exit", () => {
      this.exited = true;
      this.waiter?.();
    });
    onCleanup(() => this.stop());
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Sends a command and waits for the reply of `kind` (an `error` reply throws). */
  async request<K extends DriverReply["cmd"]>(command: DriverCommand | undefined, kind: K, timeoutMs: number): Promise<Extract<DriverReply, { cmd: K }>> {
    if (command) this.proc.send(command);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const i = this.replies.findIndex((r) => r.cmd === kind || r.cmd === "error");
      if (i !== -1) {
        const [r] = this.replies.splice(i, 1);
        if (r!.cmd === "error") throw new Error(`driver: ${r!.message}`);
        return r as Extract<DriverReply, { cmd: K }>;
      }
      if (this.exited) throw new Error(`the driver process exited while waiting for "${kind}"`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`the driver did not answer "${kind}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, Math.min(left, 1_000));
      });
      this.waiter = undefined;
    }
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    if (this.proc.connected) this.proc.send({ cmd: "exit" });
    for (let i = 0; i < 50 && !this.exited; i++) await sleep(100);
    if (!this.exited) this.proc.kill("SIGKILL");
  }
}

/** The raw `ws` broadcast server, a child process; resolved once it listens. */
export async function startRawServer(logPath: string, env: NodeJS.ProcessEnv): Promise<{ child: Child; port: number }> {
  const child = spawnNode("raw ws server", join(ROOT, "dist", "bench", "ws-raw.server.js"), { ...env, PORT: "0" }, logPath);
  let port = 0;
  await waitUntil(child, "WS_RAW_READY", async () => {
    const m = /WS_RAW_READY (\d+)/.exec(readFileSync(logPath, "utf8"));
    if (m) port = Number(m[1]);
    return port > 0;
  });
  return { child, port };
}

/** Resident set size of a process, from /proc (bytes). */
export function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** A value of Vigil's GET /metrics (prom-client text), or NaN. */
export async function vigilMetric(baseUrl: string, name: string): Promise<number> {
  // generous: a Vigil busy setting up 10,000 subscriptions answers late
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(60_000) })).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

export interface MemoryReading {
  rss: number;
  heapUsed: number;
}

/** The median of `samples` readings taken `everyMs` apart (the heap moves with garbage collection). */
export async function readMemory(read: () => Promise<MemoryReading>, samples = 5, everyMs = 400): Promise<MemoryReading> {
  const rss: number[] = [];
  const heap: number[] = [];
  for (let i = 0; i < samples; i++) {
    const r = await read();
    rss.push(r.rss);
    heap.push(r.heapUsed);
    if (i < samples - 1) await sleep(everyMs);
  }
  const mid = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  return { rss: mid(rss), heapUsed: mid(heap) };
}
