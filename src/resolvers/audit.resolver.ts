import { Arg, Ctx, ID, Int, Query, Resolver, Root, Subscription } from "type-graphql";
import type { Context } from "../context";
import type { AuditEventPayload } from "../domain/pubsub";
import type { AuditLog } from "../domain/tenants";
import { AuditEntry, AuditEntryConnection } from "../schema/audit.type";

@Resolver(() => AuditEntry)
export class AuditResolver {
  constructor(private readonly audit: AuditLog) {}

  @Query(() => AuditEntryConnection, {
    description: "newest first; a platform admin reads the platform log, or a tenant's with tenantId",
  })
  async auditLog(
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("action", () => String, { nullable: true }) action: string | null,
    @Arg("tenantId", () => ID, { nullable: true }) tenantId: string | null,
    @Ctx() { session }: Context,
  ): Promise<AuditEntryConnection> {
    const page = await this.audit.listFor(session, { first, after, action, tenantId });
    return Object.assign(new AuditEntryConnection(), {
      nodes: page.nodes.map(AuditEntry.from),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
    });
  }

  @Subscription(() => AuditEntry, {
    description: "one event per audit entry of the caller's tenant (the platform log for admin keys); TENANT_ADMIN scope",
    subscribe: ({ context }) => (context as Context).streams.auditEvents((context as Context).session),
  })
  auditEvents(@Root() entry: AuditEventPayload): AuditEntry {
    return AuditEntry.from(entry);
  }
}
