import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../context";
import type { TenantService } from "../domain/tenants";
import { CreateTenantInput, UpdateTenantInput } from "../schema/tenant.input";
import { Tenant } from "../schema/tenant.type";
import { Viewer } from "../schema/viewer.type";

@Resolver(() => Tenant)
export class TenantResolver {
  constructor(private readonly tenantService: TenantService) {}

  @Query(() => Viewer)
  async viewer(@Ctx() { session }: Context): Promise<Viewer> {
    const v = await this.tenantService.viewer(session);
    return Object.assign(new Viewer(), { ...v, scopes: [...v.scopes], tenant: v.tenant && Tenant.from(v.tenant) });
  }

  @Query(() => [Tenant])
  async tenants(@Ctx() { session }: Context): Promise<Tenant[]> {
    return (await this.tenantService.list(session)).map(Tenant.from);
  }

  @Query(() => Tenant, { nullable: true })
  async tenant(@Arg("id", () => ID) id: string, @Ctx() { session }: Context): Promise<Tenant | null> {
    const t = await this.tenantService.get(session, id);
    return t && Tenant.from(t);
  }

  @Mutation(() => Tenant)
  async createTenant(@Arg("input", () => CreateTenantInput) input: CreateTenantInput, @Ctx() ctx: Context): Promise<Tenant> {
    return Tenant.from(await this.tenantService.create(ctx.session, input, ctx.requestId));
  }

  @Mutation(() => Tenant)
  async updateTenant(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => UpdateTenantInput) input: UpdateTenantInput,
    @Ctx() ctx: Context,
  ): Promise<Tenant> {
    return Tenant.from(await this.tenantService.update(ctx.session, id, { ...input }, ctx.requestId));
  }

  @Mutation(() => Boolean, { description: "erases every row the tenant owns" })
  async deleteTenant(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<boolean> {
    return this.tenantService.delete(ctx.session, id, ctx.requestId);
  }
}
