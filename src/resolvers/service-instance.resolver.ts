import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from "type-graphql";
import type { Context } from "../context";
import type { CallsService, RegistryService } from "../domain/registry";
import { CallStats, HealthEvent, Service, ServiceInstance } from "../schema/registry.type";

@Resolver(() => ServiceInstance)
export class ServiceInstanceResolver {
  constructor(
    private readonly registry: RegistryService,
    private readonly calls: CallsService,
  ) {}

  @FieldResolver(() => Service)
  async service(@Root() instance: ServiceInstance, @Ctx() { session }: Context): Promise<Service> {
    const found = await this.registry.serviceById(session, instance.record.serviceId);
    // services are never removed while they have instances; an event may outlive its service only
    // with its tenant, whose sockets are closed at deletion
    if (!found) throw new Error(`service ${instance.record.serviceId} of instance ${instance.id} not found`);
    return Service.from(found);
  }

  @FieldResolver(() => CallStats)
  async stats(@Root() instance: ServiceInstance, @Ctx() { session }: Context): Promise<CallStats> {
    return CallStats.from(await this.calls.instanceStats(session, instance.record));
  }

  @FieldResolver(() => [HealthEvent], { description: "the instance's health changes with their reasons, newest first; `first` 1–500, default 50" })
  async healthHistory(
    @Root() instance: ServiceInstance,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Ctx() { session }: Context,
  ): Promise<HealthEvent[]> {
    return (await this.registry.healthHistory(session, instance.record, first)).map(HealthEvent.from);
  }
}
