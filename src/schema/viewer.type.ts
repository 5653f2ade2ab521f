import { Field, ObjectType } from "type-graphql";
import { Scope } from "./enums";
import { Tenant } from "./tenant.type";

@ObjectType()
export class Viewer {
  @Field(() => Boolean)
  platformAdmin!: boolean;

  @Field(() => Tenant, { nullable: true })
  tenant!: Tenant | null;

  @Field(() => [Scope])
  scopes!: Scope[];
}
