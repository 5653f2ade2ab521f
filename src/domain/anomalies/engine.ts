import { LRUCache } from "lru-cache";
import type { Database } from "../../db/database";
import type { Logger } from "../../lib/logger";
import type { IngestListener, IngestedBatch } from "../metrics/ingest.service";
import type { VigilPubSub } from "../pubsub";
import type { Detector, DetectorSnapshot } from "./detectors/types";
import { type SeriesMatcher, selectorMatcher } from "../metrics/selector";
import { ANOMALY_SELECT, type AnomalyRow, MONITOR_COLUMNS, type MonitorRow, numberArray, toAnomalyPayload, toMonitor } from "./store";
import { type AnomalyAlgorithm, type AnomalyMonitorRecord, Direction } from "./types";

/** Makes a detector, resuming from a snapshot when one is given (src/domain/anomalies/detectors). */
export type DetectorFactory = (algorithm: AnomalyAlgorithm, snapshot?: DetectorSnapshot) => Detector;

export interface AnomalyEngineConfig {
  /** live detectors kept in memory, across tenants (an LRU; an evicted one is checkpointed first) */
  maxDetectors: number;
  /** stored samples a detector learns from before its first scored point (new, or re-warmed after a restart) */
  warmupSamples: number;
  /** points waiting to be scored beyond which ingest calls wait for the engine (backpressure) */
  maxQueuedPoints: number;
}

export const MINUTE_MS = 60_000;
/** how long a tenant's monitor list is trusted before it is read again (changes made by other processes) */
const MONITOR_REFRESH_MS = 10_000;
/** rows per statement when checkpointing */
const CHECKPOINT_CHUNK = 1_000;

interface WatchedMonitor {
  record: AnomalyMonitorRecord;
  matches: SeriesMatcher;
}

/** A tenant's enabled monitors, and which of them watch each series seen so far. */
interface TenantWatch {
  monitors: WatchedMonitor[];
  /** the monitors' ids and update times: a reload that finds the same keeps `bySeries` */
  version: string;
  loadedAt: number;
  bySeries: Map<number, Map<AnomalyAlgorithm, WatchedMonitor[]>>;
}

/** One (series, algorithm) detector in memory, shared by the monitors of that algorithm, with its open minute. */
interface LiveDetector {
  tenantId: string;
  seriesId: number;
  algorithm: AnomalyAlgorithm;
  detector: Detector;
  /** the last timestamp it learned from: older points are not scored */
  lastTs: number;
  /** learned since its last checkpoint */
  dirty: boolean;
  minute: number;
  /** the minute's highest scores of points above and below the expected value */
  minuteUp: number;
  minuteDown: number;
  /** the minute's maxima not yet written */
  minuteDirty: boolean;
}

interface CheckpointRow {
  tenantId: string;
  seriesId: number;
  algorithm: AnomalyAlgorithm;
  snapshot: string;
  lastTs: number;
}

interface MinuteRow {
  tenantId: string;
  seriesId: number;
  algorithm: AnomalyAlgorithm;
  minute: number;
  up: number;
  down: number;
}

interface AnomalyInsert {
  monitorId: string;
  seriesId: number;
  ts: number;
  value: number;
  expected: number | null;
  score: number;
  direction: "UP" | "DOWN";
}

/** The monitors of one algorithm watching one series, and the detector they share. */
interface Run {
  live: LiveDetector | undefined;
  algorithm: AnomalyAlgorithm;
  monitors: WatchedMonitor[];
  seriesId: number;
  start: number;
  end: number;
}

const keyOf = (tenantId: string, seriesId: number, algorithm: string) => `${tenantId}|${seriesId}|${algorithm}`;

const minuteOf = (live: LiveDetector): MinuteRow => ({
  tenantId: live.tenantId,
  seriesId: live.seriesId,
  algorithm: live.algorithm,
  minute: live.minute,
  up: live.minuteUp,
  down: live.minuteDown,
});

const checkpointOf = (live: LiveDetector): CheckpointRow => ({
  tenantId: live.tenantId,
  seriesId: live.seriesId,
  algorithm: live.algorithm,
  snapshot: JSON.stringify(live.detector.snapshot()),
  lastTs: live.lastTs,
});

