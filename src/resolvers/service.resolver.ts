import { Arg, Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import type { Context } from "../context";
import type { CallsService, RegistryService } from "../domain/registry";
import { InstanceHealth } from "../schema/enums";
import { CallStats, Service, ServiceInstance } from "../schema/registry.type";

@Resolver(() => Service)
export class ServiceResolver {
  constructor(
    private readonly registry: RegistryService,
    private readonly calls: CallsService,
  ) {}

  @FieldResolver(() => [ServiceInstance], { description: "by instanceId; only those of the given healths when `health` is given" })
  async instances(
    @Root() service: Service,
    @Arg("health", () => [InstanceHealth], { nullable: true }) health: InstanceHealth[] | null,
    @Ctx() { session }: Context,
  ): Promise<ServiceInstance[]> {
    return (await this.registry.instances(session, service.id, health)).map(ServiceInstance.from);
  }

  @FieldResolver(() => [Service], { description: "declared dependencies (configureService) that exist as services, in declared order" })
  async dependencies(@Root() service: Service, @Ctx() { session }: Context): Promise<Service[]> {
    return (await this.registry.dependencies(session, service.record)).map(Service.from);
  }

  @FieldResolver(() => CallStats, { description: "over every instance's calls, removed instances included" })
  async stats(@Root() service: Service, @Ctx() { session }: Context): Promise<CallStats> {
    return CallStats.from(await this.calls.serviceStats(session, service.id));
  }
}
