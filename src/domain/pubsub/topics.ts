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

export function createInProcessPubSub(): VigilPubSub {
  return createPubSub<Topics>();
}
