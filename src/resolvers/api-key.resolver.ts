import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../context";
import type { ApiKeyService } from "../domain/tenants";
import { CreateApiKeyInput } from "../schema/api-key.input";
import { ApiKey, ApiKeyWithSecret } from "../schema/api-key.type";

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  constructor(private readonly keys: ApiKeyService) {}

  @Query(() => [ApiKey], { description: "tenantId: required with a platform admin key; a tenant key lists its own" })
  async apiKeys(
    @Arg("tenantId", () => ID, { nullable: true }) tenantId: string | null,
    @Ctx() { session }: Context,
  ): Promise<ApiKey[]> {
    return (await this.keys.list(session, tenantId)).map(ApiKey.from);
  }

  @Mutation(() => ApiKeyWithSecret)
  async createApiKey(@Arg("input", () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: Context): Promise<ApiKeyWithSecret> {
    const { key, secret } = await this.keys.create(ctx.session, input, ctx.requestId);
    return Object.assign(new ApiKeyWithSecret(), { apiKey: ApiKey.from(key), secret });
  }

  @Mutation(() => ApiKey)
  async revokeApiKey(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<ApiKey> {
    return ApiKey.from(await this.keys.revoke(ctx.session, id, ctx.requestId));
  }
}
