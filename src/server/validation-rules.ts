import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import type { ValidationRule } from "graphql";
import type { Config } from "../config";

/**
 * Extra validation rules applied on both paths: Apollo runs them for HTTP, and the graphql-ws
 * server runs them in onSubscribe (Apollo's rules and plugins never see WebSocket operations).
 */
export function extraValidationRules(limits: Config["limits"]): ValidationRule[] {
  return [
    maxDepthRule({ n: limits.maxQueryDepth, ignoreIntrospection: true, exposeLimits: true }) as unknown as ValidationRule,
    maxAliasesRule({ n: limits.maxAliases, exposeLimits: true }) as unknown as ValidationRule,
  ];
}
