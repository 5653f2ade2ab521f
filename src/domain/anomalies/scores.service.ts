import type { Database } from "../../db/database";
import { BadUserInputError } from "../../errors";
import { type Session, tenantOf } from "../auth";
import type { MetricsQueryService, SeriesSelector } from "../metrics";
import { MAX_SERIES_PER_QUERY } from "../metrics";
import type { AnomalyEngine, DetectorFactory } from "./engine";
import { MINUTE_MS } from "./engine";
import { selectorMatcher } from "../metrics/selector";
import { MONITOR_COLUMNS, type MonitorRow, toMonitor } from "./store";
import { AnomalyAlgorithm, Direction, type ScoredSample, type SeriesMaxScores } from "./types";

/** anomalyScores scores at most this many points per call */
export const MAX_SCORED_SAMPLES = 100_000;

const ALGORITHMS = new Set<string>(Object.values(AnomalyAlgorithm));

/**
 * Scores read back: `scores` runs a fresh detector over stored samples (anomalyScores, for charts
 * and for choosing a threshold), and `maxScores` serves the rules engine's ANOMALY condition from
 * the per-minute maxima the engine writes.
 */
export class AnomalyScores {
  constructor(
    private readonly db: Database,
    private readonly queries: MetricsQueryService,
    private readonly engine: AnomalyEngine,
    private readonly createDetector: DetectorFactory,
    /** samples before `from` a detector learns from first (the engine's warm-up bound) */
    private readonly warmupSamples: number,
  ) {}

  /**
   * Scores every stored point of one series in [from, to] with a fresh detector of `algorithm`
   * (AUTO by default), after warming it on the latest `warmupSamples` samples before `from`, so the
   * first points of the range are scored as the live engine would score them. The contract returns
   * one flat list, so the selector must match exactly one series (none: an empty list); at most
   * MAX_SCORED_SAMPLES points.
   */
  async scores(session: Session, selector: SeriesSelector, from: Date, to: Date, algorithm: AnomalyAlgorithm | null | undefined): Promise<ScoredSample[]> {
    const tenantId = tenantOf(session, "metrics:read");
    const alg = algorithm ?? AnomalyAlgorithm.AUTO;
    if (!ALGORITHMS.has(alg)) throw new BadUserInputError("algorithm", `must be one of ${[...ALGORITHMS].join(", ")}`);
    const lo = from.getTime();
    const hi = to.getTime();
    if (Number.isNaN(lo)) throw new BadUserInputError("from", "must be a date");
    if (Number.isNaN(hi) || hi < lo) throw new BadUserInputError("to", "must not be before from");
    const series = await this.queries.selectSeries(tenantId, selector, "selector", MAX_SERIES_PER_QUERY);
    if (series.length === 0) return [];
    if (series.length > 1) {
      throw new BadUserInputError("selector", `matches ${series.length} series; anomalyScores scores one series: add matchers so that it matches exactly one`);
    }
    const id = series[0]!.id;
    const [warm, points] = await Promise.all([
      this.db.query<{ ts: number; value: number }>(
        `SELECT ts::float8 AS ts, value FROM metric_samples WHERE tenant_id = $1 AND series_id = $2 AND ts < $3 ORDER BY ts DESC LIMIT $4`,
        [tenantId, id, lo, this.warmupSamples],
      ),
      this.db.query<{ ts: number; value: number }>(
        `SELECT ts::float8 AS ts, value FROM metric_samples WHERE tenant_id = $1 AND series_id = $2 AND ts >= $3 AND ts <= $4 ORDER BY ts LIMIT $5`,
        [tenantId, id, lo, hi, MAX_SCORED_SAMPLES + 1],
      ),
    ]);
    if (points.length > MAX_SCORED_SAMPLES) {
      throw new BadUserInputError("to", `the range holds more than ${MAX_SCORED_SAMPLES} samples; narrow it`);
    }
    const detector = this.createDetector(alg);
    for (let i = warm.length - 1; i >= 0; i--) detector.update(warm[i]!.ts, warm[i]!.value);
    return points.map((p) => {
      const r = detector.update(p.ts, p.value);
      return { ts: p.ts, value: p.value, expected: r.expected, score: Number.isFinite(r.score) ? r.score : 0 };
    });
  }