/**
 * Scores ingested points with each enabled monitor whose selector matches their series.
 *
 * - **After commit, off the ingest path.** IngestService hands over every committed batch; the
 *   engine queues it and answers at once, so an ingest call does not wait for scoring. Batches are
 *   scored one at a time in arrival order, so each series' points reach its detectors in order.
 *   Beyond `maxQueuedPoints` waiting points, ingest calls wait until half of them are scored:
 *   backpressure, never dropped points.
 * - **One detector per (series, algorithm)**, shared by the monitors of that algorithm watching the
 *   series (its state depends on nothing else); each monitor applies its own threshold and
 *   direction to the shared score. Detectors live in an LRU; an evicted one is checkpointed first.
 *   A detector missing from memory is restored from its checkpoint, then re-warmed from the stored
 *   samples after the checkpoint's last timestamp (at most `warmupSamples`, the latest ones); one
 *   without a checkpoint (a new monitor or series) warms from the latest `warmupSamples` stored
 *   samples before the batch. Points older than or equal to a detector's last timestamp (out of
 *   order, or rewritten) are not scored.
 * - **Writes per batch, in one transaction:** the anomalies (score ≥ threshold, in the monitor's
 *   direction) and the per-minute maximum scores of completed minutes; anomalies are published to
 *   `ANOMALY_DETECTED` after commit. The open minute's maxima are written when the minute ends,
 *   when it holds an anomaly, and at each checkpoint; maxScores reads them from memory meanwhile.
 * - **Checkpoints** (`checkpoint()`, run by src/jobs/anomaly.jobs.ts and on stop) write every
 *   detector that learned since its last one.
 */
export class AnomalyEngine implements IngestListener {
  private readonly watches = new Map<string, TenantWatch>();
  private readonly detectors: LRUCache<string, LiveDetector>;
  /** rows of evicted detectors, written with the next batch or checkpoint */
  private evictedCheckpoints: CheckpointRow[] = [];
  private evictedMinutes: MinuteRow[] = [];
  /** scoring and checkpoints run one at a time, in order */
  private chain: Promise<void> = Promise.resolve();
  private queuedPoints = 0;
  private waiters: Array<() => void> = [];
  private stopped = false;
  /** the snapshot layout each algorithm writes now */
  private readonly versions = new Map<AnomalyAlgorithm, number>();

  constructor(
    private readonly db: Database,
    private readonly pubsub: VigilPubSub,
    private readonly createDetector: DetectorFactory,
    private readonly config: AnomalyEngineConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.detectors = new LRUCache<string, LiveDetector>({
      max: config.maxDetectors,
      dispose: (live, _key, reason) => {
        if (reason === "evict") this.keepEvicted(live);
      },
    });
  }

  /** Points waiting to be scored. */
  get backlog(): number {
    return this.queuedPoints;
  }

