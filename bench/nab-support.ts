import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { type Detector } from "../src/domain/anomalies/detectors";

/**
 * NAB's file layout for bench/nab.bench.ts: data files read in row order, result CSVs written in the
 * layout shared/nab/score.py reads, and the scorer run on them.
 */

export interface NabSeries {
  /** path relative to the data folder, e.g. realKnownCause/nyc_taxi.csv */
  rel: string;
  /** the timestamp and value columns exactly as written in the data file */
  timestampText: string[];
  valueText: string[];
  timestampMs: Float64Array;
  values: Float64Array;
}

/** Every `*.csv` under `dataDir` (one level of category folders, as NAB has), sorted by path. */
export function listDataFiles(dataDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".csv")) out.push(relative(dataDir, path).split("\\").join("/"));
    }
  };
  walk(dataDir);
  return out;
}

/** NAB timestamps (`YYYY-MM-DD HH:MM:SS`, no zone) read as UTC epoch ms; NaN when unparseable. */
export function parseNabTime(text: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(\.\d+)?/.exec(text.trim());
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, m[7] ? Math.round(Number(m[7]) * 1000) : 0);
}

/** Reads a data file in file order (CRLF or LF, with or without a final newline), no sorting. */
export function readSeries(dataDir: string, rel: string): NabSeries {
  const lines = readFileSync(join(dataDir, rel), "utf8").split(/\r?\n/);
  const header = lines[0]!.split(",").map((h) => h.trim());
  const kt = header.indexOf("timestamp");
  const kv = header.indexOf("value");
  if (kt < 0 || kv < 0) throw new Error(`${rel}: header must have timestamp and value, got ${lines[0]}`);
  const timestampText: string[] = [];
  const valueText: string[] = [];
  for (const line of lines.slice(1)) {
    if (!line.trim()) continue;
    const cells = line.split(",");
    timestampText.push(cells[kt]!.trim());
    valueText.push(cells[kv]!.trim());
  }
  return {
    rel,
    timestampText,
    valueText,
    timestampMs: Float64Array.from(timestampText, parseNabTime),
    values: Float64Array.from(valueText, Number),
  };
}

/** The window of each row (1 inside a labelled window, else 0): the `label` column, for reading only. */
export function rowLabels(series: NabSeries, windows: Array<[string, string]>): Uint8Array {
  const label = new Uint8Array(series.timestampMs.length);
  for (const [start, end] of windows) {
    const a = parseNabTime(start);
    const b = parseNabTime(end);
    series.timestampMs.forEach((t, i) => {
      if (t >= a && t <= b) label[i] = 1;
    });
  }
  return label;
}

/** Streams the series through a fresh detector, one row at a time in file order. */
export function scoreSeries(series: NabSeries, detector: Detector): Float64Array {
  const scores = new Float64Array(series.values.length);
  for (let i = 0; i < scores.length; i++) scores[i] = detector.update(series.timestampMs[i]!, series.values[i]!).score;
  return scores;
}

/** `<resultsDir>/<rel>` with columns timestamp,value,anomaly_score,label (the scorer reads the first three by name). */
export function writeResult(resultsDir: string, series: NabSeries, scores: Float64Array, label: Uint8Array): void {
  const path = join(resultsDir, series.rel);
  mkdirSync(dirname(path), { recursive: true });
  const rows = ["timestamp,value,anomaly_score,label"];
  for (let i = 0; i < scores.length; i++) rows.push(`${series.timestampText[i]},${series.valueText[i]},${scores[i]},${label[i]}`);
  writeFileSync(path, `${rows.join("\n")}\n`);
}

export const PROFILES = ["standard", "reward_low_FP_rate", "reward_low_FN_rate"] as const;
export type Profile = (typeof PROFILES)[number];

export interface ProfileScore {
  threshold: number;
  score: number;
  windowsDetected: number;
  windows: number;
  fpRows: number;
}

/**
 * Runs score.py on a results folder: thresholds optimised per profile (the scorer's exact sweep)
 * without `threshold`, else every profile at that fixed threshold. Returns the figures per profile.
 */
export function runScorer(scorer: string, resultsDir: string, dataDir: string, labels: string, jsonPath: string, threshold?: number): Record<Profile, ProfileScore> {
  const args = [scorer, resultsDir, "--data", dataDir, "--labels", labels, "--strict", "--json", jsonPath];
  if (threshold !== undefined) args.push("--threshold", String(threshold));
  execFileSync("python3", args, { stdio: ["ignore", "ignore", "inherit"] });
  const report = JSON.parse(readFileSync(jsonPath, "utf8")) as {
    profiles: Record<Profile, { threshold: number; score: number; per_file: Array<{ windows: number; tp_windows: number; fp_pts: number }> }>;
  };
  const out = {} as Record<Profile, ProfileScore>;
  for (const p of PROFILES) {
    const r = report.profiles[p];
    out[p] = {
      threshold: r.threshold,
      score: r.score,
      windows: r.per_file.reduce((a, f) => a + f.windows, 0),
      windowsDetected: r.per_file.reduce((a, f) => a + f.tp_windows, 0),
      fpRows: r.per_file.reduce((a, f) => a + f.fp_pts, 0),
    };
  }
  return out;
}
