import { IsInt, IsOptional, Length, Matches, Max, Min } from "class-validator";
import { Field, InputType, Int } from "type-graphql";

export const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const SLUG_MESSAGE = "must be 1 to 63 lower-case letters, digits and dashes, starting and ending with a letter or digit";

@InputType()
export class CreateTenantInput {
  @Field(() => String)
  @Matches(SLUG_RE, { message: SLUG_MESSAGE })
  slug!: string;

  @Field(() => String)
  @Length(1, 200, { message: "must be 1 to 200 characters" })
  name!: string;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
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
export class UpdateTenantInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 200, { message: "must be 1 to 200 characters" })
  name?: string | null;

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
