import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { randomLockKey } from "./env";

export const MAIN = join(__dirname, "..", "..", "dist", "src", "main.js");

export interface VigilProcess {
  proc: ChildProcess;
  url: string;
  baseUrl: string;
  output: () => string;
  /** resolves with the exit code (or the signal name) */
  exited: Promise<number | string>;
  /** SIGKILL if still running; for cleanup only */
  kill(): void;
}

/**
 * Starts the built server (`node dist/src/main.js`) as a real process and waits for the line
 * that prints its URL. Only this test's own process is ever signalled, by its pid.
 */
export async function spawnVigil(env: Record<string, string>, cwd: string, timeoutMs = 30_000): Promise<VigilProcess> {
  const proc = spawn(process.execPath, [MAIN], {
    cwd,
    // no background sweep, rule evaluation or notification delivery across the shared test database
    // (they work on every tenant of it; see startServer) unless the test asks, and a leader lock key
    // of its own unless the test passes one (processes that share a key elect one leader)
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      LOG_LEVEL: "warn",
      HOST: "127.0.0.1",
      PORT: "0",
      REGISTRY_SWEEP_INTERVAL_MS: "3600000",
      RULES_TICK_MS: "3600000",
      NOTIFY_INTERVAL_MS: "600000",
      LEADER_LOCK_KEY: randomLockKey(),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => proc.on("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  const deadline = Date.now() + timeoutMs;
  let url: string | undefined;
  while (!url) {
    const m = /Vigil is ready at (http:\/\/\S+)/.exec(out);
    if (m) url = m[1];
    else if (proc.exitCode !== null) throw new Error(`vigil exited with ${proc.exitCode}:\n${out}`);
    else if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`vigil did not start within ${timeoutMs} ms:\n${out}`);
    } else await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    url: url!,
    baseUrl: url!.replace(/\/graphql$/, ""),
    output: () => out,
    exited,
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    },
  };
}

/** Runs the built server expecting it to exit by itself (e.g. on bad configuration). */
export function runVigilToExit(env: Record<string, string>, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [MAIN], { cwd, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output: out });
    });
  });
}
