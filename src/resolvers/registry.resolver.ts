import type { GraphQLResolveInfo } from "graphql";
import { Arg, Ctx, Info, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../context";
import type { CallsService, PickService, RegistryService } from "../domain/registry";
import { InstanceHealth, LoadBalancingStrategy } from "../schema/enums";
import { CallReportInput, RegisterInstanceInput, ServicePolicyInput } from "../schema/registry.input";
import { Service, ServiceEdge, ServiceGraph, ServiceInstance } from "../schema/registry.type";
import { heartbeatOf } from "./registry-heartbeats";

/** The registry's queries and mutations. Inputs are validated in the domain (see registry.input.ts). */
@Resolver()
export class RegistryResolver {
  constructor(
    private readonly registry: RegistryService,
    private readonly picker: PickService,
    private readonly calls: CallsService,
  ) {}

  @Query(() => [Service], { description: "the tenant's services by name. REGISTRY_READ scope" })
  async services(@Ctx() { session }: Context): Promise<Service[]> {
    return (await this.registry.services(session)).map(Service.from);
  }

  @Query(() => Service, { nullable: true, description: "REGISTRY_READ scope" })
  async service(@Arg("name", () => String) name: string, @Ctx() { session }: Context): Promise<Service | null> {
    const found = await this.registry.service(session, name);
    return found && Service.from(found);
  }

  @Query(() => ServiceInstance, {
    nullable: true,
    description:
      "chooses an instance and starts an active request on it (reportCall ends it): PASSING instances (WARNING ones when none passes) whose circuit admits calls, " +
      "by the given strategy or the service's. When none is available: null and an UNAVAILABLE error saying why. REGISTRY_READ scope",
  })
  async pickInstance(
    @Arg("service", () => String) service: string,
    @Arg("strategy", () => LoadBalancingStrategy, { nullable: true }) strategy: LoadBalancingStrategy | null,
    @Arg("hashKey", () => String, { nullable: true, description: "routing key for CONSISTENT_HASH, at most 1024 characters" }) hashKey: string | null,
    @Ctx() { session }: Context,
  ): Promise<ServiceInstance> {
    return ServiceInstance.from(await this.picker.pick(session, service, strategy, hashKey));
  }

  @Query(() => ServiceGraph, { description: "REGISTRY_READ scope" })
  async serviceGraph(@Ctx() { session }: Context): Promise<ServiceGraph> {
    const g = await this.calls.graph(session);
    return Object.assign(new ServiceGraph(), { nodes: g.nodes.map(Service.from), edges: g.edges.map(ServiceEdge.from) });
  }

  @Mutation(() => ServiceInstance, {
    description: "idempotent on instanceId (generated when not given); creates the service on first registration. REGISTRY_WRITE scope",
  })
  async registerInstance(
    @Arg("input", () => RegisterInstanceInput, { validate: false }) input: RegisterInstanceInput,
    @Ctx() { session, requestId }: Context,
  ): Promise<ServiceInstance> {
    return ServiceInstance.from(await this.registry.register(session, input, requestId));
  }

  @Mutation(() => ServiceInstance, {
    description: "refreshes lastHeartbeatAt; `health` sets the health (reason: `note`, or \"set by heartbeat\"). REGISTRY_WRITE scope",
  })
  async heartbeat(
    @Arg("instanceId", () => String) instanceId: string,
    @Arg("health", () => InstanceHealth, { nullable: true }) health: InstanceHealth | null,
    @Arg("note", () => String, { nullable: true }) note: string | null,
    @Ctx() context: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ServiceInstance> {
    const { session } = context;
    if (health != null || note != null) return ServiceInstance.from(await this.registry.heartbeat(session, instanceId, health, note));
    // a run of aliased plain heartbeats is started together (see registry-heartbeats.ts)
    return ServiceInstance.from(await heartbeatOf(context, info, instanceId, (id) => this.registry.heartbeat(session, id, null, null)));
  }

  @Mutation(() => Boolean, { description: "removes the instance; its health history stays. REGISTRY_WRITE scope" })
  async deregisterInstance(@Arg("instanceId", () => String) instanceId: string, @Ctx() { session, requestId }: Context): Promise<boolean> {
    return this.registry.deregister(session, instanceId, requestId);
  }

  @Mutation(() => Service, { description: "creates the service (type OTHER) if missing and merges the policy over the stored one. REGISTRY_WRITE scope" })
  async configureService(
    @Arg("name", () => String) name: string,
    @Arg("policy", () => ServicePolicyInput, { validate: false }) policy: ServicePolicyInput,
    @Ctx() { session, requestId }: Context,
  ): Promise<Service> {
    return Service.from(await this.registry.configureService(session, name, policy, requestId));
  }

  @Mutation(() => ServiceInstance, { description: "ends an active request and feeds the instance's circuit breaker. REGISTRY_WRITE scope" })
  async reportCall(@Arg("input", () => CallReportInput, { validate: false }) input: CallReportInput, @Ctx() { session }: Context): Promise<ServiceInstance> {
    return ServiceInstance.from(await this.calls.report(session, input));
  }
}
