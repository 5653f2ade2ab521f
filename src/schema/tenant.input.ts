import { IsOptional, Length, Matches, Max, Min } from "class-validator";
import { Field, InputType, Int } from "type-graphql";

export const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const SLUG_MESSAGE = "must be 1 to 63 lower-case letters, digits and dashes, starting and ending with a letter or digit";

/**
 * Retention and quotas: optional on create (defaults apply) and on update. Decorated so that the
 * subclasses inherit its fields; never referenced itself, so it does not appear in the schema.
 */
@InputType("TenantLimitsInput")
abstract class TenantLimitsInput {
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @Min(1, { message: "must be at least 1 day" })
  @Max(3650, { message: "must be at most 3650 days" })
  retentionDays?: number | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @Min(1, { message: "must be at least 1" })
  @Max(100_000_000, { message: "must be at most 100000000" })
  maxSeries?: number | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @Min(1, { message: "must be at least 1" })
  @Max(100_000_000, { message: "must be at most 100000000" })
  maxSamplesPerSecond?: number | null;
}

@InputType()
export class CreateTenantInput extends TenantLimitsInput {
  @Field(() => String)
  @Matches(SLUG_RE, { message: SLUG_MESSAGE })
  slug!: string;

  @Field(() => String)
  @Length(1, 200, { message: "must be 1 to 200 characters" })
  name!: string;
}

@InputType()
export class UpdateTenantInput extends TenantLimitsInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 200, { message: "must be 1 to 200 characters" })
  name?: string | null;
}
