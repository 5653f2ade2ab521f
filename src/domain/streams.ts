import { filter, pipe } from "@graphql-yoga/subscription";
import type { Session } from "./auth";
import { tenantOf, topicIdOf } from "./auth";
import type { AuditEventPayload, VigilPubSub } from "./pubsub";
import type { CircuitEventPayload, HealthEventPayload } from "./registry/types";
import { asKeySession } from "./tenants/ids";

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
}
