import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";
import type { Partitions } from "../../db/partitions";
import { isUniqueViolation } from "../../db/errors";
import { BadUserInputError, QuotaExceededError, RateLimitedError } from "../../errors";
import { type Session, tenantOf } from "../auth";
import { type Point, type PointInput, validatePoints } from "./points";
import { MINUTE_MS } from "./rollups";
import { SeriesIdCache } from "./series-cache";
import { MetricType } from "./types";

export interface IngestResult {
  accepted: number;
  seriesCreated: number;
}

/**
 * The samples one ingest call wrote, handed to an IngestListener once they are committed: every
 * written sample in (series id, timestamp) order, duplicates of a batch resolved (the last wins).
 */
export interface IngestedBatch {
  tenantId: string;
  seriesIds: readonly number[];
  timestamps: readonly number[];
  values: readonly number[];
  /** name and labels of every series in the batch, by id */
  series: ReadonlyMap<number, { name: string; labels: Record<string, string> }>;
}

/**
 * Told about every committed batch (anomaly scoring). It must return at once; a returned promise is
 * backpressure: the ingest call answers when it settles. Ingest is never nested in an outer
 * transaction, so "after the call's transaction" is "after commit".
 */
export interface IngestListener {
  ingested(batch: IngestedBatch): Promise<void> | undefined;
}

interface TenantLimits {
  retentionDays: number;
  maxSeries: number;
  maxSamplesPerSecond: number;
}

interface CachedSeries {
  id: string;
  type: MetricType;
}

/** One series of a batch, with the first point that named it (for error messages and creation). */
interface BatchSeries {
  first: Point;
  id?: string;
  type?: MetricType;
  /** found in the id cache (no need to cache it again) */
  cached: boolean;
  minTs: number;
  maxTs: number;
  /** position of the series by id, for seriesTimeOrder */
  rank: number;
}

/** A batch's series after the id cache: `misses` of them still need a lookup. */
interface CachedBatch {
  bySeries: Map<string, BatchSeries>;
  /** the entry of each point's series */
  seriesOf: BatchSeries[];
  misses: number;
}

/**
 * Indexes of `points` in (series id, timestamp) order, stable. A counting sort by series (ranked
 * by id: a sort of the batch's distinct series only), then a sort of each series' run only where
 * its timestamps are not already ascending: O(n) for the usual batch, where a client sends each
 * series' points in time order (a comparison sort of all n indexes cost ~2 µs per point).
 */
function seriesTimeOrder(points: readonly Point[], seriesOf: readonly BatchSeries[], bySeries: ReadonlyMap<string, BatchSeries>): Int32Array {
  const ranked = [...bySeries.values()].sort((a, b) => Number(a.id) - Number(b.id));
  for (let r = 0; r < ranked.length; r++) ranked[r]!.rank = r;
  const n = points.length;
  const start = new Int32Array(ranked.length + 1);
  for (let i = 0; i < n; i++) start[seriesOf[i]!.rank + 1]!++;
  for (let r = 0; r < ranked.length; r++) start[r + 1]! += start[r]!;
  const next = start.slice(0, ranked.length);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[next[seriesOf[i]!.rank]!++] = i;
  for (let r = 0; r < ranked.length; r++) {
    const a = start[r]!;
    const b = start[r + 1]!;
    let sorted = true;
    for (let k = a + 1; k < b && sorted; k++) sorted = points[order[k - 1]!]!.ts <= points[order[k]!]!.ts;
    if (!sorted) order.set(Array.from(order.subarray(a, b)).sort((x, y) => points[x]!.ts - points[y]!.ts), a);
  }
  return order;
}

