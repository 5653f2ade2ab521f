import { GraphQLError } from "graphql";

/**
 * The closed set of expected failures. Each class carries a literal extensions.code from the API
 * contract; anything else that reaches a client is masked as INTERNAL_SERVER_ERROR.
 */
export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "CONFLICT"
  | "RATE_LIMITED"
  | "QUOTA_EXCEEDED"
  | "UNAVAILABLE";

export abstract class VigilError extends GraphQLError {
  abstract readonly code: ErrorCode;
  protected constructor(message: string, code: ErrorCode, extra: Record<string, unknown> = {}, httpStatus?: number) {
    super(message, { extensions: { code, ...extra, ...(httpStatus ? { http: { status: httpStatus } } : {}) } });
  }
}

export class UnauthenticatedError extends VigilError {
  readonly code = "UNAUTHENTICATED" as const;
  constructor(message = "a valid API key is required: send `Authorization: Bearer <key>`") {
    super(message, "UNAUTHENTICATED", {}, 401);
  }
}

export class ForbiddenError extends VigilError {
  readonly code = "FORBIDDEN" as const;
  constructor(message: string) {
    super(message, "FORBIDDEN");
  }
}

export class BadUserInputError extends VigilError {
  readonly code = "BAD_USER_INPUT" as const;
  /** field: the argument path of the offending value, e.g. `input.slug` or `points[3].value` */
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`, "BAD_USER_INPUT", { field });
  }
}

export class NotFoundError extends VigilError {
  readonly code = "NOT_FOUND" as const;
  constructor(what: string, id: string) {
    super(`${what} ${JSON.stringify(id)} not found`, "NOT_FOUND");
  }
}

export class ConflictError extends VigilError {
  readonly code = "CONFLICT" as const;
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`, "CONFLICT", { field });
  }
}

export class RateLimitedError extends VigilError {
  readonly code = "RATE_LIMITED" as const;
  constructor(message: string, retryAfterSeconds: number) {
    super(message, "RATE_LIMITED", { retryAfterSeconds });
  }
}

export class QuotaExceededError extends VigilError {
  readonly code = "QUOTA_EXCEEDED" as const;
  constructor(message: string) {
    super(message, "QUOTA_EXCEEDED");
  }
}

export class UnavailableError extends VigilError {
  readonly code = "UNAVAILABLE" as const;
  constructor(message: string) {
    super(message, "UNAVAILABLE", {}, 503);
  }
}
