import { Field, ID, ObjectType } from "type-graphql";
import { displayPrefix } from "../domain/auth/key-codec";
import { Scope } from "./enums";
import { DateTimeScalar } from "./scalars";

export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

@ObjectType()
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: "the key's first characters, to recognise it (vgl_t_<12 hex>)" })
  prefix!: string;

  @Field(() => [Scope])
  scopes!: Scope[];

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  revokedAt!: Date | null;

  static from(r: ApiKeyRecord): ApiKey {
    return Object.assign(new ApiKey(), {
      id: r.id,
      name: r.name,
      prefix: displayPrefix("t", r.prefix),
      scopes: r.scopes as Scope[],
      createdAt: r.createdAt,
      lastUsedAt: r.lastUsedAt,
      revokedAt: r.revokedAt,
    });
  }
}

@ObjectType()
export class ApiKeyWithSecret {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field(() => String, { description: "shown once, never stored in clear" })
  secret!: string;
}
