import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { VigilError } from "../errors";

/** Codes that graphql-js and Apollo give to malformed requests; they are the client's to see. */
const REQUEST_ERROR_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
]);

export const MASKED_MESSAGE = "Unexpected error.";

/**
 * True when the error is an expected one: one of our VigilError classes, or a request error that
 * graphql-js raised itself (parse, validation, variable coercion). Everything else is masked.
 */
export function isExpectedError(error: unknown): boolean {
  const original = unwrapResolverError(error);
  if (original instanceof VigilError) return true;
  if (!(original instanceof GraphQLError)) return false;
  const code = original.extensions?.code;
  // A GraphQLError that wraps a plain Error came from our code or a library: not expected.
  const wrapsForeign = original.originalError !== undefined && !(original.originalError instanceof GraphQLError);
  return !wrapsForeign && (code === undefined || (typeof code === "string" && REQUEST_ERROR_CODES.has(code)));
}

/**
 * Shapes every error a client sees, on HTTP and WebSocket alike. This function must not throw.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (!isExpectedError(error)) {
    return {
      message: MASKED_MESSAGE,
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    };
  }
  const { http: _http, stacktrace: _stack, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
  return { ...formatted, extensions: { ...extensions, code: extensions.code ?? "BAD_USER_INPUT" } };
}
