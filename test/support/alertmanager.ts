import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freshTempDir } from "./env";
import { freePort } from "./wait";

export const ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager";

export interface RunningAlertmanager {
  /** base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  /** GET /api/v2/alerts (active, silenced, inhibited and unprocessed alerts; resolved ones are not listed) */
  alerts(filter?: string): Promise<Array<{ labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string; generatorURL: string; status: { state: string } }>>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * A real Alertmanager (Debian's prometheus-alertmanager 0.25) on a free loopback port, with a temp
 * config (one receiver that sends nothing) and storage, clustering off. Stopped by its own pid.
 */
export async function startAlertmanager(timeoutMs = 20_000): Promise<RunningAlertmanager> {
  const dir = freshTempDir("alertmanager");
  const config = join(dir, "alertmanager.yml");
  writeFileSync(config, `route:\n  receiver: "null"\n  group_wait: 1s\nreceivers:\n  - name: "null"\n`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc: ChildProcess = spawn(
    ALERTMANAGER_BIN,
    [`--config.file=${config}`, `--storage.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address="],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok).catch(() => false);
    if (ready) break;
    if (proc.exitCode !== null) throw new Error(`alertmanager exited with ${proc.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      if (proc.pid) process.kill(proc.pid, "SIGKILL");
      throw new Error(`alertmanager not ready within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async alerts(filter) {
      const q = filter ? `?filter=${encodeURIComponent(filter)}` : "";
      const res = await fetch(`${url}/api/v2/alerts${q}`);
      if (!res.ok) throw new Error(`GET /api/v2/alerts: ${res.status} ${await res.text()}`);
      return (await res.json()) as never;
    },
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null && proc.pid) {
        process.kill(proc.pid, "SIGTERM");
        await exited;
      }
    },
  };
}
