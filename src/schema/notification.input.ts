import { Field, InputType, Int } from "type-graphql";
import { ChannelKind, Severity } from "./enums";

/**
 * The channel input. Its rules are checked in the domain (src/domain/notify/validation.ts), in
 * plain code, so that the merge with the stored channel on update sits next to them; the
 * descriptions state them.
 */
@InputType()
export class NotificationChannelInput {
  @Field(() => String, { description: "1–100 characters; a WEBHOOK payload's `receiver`" })
  name!: string;

  @Field(() => ChannelKind)
  kind!: ChannelKind;

  @Field(() => String, {
    description: "absolute http:// or https:// URL, at most 2048 characters, without user:password@ or #fragment; for ALERTMANAGER the base URL",
  })
  url!: string;

  @Field(() => String, {
    nullable: true,
    description:
      "HMAC-SHA256 key for WEBHOOK signatures; write-only. At most 256 characters; WEBHOOK only. On update: omitted or null keeps the stored secret, \"\" clears it",
  })
  secret?: string | null;

  @Field(() => Severity, { nullable: true, description: "default INFO (everything); on update, omitted keeps the stored value" })
  minSeverity?: Severity | null;

  @Field(() => Boolean, { nullable: true, description: "default true; on update, omitted keeps the stored value" })
  sendResolved?: boolean | null;

  @Field(() => Int, {
    nullable: true,
    description: "60–604800; default 14400 (4 h) for WEBHOOK and SLACK, 300 for ALERTMANAGER; on update, omitted keeps the stored value",
  })
  repeatIntervalSeconds?: number | null;

  @Field(() => Boolean, { nullable: true, description: "default true; on update, omitted keeps the stored value" })
  enabled?: boolean | null;
}
