import type { EntityManager } from "typeorm";
import { BadUserInputError } from "../../errors";
import type { MetricType } from "../metrics";
import type { AnomalyAlgorithm, AnomalyMonitorRecord, AnomalyPayload, Direction } from "./types";

/**
 * Row shapes and SQL shared by the anomaly services and the engine. Parameterised SQL rather than
 * entities, as in the metrics domain: the engine writes anomalies, minute scores and checkpoints in
 * bulk (`unnest`) after every ingest, and reads join series and monitors.
 */

export interface MonitorRow {
  tenant_id: string;
  id: string;
  name: string;
  selector: AnomalyMonitorRecord["selector"];
  algorithm: AnomalyAlgorithm;
  threshold: number;
  direction: Direction;
  enabled: boolean;
  created_at: Date | string;
  updated_at: Date | string;
}

export const MONITOR_COLUMNS = `tenant_id, id, name, selector, algorithm, threshold, direction, enabled, created_at, updated_at`;

const ms = (v: Date | string): number => (v instanceof Date ? v.getTime() : Date.parse(v));

export function toMonitor(r: MonitorRow): AnomalyMonitorRecord {
  return {
    tenantId: r.tenant_id,
    id: r.id,
    name: r.name,
    selector: r.selector,
    algorithm: r.algorithm,
    threshold: Number(r.threshold),
    direction: r.direction,
    enabled: r.enabled,
    createdAt: ms(r.created_at),
    updatedAt: ms(r.updated_at),
  };
}

export function monitorPayload(m: AnomalyMonitorRecord): AnomalyPayload["monitor"] {
  const { tenantId: _t, updatedAt: _u, createdAt, ...rest } = m;
  return { ...rest, createdAt: new Date(createdAt).toISOString() };
}

/** An anomaly joined with its monitor and series (see ANOMALY_SELECT). */
export interface AnomalyRow extends Omit<MonitorRow, "tenant_id" | "id" | "name" | "direction" | "updated_at"> {
  id: string;
  ts: number;
  value: number;
  expected: number | null;
  score: number;
  direction: "UP" | "DOWN";
  monitor_id: string;
  monitor_name: string;
  monitor_direction: Direction;
  series_id: string;
  series_name: string;
  series_type: MetricType;
  labels: Record<string, string>;
  first_sample_at: number;
  last_sample_at: number;
}

export const ANOMALY_SELECT = `
  SELECT a.id::text AS id, a.ts::float8 AS ts, a.value, a.expected, a.score, a.direction,
         m.id AS monitor_id, m.name AS monitor_name, m.selector, m.algorithm, m.threshold, m.direction AS monitor_direction,
         m.enabled, m.created_at,
         s.id::text AS series_id, s.name AS series_name, s.type AS series_type, s.labels,
         s.first_sample_at::float8 AS first_sample_at, s.last_sample_at::float8 AS last_sample_at
    FROM anomalies a
    JOIN anomaly_monitors m ON m.tenant_id = a.tenant_id AND m.id = a.monitor_id
    JOIN metric_series s ON s.tenant_id = a.tenant_id AND s.id = a.series_id`;

export function toAnomalyPayload(r: AnomalyRow): AnomalyPayload {
  return {
    id: r.id,
    timestamp: new Date(Number(r.ts)).toISOString(),
    value: r.value,
    expected: r.expected,
    score: r.score,
    direction: r.direction as Direction,
    monitor: {
      id: r.monitor_id,
      name: r.monitor_name,
      selector: r.selector,
      algorithm: r.algorithm,
      threshold: Number(r.threshold),
      direction: r.monitor_direction,
      enabled: r.enabled,
      createdAt: new Date(ms(r.created_at)).toISOString(),
    },
    series: {
      id: r.series_id,
      name: r.series_name,
      type: r.series_type,
      labels: r.labels,
      firstSampleAt: Number(r.first_sample_at),
      lastSampleAt: Number(r.last_sample_at),
    },
  };
}

export async function monitorById(m: EntityManager, tenantId: string, id: string, lock = false): Promise<AnomalyMonitorRecord | undefined> {
  const rows = (await m.query(`SELECT ${MONITOR_COLUMNS} FROM anomaly_monitors WHERE tenant_id = $1 AND id = $2${lock ? " FOR UPDATE" : ""}`, [
    tenantId,
    id,
  ])) as MonitorRow[];
  return rows[0] && toMonitor(rows[0]);
}

/** Pages of anomalies run newest first by (ts, id); the cursor is that pair. */
export function encodeAnomalyCursor(ts: number, id: string): string {
  return Buffer.from(`a:${ts}:${id}`).toString("base64url");
}

export function decodeAnomalyCursor(cursor: string, field = "after"): { ts: number; id: string } {
  const m = /^a:(-?\d{1,16}):(\d{1,19})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!m) throw new BadUserInputError(field, "not a cursor returned by this API");
  return { ts: Number(m[1]), id: m[2]! };
}

/** A PostgreSQL array literal of numbers (pg's generic serialiser quotes every element). */
export function numberArray(values: ReadonlyArray<number>): string {
  return `{${values.join(",")}}`;
}