  /**
   * For the rules engine's ANOMALY condition (the tenant is already authorised): every series the
   * selector matches that an enabled monitor of the tenant watches, with its per-minute maximum
   * score in the window (fromMs, toMs], max over those monitors (each counts the scores of its own
   * algorithm, in its own direction). Minute granularity: a sample is one minute [t, t + 60 s)
   * whose points' highest score is `v`, for every minute that overlaps the window, so a window
   * edge may take in up to 59 s of points beyond it; `t` is the minute's start, moved to fromMs + 1
   * for the minute that straddles the start, so that every `t` lies in (fromMs, toMs]. Minutes
   * without scored points are absent; a watched series without any is returned with no samples.
   * Includes the maxima the engine holds in memory and has not written yet. At most 1,000 series
   * (BAD_USER_INPUT naming `selector` beyond).
   */
  async maxScores(tenantId: string, selector: SeriesSelector, fromMs: number, toMs: number): Promise<SeriesMaxScores[]> {
    const monitors = (
      await this.db.query<MonitorRow>(`SELECT ${MONITOR_COLUMNS} FROM anomaly_monitors WHERE tenant_id = $1 AND enabled`, [tenantId])
    ).map((r) => {
      const record = toMonitor(r);
      return { record, matches: selectorMatcher(record.selector) };
    });
    if (!monitors.length) return [];
    const series = await this.queries.selectSeries(tenantId, selector, "selector", MAX_SERIES_PER_QUERY);
    // per watched series: the direction each algorithm is read in (BOTH wins over one side)
    const watched = new Map<number, { record: (typeof series)[number]; reads: Map<string, Direction> }>();
    for (const s of series) {
      const reads = new Map<string, Direction>();
      for (const m of monitors) {
        if (!m.matches(s.name, s.labels)) continue;
        const had = reads.get(m.record.algorithm);
        reads.set(m.record.algorithm, had === undefined || had === m.record.direction ? m.record.direction : Direction.BOTH);
      }
      if (reads.size) watched.set(Number(s.id), { record: s, reads });
    }
    if (!watched.size) return [];
    const ids = [...watched.keys()];
    const rows = await this.db.query<{ series_id: number; algorithm: string; minute: number; up: number; down: number }>(
      `SELECT series_id::float8 AS series_id, algorithm, minute::float8 AS minute, max_up AS up, max_down AS down
         FROM anomaly_score_minutes
        WHERE tenant_id = $1 AND series_id = ANY($2::bigint[]) AND minute > $3 AND minute <= $4`,
      [tenantId, `{${ids.join(",")}}`, fromMs - MINUTE_MS, toMs],
    );
    const idSet = new Set(ids);
    const pending = this.engine.unwrittenMinutes(tenantId, idSet).filter((r) => r.minute > fromMs - MINUTE_MS && r.minute <= toMs);
    const maxima = new Map<number, Map<number, number>>();
    const add = (seriesId: number, algorithm: string, minute: number, up: number, down: number) => {
      const read = watched.get(seriesId)?.reads.get(algorithm);
      if (read === undefined) return;
      const v = read === Direction.UP ? up : read === Direction.DOWN ? down : Math.max(up, down);
      let byMinute = maxima.get(seriesId);
      if (!byMinute) maxima.set(seriesId, (byMinute = new Map()));
      byMinute.set(minute, Math.max(byMinute.get(minute) ?? 0, v));
    };
    for (const r of rows) add(r.series_id, r.algorithm, r.minute, r.up, r.down);
    for (const r of pending) add(r.seriesId, r.algorithm, r.minute, r.up, r.down);
    return ids.map((id) => {
      const { record } = watched.get(id)!;
      const byMinute = maxima.get(id) ?? new Map<number, number>();
      const samples = [...byMinute.entries()].sort((a, b) => a[0] - b[0]).map(([minute, v]) => ({ t: Math.max(minute, fromMs + 1), v }));
      return { seriesId: record.id, name: record.name, labels: record.labels, samples };
    });
  }
}
