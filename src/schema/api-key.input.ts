import { ArrayMaxSize, ArrayMinSize, IsOptional, Length } from "class-validator";
import { Field, ID, InputType } from "type-graphql";
import { Scope } from "./enums";

@InputType({ description: "tenantId: only a platform admin may name another tenant; a tenant's key acts on its own tenant." })
export class CreateApiKeyInput {
  @Field(() => String)
  @Length(1, 100, { message: "must be 1 to 100 characters" })
  name!: string;

  @Field(() => [Scope])
  @ArrayMinSize(1, { message: "give at least one scope" })
  @ArrayMaxSize(20, { message: "at most 20 scopes" })
  scopes!: Scope[];

  @Field(() => ID, { nullable: true })
  @IsOptional()
  tenantId?: string | null;
}
