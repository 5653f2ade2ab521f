import { hostname } from "node:os";
import { QuotaExceededError, VigilError } from "../../errors";
import type { Logger } from "../../lib/logger";
import { MAX_POINTS_PER_CALL, MetricType, type PointInput } from "../metrics";
import { nearestRank } from "./engine";

/** The one method of IngestService this needs: writes on a tenant's behalf, without a key. */
export interface SystemIngest {
  ingestAsSystem(tenantId: string, points: readonly PointInput[], now?: number): Promise<unknown>;
}

export const CALLS_METRIC = "vigil_service_calls_total";
export const DURATION_METRIC = "vigil_service_call_duration_ms";
const QUANTILES = [
  ["0.5", 50],
  ["0.95", 95],
  ["0.99", 99],
] as const;
/** durations kept per series and interval; beyond, a uniform reservoir sample */
const RESERVOIR = 10_000;
/** a counter not incremented for this long is forgotten (it restarts at 0 if it comes back: a counter reset) */
const IDLE_MS = 3_600_000;

interface Counter {
  tenantId: string;
  labels: Record<string, string>;
  value: number;
  dirty: boolean;
  touchedAt: number;
}

interface Durations {
  tenantId: string;
  labels: Record<string, string>;
  seen: number;
  values: number[];
}

/**
 * Reported calls as metric series, so that alert rules and queries can watch services:
 * - `vigil_service_calls_total{service, instance, caller, outcome="success"|"error", process}`, a
 *   COUNTER cumulative since this process started. `process` (`<hostname>:<pid>`) keeps the
 *   counters of several processes apart, so none overwrites another's; RATE and INCREASE with
 *   groupBy add them up, as Prometheus does with the same counter scraped from several targets.
 * - `vigil_service_call_duration_ms{service, instance, caller, quantile="0.5"|"0.95"|"0.99"}`,
 *   GAUGEs by nearest rank over the calls this process saw in the flush interval (not merged
 *   across processes: quantiles cannot be).
 *
 * `caller` is "" for calls reported without one. Buffered in memory and written every flush
 * through IngestService.ingestAsSystem (the tenant's series quota applies; on QUOTA_EXCEEDED
 * the flush is logged and dropped). Per process, so lost if the process dies between flushes.
 */
export class CallMetrics {
  private readonly counters = new Map<string, Counter>();
  private durations = new Map<string, Durations>();

  constructor(
    private readonly ingest: SystemIngest,
    private readonly log: Logger,
    readonly processLabel = `${hostname()}:${process.pid}`,
  ) {}

  record(tenantId: string, service: string, instance: string, caller: string | null, success: boolean, durationMs: number, now = Date.now()): void {
    const base = `${tenantId}\u0000${service}\u0000${instance}\u0000${caller ?? ""}`;
    const outcome = success ? "success" : "error";
    const ckey = `${base}\u0000${outcome}`;
    let counter = this.counters.get(ckey);
    if (!counter) {
      counter = { tenantId, labels: { service, instance, caller: caller ?? "", outcome, process: this.processLabel }, value: 0, dirty: false, touchedAt: now };
      this.counters.set(ckey, counter);
    }
    counter.value++;
    counter.dirty = true;
    counter.touchedAt = now;

    let d = this.durations.get(base);
    if (!d) this.durations.set(base, (d = { tenantId, labels: { service, instance, caller: caller ?? "" }, seen: 0, values: [] }));
    d.seen++;
    if (d.values.length < RESERVOIR) d.values.push(durationMs);
    else {
      const j = Math.floor(Math.random() * d.seen);
      if (j < RESERVOIR) d.values[j] = durationMs;
    }
  }

  /** Writes what changed since the last flush; never throws. */
  async flush(now = Date.now()): Promise<void> {
    const byTenant = new Map<string, { points: PointInput[]; counters: Counter[] }>();
    const of = (tenantId: string) => {
      let t = byTenant.get(tenantId);
      if (!t) byTenant.set(tenantId, (t = { points: [], counters: [] }));
      return t;
    };
    const timestamp = new Date(now);
    for (const c of this.counters.values()) {
      if (!c.dirty) continue;
      const t = of(c.tenantId);
      t.points.push({ name: CALLS_METRIC, type: MetricType.COUNTER, labels: c.labels, value: c.value, timestamp });
      t.counters.push(c);
    }
    const durations = this.durations;
    this.durations = new Map();
    for (const d of durations.values()) {
      const sorted = Float64Array.from(d.values).sort();
      for (const [quantile, p] of QUANTILES) {
        of(d.tenantId).points.push({ name: DURATION_METRIC, type: MetricType.GAUGE, labels: { ...d.labels, quantile }, value: nearestRank(sorted, p), timestamp });
      }
    }
    for (const [tenantId, { points, counters }] of byTenant) {
      try {
        for (let i = 0; i < points.length; i += MAX_POINTS_PER_CALL) {
          await this.ingest.ingestAsSystem(tenantId, points.slice(i, i + MAX_POINTS_PER_CALL), now);
        }
        for (const c of counters) c.dirty = false;
      } catch (err) {
        if (err instanceof QuotaExceededError) {
          // retrying cannot help until the tenant's quota changes: the next increment tries again
          for (const c of counters) c.dirty = false;
          this.log.warn({ tenantId, points: points.length, reason: err.message }, "call metrics dropped: series quota exceeded");
        } else if (err instanceof VigilError) {
          // an expected refusal (e.g. the tenant was deleted meanwhile): drop, as for the quota
          for (const c of counters) c.dirty = false;
          this.log.warn({ tenantId, points: points.length, reason: err.message }, "call metrics dropped");
        } else {
          // counters stay dirty and are written with the next flush; this interval's quantiles are lost
          this.log.error({ err, tenantId, points: points.length }, "call metrics flush failed");
        }
      }
    }
    for (const [key, c] of this.counters) if (!c.dirty && now - c.touchedAt > IDLE_MS) this.counters.delete(key);
  }

  /** Drops the buffers of a deleted tenant. */
  forgetTenant(tenantId: string): void {
    for (const [key, c] of this.counters) if (c.tenantId === tenantId) this.counters.delete(key);
    for (const [key, d] of this.durations) if (d.tenantId === tenantId) this.durations.delete(key);
  }
}
