import { setMaxListeners } from "node:events";
import { createPubSub, type PubSub } from "@graphql-yoga/subscription";
import type { CircuitEventPayload, HealthEventPayload } from "../registry/types";
import type { AnomalyPayload } from "../anomalies/types";
import type { AlertEventPayload } from "../rules/events";

/**
 * Every topic, its id and its payload. Topic ids are tenant ids taken from the session (or
 * "platform"), never from client arguments. Payloads are plain JSON (dates as ISO strings), so the
 * in-process event target can later be swapped for Redis without touching a resolver.
 */
export interface AuditEventPayload {
  id: string;
  at: string;
  actor: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown> | null;
}

export type Topics = {
  /** one per audit entry; id: tenant id or "platform" */
  AUDIT_EVENTS: [topicId: string, payload: AuditEventPayload];
  /** a key was revoked: every process closes that key's sockets */
  KEY_REVOKED: [payload: { keyId: string }];
  /** a tenant was deleted: every process closes that tenant's sockets */
  TENANT_DELETED: [payload: { tenantId: string }];
  /** an instance's health changed (coalesced per instance); id: tenant id */
  SERVICE_HEALTH_CHANGED: [topicId: string, payload: HealthEventPayload];
  /** an instance's circuit changed state (coalesced per instance); id: tenant id */
  CIRCUIT_STATE_CHANGED: [topicId: string, payload: CircuitEventPayload];
  /** an anomaly monitor recorded an anomaly; id: tenant id */
  ANOMALY_DETECTED: [topicId: string, payload: AnomalyPayload];
  /** an alert changed state; id: tenant id */
  ALERT_EVENTS: [topicId: string, payload: AlertEventPayload];
};

export type VigilPubSub = PubSub<Topics>;

const TOPIC_NAMES: ReadonlySet<string> = new Set<keyof Topics>([
  "AUDIT_EVENTS",
  "KEY_REVOKED",
  "TENANT_DELETED",
  "SERVICE_HEALTH_CHANGED",
  "CIRCUIT_STATE_CHANGED",
  "ANOMALY_DETECTED",
  "ALERT_EVENTS",
]);

/**
 * The topic of a channel ("ALERT_EVENTS:<tenant id>" -> "ALERT_EVENTS"), for metric labels: a
 * bounded set, never a tenant id.
 */
export function topicLabel(channel: string): string {
  const i = channel.indexOf(":");
  const topic = i < 0 ? channel : channel.slice(0, i);
  return TOPIC_NAMES.has(topic) ? topic : "other";
}

/** What a cross-process event bus reports, for metrics (src/server/metrics.ts implements it). */
export interface PubSubObserver {
  /** an event was accepted by Redis */
  published(topic: string): void;
  /** an event could not be published (Redis down or failing) and is lost for other processes */
  dropped(topic: string): void;
  /** an event arrived from Redis */
  received(topic: string): void;
  connection(role: "publisher" | "subscriber", up: boolean): void;
}

/**
 * In-process events on a Node EventTarget. A topic has one listener per subscription (10,000
 * subscribers of one tenant: 10,000 listeners), so the default limit of 10 — a leak warning on
 * stderr — does not apply here.
 */
export function createInProcessPubSub(): VigilPubSub {
  const eventTarget = new EventTarget();
  setMaxListeners(0, eventTarget);
  return createPubSub<Topics>({ eventTarget });
}
