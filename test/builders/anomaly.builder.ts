import type { TestServer } from "../support/server";
import { type GqlResponse, gql, gqlOk } from "../support/gql";
import { type PointIn, hourAgo } from "./metrics.builder";

export const MONITOR_FIELDS = `id name selector { name matchers { label op value } } algorithm threshold direction enabled createdAt`;

export const CREATE_MONITOR = `mutation($input: AnomalyMonitorInput!) { createAnomalyMonitor(input: $input) { ${MONITOR_FIELDS} } }`;
export const UPDATE_MONITOR = `mutation($id: ID!, $input: AnomalyMonitorInput!) { updateAnomalyMonitor(id: $id, input: $input) { ${MONITOR_FIELDS} } }`;
export const DELETE_MONITOR = `mutation($id: ID!) { deleteAnomalyMonitor(id: $id) }`;
export const LIST_MONITORS = `{ anomalyMonitors { ${MONITOR_FIELDS} } }`;

export const ANOMALY_FIELDS = `id timestamp value expected score direction monitor { id name } series { id name labels }`;
export const ANOMALIES = `query($monitorId: ID, $from: DateTime, $to: DateTime, $minScore: Float, $first: Int, $after: String) {
  anomalies(monitorId: $monitorId, from: $from, to: $to, minScore: $minScore, first: $first, after: $after) { nodes { ${ANOMALY_FIELDS} } pageInfo { hasNextPage endCursor } } }`;
export const ANOMALY_SUB = `subscription($monitorId: ID, $minScore: Float) { anomalyDetected(monitorId: $monitorId, minScore: $minScore) { ${ANOMALY_FIELDS} } }`;
export const SCORES = `query($selector: SeriesSelectorInput!, $from: DateTime!, $to: DateTime!, $algorithm: AnomalyAlgorithm) {
  anomalyScores(selector: $selector, from: $from, to: $to, algorithm: $algorithm) { timestamp value expected score } }`;

export function makeMonitorInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: "cpu spikes", selector: { name: "cpu_usage" }, ...overrides };
}

export function createMonitor(s: TestServer, key: string, overrides: Record<string, unknown> = {}): Promise<GqlResponse> {
  return gql(s.url, key, CREATE_MONITOR, { input: makeMonitorInput(overrides) });
}

export async function createMonitorOk(s: TestServer, key: string, overrides: Record<string, unknown> = {}) {
  return (await gqlOk(s.url, key, CREATE_MONITOR, { input: makeMonitorInput(overrides) })).createAnomalyMonitor;
}

/**
 * `n` points of a calm, deterministic series (a slow wave plus bounded jitter) every `stepMs` from
 * `start`, so that a detector has learned its level and noise; `spikeAt` indexes get `spike` instead.
 */
export function calmSeries(n: number, opts: { name?: string; labels?: Record<string, string>; start?: number; stepMs?: number; spikes?: Record<number, number> } = {}): PointIn[] {
  const start = opts.start ?? hourAgo(3);
  const step = opts.stepMs ?? 10_000;
  return Array.from({ length: n }, (_, i) => ({
    name: opts.name ?? "cpu_usage",
    labels: opts.labels ?? { host: "a" },
    timestamp: start + i * step,
    value: opts.spikes?.[i] ?? 50 + 5 * Math.sin(i / 5) + (((i * 7919) % 13) - 6) * 0.3,
  }));
}
