import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/**
 * Runs `promtool test rules` on generated files. Both files are written as JSON, which YAML reads
 * as it is. A missing promtool is a failure, not a skip: CI installs Prometheus 2.42's promtool.
 */

export interface PromAlertingRule {
  alert: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface PromExpectedAlert {
  exp_labels: Record<string, string>;
  exp_annotations?: Record<string, string>;
}

export interface PromAlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: PromExpectedAlert[];
}

export interface PromTestCase {
  interval: string;
  input_series: Array<{ series: string; values: string }>;
  alert_rule_test: PromAlertTest[];
}

export interface PromtoolRun {
  status: number | null;
  output: string;
}

/** The promtool binary: $PROMTOOL, else the first `promtool` on PATH, else /usr/bin/promtool. */
export function promtoolPath(): string {
  const candidates = [process.env.PROMTOOL, ...(process.env.PATH ?? "").split(delimiter).map((d) => join(d, "promtool")), "/usr/bin/promtool"];
  const found = candidates.find((c): c is string => !!c && existsSync(c));
  if (!found) throw new Error("promtool is not installed (Prometheus 2.42's promtool, e.g. apt-get install prometheus, or set PROMTOOL): the conformance tests run every comparable scenario through it");
  return found;
}

/** Writes rules.yml and test.yml to a temporary directory and runs `promtool test rules test.yml`. */
export function runPromtool(rules: readonly PromAlertingRule[], tests: readonly PromTestCase[], evaluationInterval = "1m"): PromtoolRun {
  const bin = promtoolPath();
  const dir = mkdtempSync(join(tmpdir(), "vigil-promtool-"));
  try {
    writeFileSync(join(dir, "rules.yml"), JSON.stringify({ groups: [{ name: "conformance", interval: evaluationInterval, rules }], }, null, 2));
    writeFileSync(join(dir, "test.yml"), JSON.stringify({ rule_files: ["rules.yml"], evaluation_interval: evaluationInterval, tests }, null, 2));
    const run = spawnSync(bin, ["test", "rules", "test.yml"], { cwd: dir, encoding: "utf8", timeout: 30_000 });
    if (run.error) throw run.error;
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