/** md5 of the canonical series key, as a uuid: the (tenant, identity) unique key of metric_series. */
function identityOf(key: string): string {
  const h = createHash("md5").update(key).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * A PostgreSQL array literal of numbers (or digit strings). pg's generic array serialiser quotes and
 * escapes every element; numbers need neither, and this is several times faster on 10,000 of them.
 */
function numberArray(values: ReadonlyArray<number | string>): string {
  return `{${values.join(",")}}`;
}

/**
 * Writes the samples and marks the touched minutes for the rollup job in one statement (one round
 * trip). `upsert`: the same series and timestamp again overwrites (last write wins). The plain
 * INSERT is tried first: ON CONFLICT DO UPDATE costs ~60 % more per row on every batch (measured:
 * 80 vs 50 ms per 10,000 rows), while rewrites are rare (client retries), so a batch that rewrites
 * fails with a unique violation and IngestService.commit runs its transaction again with `upsert`.
 * (A SAVEPOINT around the INSERT did the same inside the transaction for two more round trips per
 * batch, on every batch.)
 *
 * The markers: rows of a minute the batch touches ($5) and the ids of the batch's series in that
 * minute ($6, array literals of at most MARK_SERIES ids, so that a row stays small enough to be
 * stored inline: one TOASTed row of 1,000 ids took 1.8 ms to insert, five rows of 200 ids 0.25 ms,
 * measured on PostgreSQL 15, 2026-11-23). Inserted with the samples, they commit
 * with them, so a consumer (Rollups.runBatch and refresh, retention) that takes a marker recomputes
 * in a later statement of its READ COMMITTED transaction, whose snapshot includes these samples; a
 * batch still uncommitted has a marker no consumer can see yet. No probe of existing markers and no
 * lock: a batch of 1,000 series at one timestamp used to probe and lock 1,000 per-series markers
 * (FOR KEY SHARE) to add none, 3–4 ms of PostgreSQL time on top of the 4–5 ms of its samples.
 */
function writeSamplesSql(upsert: boolean): string {
  return `WITH samples AS (
      INSERT INTO metric_samples (tenant_id, series_id, ts, value)
      SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::float8[])
      ${upsert ? "ON CONFLICT (tenant_id, series_id, ts) DO UPDATE SET value = excluded.value" : ""})
    INSERT INTO metric_rollup_pending (tenant_id, bucket, series_ids)
    SELECT $1, m.bucket, m.ids::bigint[] FROM unnest($5::bigint[], $6::text[]) AS m (bucket, ids)`;
}
/** tenants whose limits a process keeps (see IngestService.limits) */
const LIMITS_CACHE_SIZE = 10_000;

/** series ids per marker row (see writeSamplesSql): 8 bytes each, under PostgreSQL's 2 kB TOAST threshold */
const MARK_SERIES = 200;

const INSERT_SAMPLES = writeSamplesSql(false);
const UPSERT_SAMPLES = writeSamplesSql(true);

/**
 * The ingest hot path. Per batch: validate in plain code, take the batch from the tenant's
 * per-second budget, resolve series ids (a cache first, then one bulk lookup and one bulk
 * insert for the misses), then write every sample with one `INSERT … SELECT FROM unnest(…)` and
 * mark the touched minutes for the rollup job — in one statement when every series was cached, else
 * in one transaction (see commit). Raw SQL here on purpose:
 * one ORM call per row is what the issue rules out.
 */
export class IngestService {
  private readonly cache: SeriesIdCache<CachedSeries>;
  /** one limiter per distinct maxSamplesPerSecond value, keyed by tenant id */
  private readonly limiters = new Map<number, RateLimiterMemory>();

  private readonly seriesObservers: Array<(tenantId: string, names: ReadonlySet<string>) => void> = [];
  /**
   * Tenants' limits, kept for `limitsCacheMs` (AUTH_CACHE_MS) so that a batch costs one round trip
   * instead of two. A change made by this process is seen at once (TenantService calls
   * forgetLimits at commit); other processes see it within `limitsCacheMs`.
   */
  private readonly limits: LRUCache<string, TenantLimits> | undefined;
  /** bumped by every forget: a read that started before it must not cache what it read */
  private limitsGeneration = 0;

  constructor(
    private readonly db: Database,
    private readonly partitions: Partitions,
    seriesCacheSize: number,
    private readonly listener?: IngestListener,
    limitsCacheMs = 0,
  ) {
    this.cache = new SeriesIdCache(seriesCacheSize);
    this.limits = limitsCacheMs > 0 ? new LRUCache({ max: LIMITS_CACHE_SIZE, ttl: limitsCacheMs }) : undefined;
  }

  async ingest(session: Session, input: readonly PointInput[], now = Date.now()): Promise<IngestResult> {
    const tenantId = tenantOf(session, "metrics:write");
    const limits = await this.limitsOf(tenantId);
    const points = validatePoints(input, now, limits.retentionDays);
    if (points.length === 0) return { accepted: 0, seriesCreated: 0 };
    await this.takeBudget(tenantId, points.length, limits.maxSamplesPerSecond);
    await this.partitions.ensureFor(points.map((p) => p.ts));
    return this.commit(tenantId, points, limits);
  }

  /**
   * Writes points on a tenant's behalf, for series Vigil derives itself (the registry's call
   * metrics): no key and no per-second budget, but the same rules and the tenant's maxSeries.
   */
  async ingestAsSystem(tenantId: string, input: readonly PointInput[], now = Date.now()): Promise<IngestResult> {
    const limits = await this.limitsOf(tenantId);
    const points = validatePoints(input, now, limits.retentionDays);
    if (points.length === 0) return { accepted: 0, seriesCreated: 0 };
    await this.partitions.ensureFor(points.map((p) => p.ts));
    return this.commit(tenantId, points, limits);
  }

  /**
   * One statement when every series of the batch is in the id cache, else one transaction (series
   * lookup and creation, then the write). The single statement (samples and markers, see
   * writeSamplesSql) is atomic on its own, so it runs without BEGIN and COMMIT: two round trips
   * fewer per batch (on batches of 1,000 points the server's CPU fell from ~8.3 to ~6.6 ms per
   * 1,000 points, and PostgreSQL's a little too; BENCHMARKS.md).
   * A batch that rewrites stored samples runs again as an upsert (see writeSamplesSql). Ingest is
   * never nested in an outer transaction, so the unique violation aborted only this attempt (and
   * its afterCommit callbacks), and the second one starts clean, from the cache again.
   */
  private async commit(tenantId: string, points: Point[], limits: TenantLimits): Promise<IngestResult> {
    let written: IngestedBatch | undefined;
    const attempt = async (upsert: boolean) => {
      const batch = this.seriesFromCache(tenantId, points);
      const write = async (m: EntityManager) => {
        const w = await this.write(m, tenantId, points, batch, limits, upsert);
        written = w.written;
        return w.result;
      };
      return batch.misses ? this.db.transaction(write) : this.db.read(write);
    };
    let result: IngestResult;
    try {
      result = await attempt(false);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      result = await attempt(true);
    }
    if (written) await this.listener?.ingested(written);
    return result;
  }

  /** Tells `observe` the names of the series each committed ingest created (caches of series by name). */
  onSeriesCreated(observe: (tenantId: string, names: ReadonlySet<string>) => void): void {
    this.seriesObservers.push(observe);
  }

  /** Forgets cached series of a deleted tenant (their ids are gone), and its limits. */
  forgetTenant(tenantId: string): void {
    this.cache.forgetTenant(tenantId);
    this.forgetLimits(tenantId);
  }

  /** The tenant's limits changed: the next batch reads them again. */
  forgetLimits(tenantId: string): void {
    this.limitsGeneration++;
    this.limits?.delete(tenantId);
  }

  /** The batch's series, with their ids and types where the cache knows them. */
  private seriesFromCache(tenantId: string, points: readonly Point[]): CachedBatch {
    // One entry per series in the batch, with the first point that named it (for error messages).
    const bySeries = new Map<string, BatchSeries>();
    const n = points.length;
    // the entry of each point's series, looked up once
    const seriesOf: BatchSeries[] = new Array(n);
    let misses = 0;
    for (let i = 0; i < n; i++) {
      const p = points[i]!;
      let s = bySeries.get(p.key);
      if (s) {
        if (p.ts < s.minTs) s.minTs = p.ts;
        if (p.ts > s.maxTs) s.maxTs = p.ts;
      } else {
        const cached = this.cache.get(tenantId, p.key);
        s = { first: p, id: cached?.id, type: cached?.type, cached: cached !== undefined, minTs: p.ts, maxTs: p.ts, rank: 0 };
        if (!cached) misses++;
        bySeries.set(p.key, s);
      }
      seriesOf[i] = s;
    }
    return { bySeries, seriesOf, misses };
  }

  private async write(
    m: EntityManager,
    tenantId: string,
    points: Point[],
    { bySeries, seriesOf }: CachedBatch,
    limits: TenantLimits,
    upsert: boolean,
  ): Promise<{ result: IngestResult; written?: IngestedBatch }> {
    const n = points.length;
    const misses = [...bySeries.entries()].filter(([, s]) => s.id === undefined);
    let seriesCreated = 0;
    if (misses.length) {
      const identities = misses.map(([key]) => identityOf(key));
      const found = (await m.query(
        `SELECT id, identity, type FROM metric_series WHERE tenant_id = $1 AND identity = ANY($2::uuid[])`,
        [tenantId, identities],
      )) as Array<{ id: string; identity: string; type: MetricType }>;
      const byIdentity = new Map(found.map((r) => [r.identity, r]));
      const fresh: typeof misses = [];
      misses.forEach((entry, i) => {
        const row = byIdentity.get(identities[i]!);
        if (row) Object.assign(entry[1], { id: row.id, type: row.type });
        else fresh.push(entry);
      });
      if (fresh.length) seriesCreated = await this.createSeries(m, tenantId, fresh, limits.maxSeries);
    }

    // A point may name the type; it must agree with the series' type, fixed at creation.
    for (let i = 0; i < n; i++) {
      const p = points[i]!;
      const s = seriesOf[i]!;
      if (p.type !== null && p.type !== s.type) {
        throw new BadUserInputError(`points[${p.index}].type`, `series ${p.key} is a ${s.type}; a ${p.type} point cannot be written to it`);
      }
    }

    // Rows in (series, timestamp) order, so that consecutive rows land on the same index pages
    // (measured: 30 % more rows/s with two batches writing at once). The order is stable, so of the
    // same series and timestamp twice in one batch the later point comes last and wins, as a later
    // call would.
    const order = seriesTimeOrder(points, seriesOf, bySeries);
    const sid = new Float64Array(n);
    for (let i = 0; i < n; i++) sid[i] = Number(seriesOf[i]!.id);
    const ids: number[] = [];
    const tss: number[] = [];
    const values: number[] = [];
    // the series of each minute, for the markers (rows are in series order, so each series once per minute)
    const seriesByMinute = new Map<number, number[]>();
    let lastSeries = -1;
    let lastMinute = -1;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      const next = order[k + 1];
      const ts = points[i]!.ts;
      if (next !== undefined && sid[next] === sid[i] && points[next]!.ts === ts) continue;
      ids.push(sid[i]!);
      tss.push(ts);
      values.push(points[i]!.value);
      const minute = ts - (ts % MINUTE_MS);
      if (sid[i] !== lastSeries || minute !== lastMinute) {
        lastSeries = sid[i]!;
        lastMinute = minute;
        const of = seriesByMinute.get(minute);
        if (of) of.push(lastSeries);
        else seriesByMinute.set(minute, [lastSeries]);
      }
    }
    const markBuckets: number[] = [];
    const markSeries: string[] = [];
    for (const [minute, series] of seriesByMinute) {
      for (let k = 0; k < series.length; k += MARK_SERIES) {
        markBuckets.push(minute);
        markSeries.push(numberArray(series.slice(k, k + MARK_SERIES)));
      }
    }
    await m.query(upsert ? UPSERT_SAMPLES : INSERT_SAMPLES, [
      tenantId,
      numberArray(ids),
      numberArray(tss),
      numberArray(values),
      numberArray(markBuckets),
      markSeries,
    ]);
    this.db.afterCommit(() => {
      // series found in the cache were refreshed by `get`
      for (const [key, s] of bySeries) if (!s.cached) this.cache.set(tenantId, key, { id: s.id!, type: s.type! });
    });
    const written = this.listener && {
      tenantId,
      seriesIds: ids,
      timestamps: tss,
      values,
      series: new Map([...bySeries.values()].map((s) => [Number(s.id), { name: s.first.name, labels: s.first.labels }])),
    };
    return { result: { accepted: points.length, seriesCreated }, written };
  }

  /**
   * Creates the batch's new series under a per-tenant advisory lock, so that concurrent batches
   * cannot together overshoot maxSeries. QUOTA_EXCEEDED rolls the whole batch back.
   */
  private async createSeries(
    m: EntityManager,
    tenantId: string,
    fresh: Array<[string, BatchSeries]>,
    maxSeries: number,
  ): Promise<number> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext('vigil:series:' || $1))`, [tenantId]);
    const [{ n }] = (await m.query(`SELECT count(*)::int AS n FROM metric_series WHERE tenant_id = $1`, [tenantId])) as [{ n: number }];
    if (n + fresh.length > maxSeries) {
      throw new QuotaExceededError(
        `this batch would create ${fresh.length} new series; the tenant has ${n} of its maxSeries ${maxSeries}`,
      );
    }
    const identities = fresh.map(([key]) => identityOf(key));
    const inserted = (await m.query(
      `INSERT INTO metric_series (tenant_id, name, labels, identity, type, first_sample_at, last_sample_at)
       SELECT $1, * FROM unnest($2::text[], $3::jsonb[], $4::uuid[], $5::text[], $6::bigint[], $7::bigint[])
       ON CONFLICT (tenant_id, identity) DO NOTHING
       RETURNING id, identity, type`,
      [
        tenantId,
        fresh.map(([, s]) => s.first.name),
        fresh.map(([, s]) => JSON.stringify(s.first.labels)),
        identities,
        fresh.map(([, s]) => s.first.type ?? MetricType.GAUGE),
        fresh.map(([, s]) => s.minTs),
        fresh.map(([, s]) => s.maxTs),
      ],
    )) as Array<{ id: string; identity: string; type: MetricType }>;
    const byIdentity = new Map(inserted.map((r) => [r.identity, r]));
    if (inserted.length > 0 && this.seriesObservers.length > 0) {
      const created = new Set(inserted.map((r) => r.identity));
      const names = new Set(fresh.filter((_, i) => created.has(identities[i]!)).map(([, s]) => s.first.name));
      this.db.afterCommit(() => {
        for (const observe of this.seriesObservers) observe(tenantId, names);
      });
    }
    // A concurrent batch created some of them after our lookup: read those.
    const raced = identities.filter((id) => !byIdentity.has(id));
    if (raced.length) {
      const rows = (await m.query(`SELECT id, identity, type FROM metric_series WHERE tenant_id = $1 AND identity = ANY($2::uuid[])`, [
        tenantId,
        raced,
      ])) as Array<{ id: string; identity: string; type: MetricType }>;
      for (const r of rows) byIdentity.set(r.identity, r);
    }
    fresh.forEach(([, s], i) => {
      const row = byIdentity.get(identities[i]!)!;
      s.id = row.id;
      s.type = row.type;
    });
    return inserted.length;
  }

  private async limitsOf(tenantId: string): Promise<TenantLimits> {
    const cached = this.limits?.get(tenantId);
    if (cached) return cached;
    const generation = this.limitsGeneration;
    const rows = (await this.db.query(
      `SELECT retention_days AS "retentionDays", max_series AS "maxSeries", max_samples_per_second AS "maxSamplesPerSecond"
         FROM tenants WHERE id = $1`,
      [tenantId],
    )) as TenantLimits[];
    // A platform admin without a tenant id cannot ingest: the resolver insists on a tenant.
    if (!rows[0]) throw new BadUserInputError("tenantId", "no such tenant");
    if (this.limits && generation === this.limitsGeneration) this.limits.set(tenantId, rows[0]);
    return rows[0];
  }

  /** Takes `n` samples from the tenant's budget for the current second, or fails with RATE_LIMITED. */
  private async takeBudget(tenantId: string, n: number, perSecond: number): Promise<void> {
    if (n > perSecond) {
      throw new BadUserInputError("points", `a batch of ${n} points is more than the tenant's maxSamplesPerSecond (${perSecond}); send smaller batches`);
    }
    let limiter = this.limiters.get(perSecond);
    if (!limiter) this.limiters.set(perSecond, (limiter = new RateLimiterMemory({ points: perSecond, duration: 1 })));
    try {
      await limiter.consume(tenantId, n);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const retryAfterSeconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw new RateLimitedError(
        `the tenant's maxSamplesPerSecond (${perSecond}) is used up for this second; retry after ${retryAfterSeconds} s`,
        retryAfterSeconds,
      );
    }
  }
}
