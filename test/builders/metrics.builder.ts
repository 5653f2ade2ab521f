import type { TestServer } from "../support/server";
import { type GqlResponse, gql, gqlOk } from "../support/gql";

export const INGEST = `mutation($points: [MetricPointInput!]!) { ingestMetrics(points: $points) { accepted seriesCreated } }`;

export interface PointIn {
  name: string;
  value: number;
  timestamp?: number | string;
  type?: "GAUGE" | "COUNTER";
  labels?: Record<string, unknown>;
}

export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** An hour boundary `hoursAgo` hours before now: fixtures sit on known grid points in the past. */
export function hourAgo(hoursAgo: number): number {
  return Math.floor(Date.now() / HOUR) * HOUR - hoursAgo * HOUR;
}

export function ingest(s: TestServer, key: string, points: PointIn[]): Promise<GqlResponse> {
  return gql(s.url, key, INGEST, { points });
}

export async function ingestOk(s: TestServer, key: string, points: PointIn[]): Promise<{ accepted: number; seriesCreated: number }> {
  return (await gqlOk(s.url, key, INGEST, { points })).ingestMetrics;
}

/** Rows this tenant has in a table, read straight from the database. */
export async function rowsOf(s: TestServer, table: string, tenantId: string): Promise<number> {
  const [{ n }] = await s.app.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [tenantId]);
  return n;
}

export const AGGREGATE = `query($selector: SeriesSelectorInput!, $from: DateTime!, $to: DateTime!, $step: Int!, $fn: AggregateFn!, $groupBy: [String!]) {
  aggregate(selector: $selector, from: $from, to: $to, stepSeconds: $step, fn: $fn, groupBy: $groupBy) { labels buckets { timestamp value } } }`;

export const SUMMARY = `query($selector: SeriesSelectorInput!, $from: DateTime!, $to: DateTime!) {
  summary(selector: $selector, from: $from, to: $to) { count sum avg min max stddev p50 p95 p99 first last } }`;
