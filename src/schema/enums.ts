import { registerEnumType } from "type-graphql";
import { Scope } from "../domain/auth/scopes";

export { Scope };

registerEnumType(Scope, { name: "Scope" });
