import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import type { GraphQLError, ValidationContext, ValidationRule } from "graphql";
import type { Config } from "../config";

/**
 * Documents longer than this many tokens are refused while parsing, before validation can spend
 * time on them; batches of data travel as variables, so real operations stay far below it.
 */
export const MAX_TOKENS = 10_000;

/**
 * Extra validation rules applied on both paths: Apollo runs them for HTTP, and the graphql-ws
 * server runs them in onSubscribe (Apollo's rules and plugins never see WebSocket operations).
 */
export function extraValidationRules(limits: Config["limits"]): ValidationRule[] {
  // By default the armor rules throw, which Apollo turns into a 500; reporting the error through
  // the validation context makes it an ordinary GRAPHQL_VALIDATION_FAILED answer instead.
  const report = {
    propagateOnRejection: false,
    onReject: [(ctx: ValidationContext | null, err: GraphQLError) => ctx?.reportError(err)],
  };
  return [
    maxDepthRule({ n: limits.maxQueryDepth, ignoreIntrospection: true, exposeLimits: true, ...report }) as unknown as ValidationRule,
    maxAliasesRule({ n: limits.maxAliases, exposeLimits: true, ...report }) as unknown as ValidationRule,
  ];
}
