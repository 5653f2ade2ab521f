import { randomBytes } from "node:crypto";
import { ALL_SCOPES } from "../../src/domain/auth/scopes";
import type { TestServer } from "../support/server";
import { gqlOk } from "../support/gql";

export function uniqueSlug(prefix = "t"): string {
  return `${prefix}-${randomBytes(5).toString("hex")}`;
}

export interface SeededTenant {
  id: string;
  slug: string;
  /** a key with every scope */
  key: string;
  keyId: string;
  /** makes another key of this tenant with exactly these scopes */
  keyWith(scopes: string[], name?: string): Promise<{ key: string; id: string }>;
}

/** A fresh tenant with a TENANT_ADMIN + all-scope key, made through the public API. */
export async function seedTenant(server: TestServer, overrides: Record<string, unknown> = {}): Promise<SeededTenant> {
  const slug = uniqueSlug();
  const { createTenant } = await gqlOk(
    server.url,
    server.adminKey,
    `mutation($input: CreateTenantInput!) { createTenant(input: $input) { id slug } }`,
    { input: { slug, name: `Tenant ${slug}`, ...overrides } },
  );
  const keyWith = async (scopes: string[], name = "test key") => {
    const { createApiKey } = await gqlOk(
      server.url,
      server.adminKey,
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`,
      { input: { name, scopes, tenantId: createTenant.id } },
    );
    return { key: createApiKey.secret as string, id: createApiKey.apiKey.id as string };
  };
  const all = await keyWith([...ALL_SCOPES], "all scopes");
  return { id: createTenant.id, slug, key: all.key, keyId: all.id, keyWith };
}
