import { Field, ID, ObjectType } from "type-graphql";
import type { AuditEventPayload } from "../domain/pubsub";
import { PageInfo } from "./page-info.type";
import { DateTimeScalar, JSONObjectScalar } from "./scalars";

@ObjectType()
export class AuditEntry {
  @Field(() => ID)
  id!: string;

  @Field(() => DateTimeScalar)
  at!: Date;

  @Field(() => String, { description: "who did it: `key:<id> (<name>)`, `platform:<key name>` or `system`" })
  actor!: string;

  @Field(() => String, { description: "noun.verb, e.g. tenant.create, apiKey.revoke" })
  action!: string;

  @Field(() => String, { nullable: true })
  targetType!: string | null;

  @Field(() => String, { nullable: true })
  targetId!: string | null;

  @Field(() => JSONObjectScalar, { nullable: true })
  details!: Record<string, unknown> | null;

  static from(p: AuditEventPayload): AuditEntry {
    return Object.assign(new AuditEntry(), { ...p, at: new Date(p.at) });
  }
}

@ObjectType()
export class AuditEntryConnection {
  @Field(() => [AuditEntry])
  nodes!: AuditEntry[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