  ingested(batch: IngestedBatch): Promise<void> | undefined {
    if (this.stopped) return undefined;
    const watch = this.watches.get(batch.tenantId);
    // the common case of a tenant without monitors costs one map lookup
    if (watch && watch.monitors.length === 0 && this.now() - watch.loadedAt < MONITOR_REFRESH_MS) return undefined;
    const n = batch.seriesIds.length;
    this.queuedPoints += n;
    void this.enqueue(async () => {
      try {
        await this.score(batch);
      } catch (err) {
        this.log.error({ err, tenantId: batch.tenantId, points: n }, "anomaly scoring failed for a batch");
      } finally {
        this.queuedPoints -= n;
        if (this.queuedPoints <= this.config.maxQueuedPoints / 2) for (const w of this.waiters.splice(0)) w();
      }
    });
    if (this.queuedPoints <= this.config.maxQueuedPoints) return undefined;
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Resolves once every batch handed over so far is scored and written. */
  idle(): Promise<void> {
    return this.enqueue(async () => undefined);
  }

  /** Writes every detector that learned since its last checkpoint, and the open minutes' maxima; returns the detectors written. */
  async checkpoint(): Promise<number> {
    let written = 0;
    await this.enqueue(async () => {
      written = await this.writeCheckpoints();
    });
    return written;
  }

  /**
   * Monitors of the tenant changed: re-read them. `dropped` algorithms are no longer used by any
   * monitor of the tenant: their live detectors go (their rows were deleted with the change).
   */
  monitorsChanged(tenantId: string, dropped: readonly AnomalyAlgorithm[] = []): void {
    this.watches.delete(tenantId);
    if (!dropped.length) return;
    const gone = new Set<string>(dropped);
    for (const [key, live] of this.detectors.entries()) if (live.tenantId === tenantId && gone.has(live.algorithm)) this.detectors.delete(key);
    const keep = (r: { tenantId: string; algorithm: string }) => !(r.tenantId === tenantId && gone.has(r.algorithm));
    this.evictedCheckpoints = this.evictedCheckpoints.filter(keep);
    this.evictedMinutes = this.evictedMinutes.filter(keep);
  }

  /** A deleted tenant: forget everything of it (its rows are gone). */
  forgetTenant(tenantId: string): void {
    this.watches.delete(tenantId);
    for (const [key, live] of this.detectors.entries()) if (live.tenantId === tenantId) this.detectors.delete(key);
    this.evictedCheckpoints = this.evictedCheckpoints.filter((r) => r.tenantId !== tenantId);
    this.evictedMinutes = this.evictedMinutes.filter((r) => r.tenantId !== tenantId);
  }

  /** The minute maxima of the tenant's detectors not yet written (maxScores merges them with the stored ones). */
  unwrittenMinutes(tenantId: string, seriesIds: ReadonlySet<number>): MinuteRow[] {
    const out: MinuteRow[] = [];
    for (const live of this.detectors.values()) if (live.tenantId === tenantId && live.minuteDirty && seriesIds.has(live.seriesId)) out.push(minuteOf(live));
    for (const r of this.evictedMinutes) if (r.tenantId === tenantId && seriesIds.has(r.seriesId)) out.push(r);
    return out;
  }

  /** Scores what is queued, then checkpoints everything; later batches are ignored. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.waiters.splice(0)) w();
    await this.checkpoint();
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task);
    this.chain = run.catch((err: unknown) => this.log.error({ err }, "anomaly engine task failed"));
    return run;
  }

  private versionOf(algorithm: AnomalyAlgorithm): number {
    let v = this.versions.get(algorithm);
    if (v === undefined) this.versions.set(algorithm, (v = this.createDetector(algorithm).snapshot().version));
    return v;
  }

  private keepEvicted(live: LiveDetector): void {
    if (live.dirty) this.evictedCheckpoints.push(checkpointOf(live));
    if (live.minuteDirty) this.evictedMinutes.push(minuteOf(live));
  }

  private async watchOf(tenantId: string): Promise<TenantWatch> {
    const cached = this.watches.get(tenantId);
    const now = this.now();
    if (cached && now - cached.loadedAt < MONITOR_REFRESH_MS) return cached;
    const rows = await this.db.query<MonitorRow>(`SELECT ${MONITOR_COLUMNS} FROM anomaly_monitors WHERE tenant_id = $1 AND enabled ORDER BY created_at, id`, [tenantId]);
    const records = rows.map(toMonitor);
    const version = records.map((r) => `${r.id}@${r.updatedAt}`).join(",");
    if (cached && cached.version === version) {
      cached.loadedAt = now;
      return cached;
    }
    const watch: TenantWatch = {
      monitors: records.map((record) => ({ record, matches: selectorMatcher(record.selector) })),
      version,
      loadedAt: now,
      bySeries: new Map(),
    };
    this.watches.set(tenantId, watch);
    return watch;
  }

  /** The series' watching monitors grouped by algorithm (computed once per series and monitor set). */
  private watchersOf(watch: TenantWatch, batch: IngestedBatch, seriesId: number): Map<AnomalyAlgorithm, WatchedMonitor[]> {
    let groups = watch.bySeries.get(seriesId);
    if (!groups) {
      groups = new Map();
      const s = batch.series.get(seriesId);
      for (const m of watch.monitors) {
        if (!s || !m.matches(s.name, s.labels)) continue;
        const list = groups.get(m.record.algorithm);
        if (list) list.push(m);
        else groups.set(m.record.algorithm, [m]);
      }
      watch.bySeries.set(seriesId, groups);
    }
    return groups;
  }

  private async score(batch: IngestedBatch): Promise<void> {
    const { tenantId, seriesIds, timestamps, values } = batch;
    const watch = await this.watchOf(tenantId);
    if (watch.monitors.length === 0) return;

    // Runs of one series (the batch is in series, timestamp order) per algorithm watching it.
    const runs: Run[] = [];
    for (let start = 0; start < seriesIds.length; ) {
      const seriesId = seriesIds[start]!;
      let end = start + 1;
      while (end < seriesIds.length && seriesIds[end] === seriesId) end++;
      for (const [algorithm, monitors] of this.watchersOf(watch, batch, seriesId)) {
        runs.push({ live: this.detectors.get(keyOf(tenantId, seriesId, algorithm)), algorithm, monitors, seriesId, start, end });
      }
      start = end;
    }
    if (!runs.length) return;
    const missing = runs.filter((r) => r.live === undefined);
    if (missing.length) await this.load(tenantId, missing, timestamps);

    const anomalies: AnomalyInsert[] = [];
    const minutes: MinuteRow[] = [];
    for (const run of runs) {
      const live = run.live!;
      for (let i = run.start; i < run.end; i++) {
        const ts = timestamps[i]!;
        if (ts <= live.lastTs) continue;
        const value = values[i]!;
        const r = live.detector.update(ts, value);
        live.lastTs = ts;
        live.dirty = true;
        const score = Number.isFinite(r.score) ? Math.min(1, Math.max(0, r.score)) : 0;
        const up = r.direction === "UP";
        const minute = ts - (ts % MINUTE_MS);
        if (minute !== live.minute) {
          if (live.minuteDirty) minutes.push(minuteOf(live));
          live.minute = minute;
          live.minuteUp = up ? score : 0;
          live.minuteDown = up ? 0 : score;
          live.minuteDirty = true;
        } else if (up ? score > live.minuteUp : score > live.minuteDown) {
          if (up) live.minuteUp = score;
          else live.minuteDown = score;
          live.minuteDirty = true;
        }
        let anomalous = false;
        for (const { record } of run.monitors) {
          if (score < record.threshold || (record.direction !== Direction.BOTH && (record.direction as string) !== r.direction)) continue;
          anomalies.push({ monitorId: record.id, seriesId: live.seriesId, ts, value, expected: r.expected, score, direction: r.direction });
          anomalous = true;
        }
        if (anomalous && live.minuteDirty) {
          // an anomaly's minute is written with it, so a rule sees the score as soon as the anomaly
          minutes.push(minuteOf(live));
          live.minuteDirty = false;
        }
      }
    }
    await this.write(tenantId, anomalies, minutes);
  }

  /** Restores (checkpoint + re-warm) or creates and warms the detectors of `runs`, filling in `run.live`. */
  private async load(tenantId: string, runs: Run[], timestamps: readonly number[]): Promise<void> {
    const rows = await this.db.query<{ series_id: number; algorithm: AnomalyAlgorithm; snapshot: DetectorSnapshot; last_ts: number }>(
      `SELECT c.series_id::float8 AS series_id, c.algorithm, c.snapshot, c.last_ts::float8 AS last_ts
         FROM anomaly_checkpoints c JOIN unnest($2::bigint[], $3::text[]) AS k (series_id, algorithm)
           ON c.series_id = k.series_id AND c.algorithm = k.algorithm
        WHERE c.tenant_id = $1`,
      [tenantId, numberArray(runs.map((r) => r.seriesId)), runs.map((r) => r.algorithm)],
    );
    const saved = new Map(rows.map((r) => [`${r.series_id}|${r.algorithm}`, r]));
    for (const run of runs) {
      const { algorithm } = run;
      const cp = saved.get(`${run.seriesId}|${algorithm}`);
      let detector: Detector | undefined;
      // createDetector starts afresh from a snapshot it cannot resume (an older layout): then the
      // checkpoint's last_ts means nothing and the detector warms up as a new one
      if (cp && cp.snapshot?.algorithm === algorithm && cp.snapshot.version === this.versionOf(algorithm)) detector = this.createDetector(algorithm, cp.snapshot);
      run.live = {
        tenantId,
        seriesId: run.seriesId,
        algorithm,
        detector: detector ?? this.createDetector(algorithm),
        lastTs: detector ? cp!.last_ts : Number.NEGATIVE_INFINITY,
        dirty: false,
        minute: Number.NEGATIVE_INFINITY,
        minuteUp: 0,
        minuteDown: 0,
        minuteDirty: false,
      };
      this.detectors.set(keyOf(tenantId, run.seriesId, algorithm), run.live);
    }
    await this.warm(tenantId, runs, timestamps);
  }

  /**
   * Feeds each new or restored detector the stored samples it has not seen, before the batch's
   * first point of its series: the latest `warmupSamples` of them. One query per batch; the
   * detectors of one series share its rows.
   */
  private async warm(tenantId: string, runs: Run[], timestamps: readonly number[]): Promise<void> {
    const bySeries = new Map<number, { after: number; before: number; lives: LiveDetector[] }>();
    for (const run of runs) {
      const live = run.live!;
      const s = bySeries.get(run.seriesId);
      if (s) {
        s.after = Math.min(s.after, live.lastTs);
        s.lives.push(live);
      } else bySeries.set(run.seriesId, { after: live.lastTs, before: timestamps[run.start]!, lives: [live] });
    }
    const entries = [...bySeries.entries()].filter(([, s]) => s.after < s.before - 1);
    if (!entries.length) return;
    const rows = await this.db.query<{ series_id: number; ts: number; value: number }>(
      `SELECT g.series_id::float8 AS series_id, s.ts::float8 AS ts, s.value
         FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) AS g (series_id, after_ts, before_ts)
         CROSS JOIN LATERAL (SELECT ts, value FROM metric_samples
                              WHERE tenant_id = $1 AND series_id = g.series_id AND ts > g.after_ts AND ts < g.before_ts
                              ORDER BY ts DESC LIMIT $5) s
        ORDER BY 1, 2`,
      [
        tenantId,
        numberArray(entries.map(([id]) => id)),
        numberArray(entries.map(([, s]) => (Number.isFinite(s.after) ? s.after : -1))),
        numberArray(entries.map(([, s]) => s.before)),
        this.config.warmupSamples,
      ],
    );
    for (const r of rows) {
      for (const live of bySeries.get(r.series_id)!.lives) {
        if (r.ts <= live.lastTs) continue;
        live.detector.update(r.ts, r.value);
        live.lastTs = r.ts;
        live.dirty = true;
      }
    }
  }

  /** The batch's anomalies and minute maxima (plus what evictions left), in one transaction; publishes after commit. */
  private async write(tenantId: string, anomalies: AnomalyInsert[], minutes: MinuteRow[]): Promise<void> {
    const checkpoints = this.evictedCheckpoints.splice(0);
    const allMinutes = minutes.concat(this.evictedMinutes.splice(0));
    if (!anomalies.length && !allMinutes.length && !checkpoints.length) return;
    await this.db.transaction(async (m) => {
      if (anomalies.length) {
        const inserted = (await m.query(
          `INSERT INTO anomalies (tenant_id, monitor_id, series_id, ts, value, expected, score, direction)
           SELECT $1, u.* FROM unnest($2::uuid[], $3::bigint[], $4::bigint[], $5::float8[], $6::float8[], $7::float8[], $8::text[])
                          AS u (monitor_id, series_id, ts, value, expected, score, direction)
            WHERE EXISTS (SELECT 1 FROM anomaly_monitors am WHERE am.tenant_id = $1 AND am.id = u.monitor_id)
           RETURNING id::text AS id`,
          [
            tenantId,
            anomalies.map((a) => a.monitorId),
            numberArray(anomalies.map((a) => a.seriesId)),
            numberArray(anomalies.map((a) => a.ts)),
            numberArray(anomalies.map((a) => a.value)),
            anomalies.map((a) => a.expected),
            numberArray(anomalies.map((a) => a.score)),
            anomalies.map((a) => a.direction),
          ],
        )) as Array<{ id: string }>;
        if (inserted.length) {
          const rows = (await m.query(`${ANOMALY_SELECT} WHERE a.tenant_id = $1 AND a.id = ANY($2::bigint[]) ORDER BY a.id`, [
            tenantId,
            inserted.map((r) => r.id),
          ])) as AnomalyRow[];
          this.db.afterCommit(() => {
            for (const row of rows) this.pubsub.publish("ANOMALY_DETECTED", tenantId, toAnomalyPayload(row));
          });
        }
      }
      await upsertMinutes(m, allMinutes);
      await upsertCheckpoints(m, checkpoints);
    });
  }

  private async writeCheckpoints(): Promise<number> {
    const rows = this.evictedCheckpoints.splice(0);
    const minutes = this.evictedMinutes.splice(0);
    for (const live of this.detectors.values()) {
      if (live.dirty) {
        rows.push(checkpointOf(live));
        live.dirty = false;
      }
      if (live.minuteDirty) {
        minutes.push(minuteOf(live));
        live.minuteDirty = false;
      }
    }
    // in chunks, each its own transaction: the embedded database serves others in between
    for (let i = 0; i < Math.max(rows.length, minutes.length); i += CHECKPOINT_CHUNK) {
      await this.db.transaction(async (m) => {
        await upsertCheckpoints(m, rows.slice(i, i + CHECKPOINT_CHUNK));
        await upsertMinutes(m, minutes.slice(i, i + CHECKPOINT_CHUNK));
      });
    }
    return rows.length;
  }
}

type Manager = Parameters<Parameters<Database["transaction"]>[0]>[0];

/** Only for algorithms some monitor of the tenant still uses (the EXISTS): a deleted monitor's rows stay deleted. */
const ALGORITHM_IN_USE = `EXISTS (SELECT 1 FROM anomaly_monitors am WHERE am.tenant_id = u.tenant_id AND am.algorithm = u.algorithm)`;

async function upsertMinutes(m: Manager, rows: MinuteRow[]): Promise<void> {
  if (!rows.length) return;
  // one row per key: ON CONFLICT DO UPDATE cannot touch a row twice in one statement
  const byKey = new Map<string, MinuteRow>();
  for (const r of rows) {
    const key = `${keyOf(r.tenantId, r.seriesId, r.algorithm)}|${r.minute}`;
    const had = byKey.get(key);
    byKey.set(key, had ? { ...r, up: Math.max(had.up, r.up), down: Math.max(had.down, r.down) } : r);
  }
  const list = [...byKey.values()];
  await m.query(
    `INSERT INTO anomaly_score_minutes (tenant_id, series_id, algorithm, minute, max_up, max_down)
     SELECT u.* FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::bigint[], $5::float8[], $6::float8[])
                  AS u (tenant_id, series_id, algorithm, minute, max_up, max_down)
      WHERE ${ALGORITHM_IN_USE}
     ON CONFLICT (tenant_id, series_id, algorithm, minute) DO UPDATE
       SET max_up = GREATEST(anomaly_score_minutes.max_up, excluded.max_up), max_down = GREATEST(anomaly_score_minutes.max_down, excluded.max_down)`,
    [
      list.map((r) => r.tenantId),
      numberArray(list.map((r) => r.seriesId)),
      list.map((r) => r.algorithm),
      numberArray(list.map((r) => r.minute)),
      numberArray(list.map((r) => r.up)),
      numberArray(list.map((r) => r.down)),
    ],
  );
}

async function upsertCheckpoints(m: Manager, rows: CheckpointRow[]): Promise<void> {
  if (!rows.length) return;
  const list = [...new Map(rows.map((r) => [keyOf(r.tenantId, r.seriesId, r.algorithm), r])).values()];
  await m.query(
    `INSERT INTO anomaly_checkpoints (tenant_id, series_id, algorithm, snapshot, last_ts)
     SELECT u.* FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::jsonb[], $5::bigint[]) AS u (tenant_id, series_id, algorithm, snapshot, last_ts)
      WHERE ${ALGORITHM_IN_USE}
     ON CONFLICT (tenant_id, series_id, algorithm) DO UPDATE SET snapshot = excluded.snapshot, last_ts = excluded.last_ts, updated_at = now()`,
    [list.map((r) => r.tenantId), numberArray(list.map((r) => r.seriesId)), list.map((r) => r.algorithm), list.map((r) => r.snapshot), numberArray(list.map((r) => r.lastTs))],
  );
}
