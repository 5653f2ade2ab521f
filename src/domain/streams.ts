import type { Session } from "./auth";
import { topicIdOf } from "./auth";
import type { AuditEventPayload, VigilPubSub } from "./pubsub";
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
}
