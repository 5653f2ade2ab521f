import { Arg, Resolver, Root, Subscription } from "type-graphql";
import type { Context } from "../context";
import type { CircuitEventPayload, HealthEventPayload } from "../domain/registry";
import { CircuitEvent, HealthEvent } from "../schema/registry.type";

/** The registry's streams: the key's own tenant, coalesced per instance (at most one event a second). */
@Resolver()
export class RegistryEventsResolver {
  @Subscription(() => HealthEvent, {
    description: "health changes of the tenant's instances, of one service when `service` is given; at most one per instance per second. REGISTRY_READ scope",
    subscribe: ({ args, context }) => (context as Context).streams.serviceHealthChanged((context as Context).session, (args as { service?: string | null }).service),
  })
  serviceHealthChanged(@Root() event: HealthEventPayload, @Arg("service", () => String, { nullable: true }) _service: string | null): HealthEvent {
    return HealthEvent.from(event);
  }

  @Subscription(() => CircuitEvent, {
    description: "circuit state changes of the tenant's instances, of one service when `service` is given; at most one per instance per second. REGISTRY_READ scope",
    subscribe: ({ args, context }) => (context as Context).streams.circuitStateChanged((context as Context).session, (args as { service?: string | null }).service),
  })
  circuitStateChanged(@Root() event: CircuitEventPayload, @Arg("service", () => String, { nullable: true }) _service: string | null): CircuitEvent {
    return CircuitEvent.from(event);
  }
}
