import { mkdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { createDetector, DEFAULT_THRESHOLD, DETECTOR_ALGORITHMS, type DetectorAlgorithm } from "../src/domain/anomalies/detectors";
import { listDataFiles, PROFILES, type Profile, type ProfileScore, readSeries, rowLabels, runScorer, scoreSeries, writeResult } from "./nab-support";
import { headerLines, int, ROOT, runBench, table, writeBenchmarksMd } from "./support";

/**
 * `npm run bench:nab` (issue 5): every data file of a NAB-layout folder streamed through each
 * detector, one row at a time in file order with a fresh detector per file; the result CSVs
 * written in the layout shared/nab/score.py reads (`<out>/<ALGORITHM>/<category>/<file>.csv`), and
 * the scorer run twice per detector: at the thresholds it optimises per profile (NAB's own rule),
 * and at the one fixed DEFAULT_THRESHOLD that Vigil alarms at.
 *
 * Options: --data DIR --labels FILE --out DIR (results, default .bench-out/nab, git-ignored)
 * --scorer FILE --detectors A,B --no-md (print only; leave BENCHMARKS.md alone, e.g. on held-out data).
 *
 * Output: a Markdown report on stdout and the `<!-- bench:nab:start/end -->` section of BENCHMARKS.md.
 */

const NAB_DIR = resolve(ROOT, "..", "shared", "nab");

/** NAB's published result files rescored with score.py on the 41-file development split (shared/nab/README.md). */
const PUBLISHED: Array<[string, number, number, number]> = [
  ["ARTime", 69.1, 59.6, 74.6],
  ["Numenta HTM (NuPIC 0.5.6)", 68.6, 62.2, 72.8],
  ["CAD OSE", 63.8, 59.8, 67.6],
  ["KNN CAD", 56.6, 44.7, 62.9],
  ["Random Cut Forest", 52.6, 42.2, 60.1],
  ["earthgecko Skyline", 49.4, 41.1, 53.7],
  ["Relative Entropy", 47.3, 39.3, 51.8],
  ["Twitter ADVec", 38.9, 28.1, 44.8],
  ["rolling z-score baseline (N=400)", 34.9, 23.0, 41.2],
  ["Windowed Gaussian", 29.1, 14.8, 35.8],
  ["Random (one seed)", 15.0, 3.7, 24.0],
  ["Null", 0.0, 0.0, 0.0],
];

interface DetectorRun {
  algorithm: DetectorAlgorithm;
  rows: number;
  pointsPerSecond: number;
  optimised: Record<Profile, ProfileScore>;
  fixed: Record<Profile, ProfileScore>;
}

async function main(argv: string[]): Promise<void> {
  const { values: opts } = parseArgs({
    args: argv,
    options: {
      data: { type: "string", default: join(NAB_DIR, "data") },
      labels: { type: "string", default: join(NAB_DIR, "labels", "combined_windows.json") },
      out: { type: "string", default: join(ROOT, ".bench-out", "nab") },
      scorer: { type: "string", default: join(NAB_DIR, "score.py") },
      detectors: { type: "string", default: DETECTOR_ALGORITHMS.join(",") },
      "no-md": { type: "boolean", default: false },
    },
    strict: true,
  });
  const began = performance.now();
  const loadBefore = os.loadavg()[0]!;
  const dataDir = resolve(opts.data);
  const labelsPath = resolve(opts.labels);
  const outDir = resolve(opts.out);
  const algorithms = opts.detectors.split(",").map((a) => a.trim().toUpperCase()) as DetectorAlgorithm[];
  for (const a of algorithms) if (!DETECTOR_ALGORITHMS.includes(a)) throw new Error(`--detectors: unknown algorithm ${a} (known: ${DETECTOR_ALGORITHMS.join(", ")})`);

  const labels = JSON.parse(readFileSync(labelsPath, "utf8")) as Record<string, Array<[string, string]>>;
  const files = listDataFiles(dataDir);
  const unlabelled = files.filter((f) => !(f in labels));
  if (unlabelled.length) throw new Error(`${unlabelled.length} data files have no entry in ${labelsPath}, e.g. ${unlabelled[0]}`);
  const series = files.map((rel) => readSeries(dataDir, rel));
  const labelColumns = series.map((s) => rowLabels(s, labels[s.rel] ?? []));
  const totalRows = series.reduce((a, s) => a + s.values.length, 0);
  process.stderr.write(`${files.length} files, ${int(totalRows)} rows from ${dataDir}\n`);

  const runs: DetectorRun[] = [];
  for (const algorithm of algorithms) {
    const resultsDir = join(outDir, algorithm);
    rmSync(resultsDir, { recursive: true, force: true });
    mkdirSync(resultsDir, { recursive: true });
    let busyMs = 0;
    series.forEach((s, k) => {
      const t0 = performance.now();
      const scores = scoreSeries(s, createDetector(algorithm));
      busyMs += performance.now() - t0;
      writeResult(resultsDir, s, scores, labelColumns[k]!);
    });
    const optimised = runScorer(opts.scorer, resultsDir, dataDir, labelsPath, join(outDir, `${algorithm}.optimised.json`));
    const fixed = runScorer(opts.scorer, resultsDir, dataDir, labelsPath, join(outDir, `${algorithm}.fixed.json`), DEFAULT_THRESHOLD);
    runs.push({ algorithm, rows: totalRows, pointsPerSecond: totalRows / (busyMs / 1000), optimised, fixed });
    process.stderr.write(
      `${algorithm}: standard ${fixed.standard.score.toFixed(1)} at ${DEFAULT_THRESHOLD} (${optimised.standard.score.toFixed(1)} optimised), ${int(totalRows / (busyMs / 1000))} points/s\n`,
    );
  }

  const fmt = (x: number) => x.toFixed(1);
  const sections = [
    `## nab: streaming anomaly detectors on the Numenta Anomaly Benchmark`,
    "",
    ...headerLines({ name: "nab", argv, date: new Date().toISOString(), began, loadBefore, postgres: "not used (the detectors are pure in-process code)" }),
    `- Data: ${files.length} files, ${int(totalRows)} rows from \`${relativeToRoot(dataDir)}\`; labels \`${relativeToRoot(labelsPath)}\`; scorer \`${relativeToRoot(opts.scorer)}\`; result CSVs in \`${relativeToRoot(outDir)}/<ALGORITHM>/\``,
    "",
    `Each file is streamed through a fresh detector, one row at a time in file order (no look-ahead, one parameter set for all files, labels never seen). ` +
      `NAB profiles: standard (A_FP 0.11), reward_low_FP (A_FP 0.22), reward_low_FN (A_FN 2). ` +
      `**At DEFAULT_THRESHOLD** is what Vigil alarms at: every row with score >= ${DEFAULT_THRESHOLD} is a detection, the same threshold for every profile. ` +
      `**Optimised** is NAB's own rule: score.py picks, per profile and per detector, the threshold that maximises the score over the whole corpus (an exact sweep); it is an upper bound that a deployed detector does not get.`,
    "",
    `### At DEFAULT_THRESHOLD = ${DEFAULT_THRESHOLD}`,
    "",
    `DEFAULT_THRESHOLD is AUTO's alarm level: its scores are s/(s+5) of a surprise s = -log10(tail probability), so 0.5 is an anomaly likelihood ` +
      `tail of 1e-5, the level Numenta alarms at. The threshold was fixed from that meaning and not fitted; AUTO's other parameters (likelihood ` +
      `memory ~500 points, deviation floor 0.03, rest period 150 points, spatial tolerance 5 %) are generic values close to Numenta's and CAD OSE's, ` +
      `checked on this split to sit on a plateau (halving or doubling the likelihood memory, the deviation floor or the rest period moved the ` +
      `optimised standard score by at most ~2 points; the 10-point short average is more sensitive: 5 points cost ~6), not fitted per file or category. Spatial novelty also needs a point at least 1e-4 surprising against the prediction: that costs ~1.3 ` +
      `points here but keeps new extremes of plain noise from alarming. The other detectors put their scale's 0.5 near their own best ` +
      `threshold but have no likelihood stage or rest period; MAD's robust scale is too tight for NAB's quantised series at any single threshold.`,
    "",
    table(
      ["detector", "standard", "reward_low_FP", "reward_low_FN", "windows detected", "FP rows (standard)"],
      runs.map((r) => [r.algorithm, ...PROFILES.map((p) => fmt(r.fixed[p].score)), `${r.fixed.standard.windowsDetected} / ${r.fixed.standard.windows}`, int(r.fixed.standard.fpRows)]),
      1,
    ),
    "",
    `### Optimised thresholds (score.py's sweep, per profile)`,
    "",
    table(
      ["detector", "standard", "reward_low_FP", "reward_low_FN", "thresholds (std / low_FP / low_FN)", "points/s (scoring loop)"],
      runs.map((r) => [
        r.algorithm,
        ...PROFILES.map((p) => fmt(r.optimised[p].score)),
        PROFILES.map((p) => r.optimised[p].threshold.toFixed(3)).join(" / "),
        int(r.pointsPerSecond),
      ]),
      1,
    ),
    "",
    `### NAB's published detectors on the development split (optimised thresholds, from shared/nab/README.md)`,
    "",
    `Comparable with the optimised table above only when this run used the default data (the 41-file development split).`,
    "",
    table(["detector", "standard", "reward_low_FP", "reward_low_FN"], PUBLISHED.map(([name, ...s]) => [name, ...s.map(fmt)]), 1),
  ];
  const report = sections.join("\n");
  process.stdout.write(`${report}\n`);
  if (!opts["no-md"]) writeBenchmarksMd("nab", report);
}

function relativeToRoot(path: string): string {
  const r = resolve(path);
  return r.startsWith(`${ROOT}/`) ? r.slice(ROOT.length + 1) : r.startsWith(resolve(ROOT, "..")) ? `../${r.slice(resolve(ROOT, "..").length + 1)}` : r;
}

runBench("nab", main);
