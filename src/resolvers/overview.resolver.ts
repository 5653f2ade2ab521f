import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../context";
import type { OverviewService } from "../domain/overview";
import { InstanceHealth, Severity } from "../schema/enums";
import { Overview, TenantUsage } from "../schema/overview.type";
import { Tenant } from "../schema/tenant.type";

@Resolver(() => Overview)
export class OverviewResolver {
  constructor(private readonly overviewService: OverviewService) {}

  @Query(() => Overview, { description: "counts for a dashboard's front page. Any key of the tenant" })
  async overview(@Ctx() { session }: Context): Promise<Overview> {
    const o = await this.overviewService.overview(session);
    return Object.assign(new Overview(), { ...o, firingAlerts: o.firingAlerts.map((f) => ({ severity: f.severity as Severity, count: f.count })) });
  }

  @FieldResolver(() => Int, { description: "registered instances, of one health when given" })
  async instances(@Root() overview: Overview, @Arg("health", () => InstanceHealth, { nullable: true }) health: InstanceHealth | null): Promise<number> {
    return this.overviewService.instances(overview.tenantId, health ?? null);
  }
}

/** Tenant.usage: whoever may read the tenant may read its usage. */
@Resolver(() => Tenant)
export class TenantUsageResolver {
  constructor(private readonly overviewService: OverviewService) {}

  @FieldResolver(() => TenantUsage)
  async usage(@Root() tenant: Tenant): Promise<TenantUsage> {
    return Object.assign(new TenantUsage(), await this.overviewService.usage(tenant.id));
  }
}
