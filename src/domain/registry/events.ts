import type { VigilPubSub } from "../pubsub";
import { Coalescer } from "./coalescer";
import type { CircuitEventPayload, CircuitState, HealthEventPayload, InstanceHealth, InstanceRecord } from "./types";

/** At most one event per instance per second on each stream. */
export const COALESCE_WINDOW_MS = 1_000;

/**
 * Publishes health and circuit changes on the tenant's topics, coalesced per instance (see
 * coalescer.ts). Callers hand changes over after their transaction has committed.
 */
export class RegistryEvents {
  private readonly health: Coalescer<InstanceHealth, HealthEventPayload>;
  private readonly circuit: Coalescer<CircuitState, CircuitEventPayload>;

  constructor(pubsub: VigilPubSub, windowMs = COALESCE_WINDOW_MS) {
    this.health = new Coalescer({
      windowMs,
      stateOf: (e) => e.health,
      rebase: (e, previous) => ({ ...e, previous }),
      deliver: (e) => pubsub.publish("SERVICE_HEALTH_CHANGED", e.instance.tenantId, e),
    });
    this.circuit = new Coalescer({
      windowMs,
      stateOf: (e) => e.state,
      rebase: (e, previous) => ({ ...e, previous }),
      deliver: (e) => pubsub.publish("CIRCUIT_STATE_CHANGED", e.instance.tenantId, e),
    });
  }

  healthChanged(event: HealthEventPayload): void {
    this.health.offer(`${event.instance.tenantId}:${event.instance.id}`, event);
  }

  circuitChanged(event: CircuitEventPayload): void {
    this.circuit.offer(`${event.instance.tenantId}:${event.instance.id}`, event);
  }

  /** A breaker transition of `instance` at `now`, as a circuit event. */
  circuitTransition(instance: InstanceRecord, transition: { from: string; to: string; reason: string }, now: number): void {
    this.circuitChanged({
      instance,
      previous: transition.from as CircuitState,
      state: transition.to as CircuitState,
      reason: transition.reason,
      at: new Date(now).toISOString(),
    });
  }

  stop(): void {
    this.health.stop();
    this.circuit.stop();
  }
}
