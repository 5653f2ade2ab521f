import { filter, pipe } from "@graphql-yoga/subscription";
import type { Session } from "./auth";
import { tenantOf, topicIdOf } from "./auth";
import type { AuditEventPayload, VigilPubSub } from "./pubsub";
import type { CircuitEventPayload, HealthEventPayload } from "./registry/types";
import { asKeySession } from "./tenants/ids";
import type { AnomalyPayload } from "./anomalies/types";
import { BadUserInputError } from "../errors";
import { type AlertFilter, checkFilter, passes } from "./rules/alert.service";
import type { AlertEventPayload } from "./rules/events";

/**
 * The subscription faces of the domain: each authorises the session and subscribes to the topic
 * of the session's own tenant. Later issues add their streams here.
 */
export class Streams {
  constructor(private readonly pubsub: VigilPubSub) {}

  auditEvents(session: Session): AsyncIterable<AuditEventPayload> {
    session.authorize("audit:read");
    return this.pubsub.subscribe("AUDIT_EVENTS", topicIdOf(asKeySession(session)));
  }

  /** Health changes of the key's tenant (coalesced per instance), optionally of one service. */
  serviceHealthChanged(session: Session, service: string | null | undefined): AsyncIterable<HealthEventPayload> {
    const tenantId = tenantOf(session, "registry:read");
    const events = this.pubsub.subscribe("SERVICE_HEALTH_CHANGED", tenantId);
    return service == null ? events : pipe(events, filter((e: HealthEventPayload) => e.instance.serviceName === service));
  }

  /** Circuit state changes of the key's tenant (coalesced per instance), optionally of one service. */
  circuitStateChanged(session: Session, service: string | null | undefined): AsyncIterable<CircuitEventPayload> {
    const tenantId = tenantOf(session, "registry:read");
    const events = this.pubsub.subscribe("CIRCUIT_STATE_CHANGED", tenantId);
    return service == null ? events : pipe(events, filter((e: CircuitEventPayload) => e.instance.serviceName === service));
  }

  /** Anomalies of the key's tenant, of one monitor when given, with a score of at least minScore. */
  anomalyDetected(session: Session, monitorId: string | null | undefined, minScore: number | null | undefined): AsyncIterable<AnomalyPayload> {
    const tenantId = tenantOf(session, "alerts:read");
    if (minScore != null && !(minScore >= 0 && minScore <= 1)) throw new BadUserInputError("minScore", "must be a score from 0 to 1");
    return pipe(
      this.pubsub.subscribe("ANOMALY_DETECTED", tenantId),
      filter((e: AnomalyPayload) => (monitorId == null || e.monitor.id === monitorId) && (minScore == null || e.score >= minScore)),
    );
  }

  /** State transitions of the key's tenant's alerts that pass `filter` (checked when subscribing). */
  alertEvents(session: Session, wanted: AlertFilter | null | undefined): AsyncIterable<AlertEventPayload> {
    const tenantId = tenantOf(session, "alerts:read");
    const checked = checkFilter(wanted);
    return pipe(this.pubsub.subscribe("ALERT_EVENTS", tenantId), filter((e: AlertEventPayload) => passes(checked, e.alert)));
  }
}
