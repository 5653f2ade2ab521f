import { GraphQLError } from "graphql";
import { BadUserInputError, ForbiddenError, NotFoundError } from "../../../src/errors";
import { formatError } from "../../../src/server/errors";

const located = (original: Error) => new GraphQLError(original.message, { originalError: original, path: ["x"] });

describe("formatError", () => {
  it("keeps our expected errors with their code and drops http/stacktrace extensions", () => {
    const e = new BadUserInputError("input.slug", "must be lower case");
    const f = formatError({ ...e.toJSON(), extensions: { ...e.extensions, stacktrace: ["..."] } }, located(e));
    expect(f.message).toBe("input.slug: must be lower case");
    expect(f.extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.slug" });
    const nf = new NotFoundError("tenant", "abc");
    expect(formatError(nf.toJSON(), located(nf)).extensions?.code).toBe("NOT_FOUND");
    const fb = new ForbiddenError("no");
    expect(formatError(fb.toJSON(), fb).extensions?.code).toBe("FORBIDDEN");
  });

  it("masks anything unexpected, keeping only its path", () => {
    const err = located(new Error('relation "secrets" does not exist'));
    const f = formatError({ message: err.message, path: ["x"], extensions: { code: "INTERNAL_SERVER_ERROR" } }, err);
    expect(f).toEqual({ message: "Unexpected error.", path: ["x"], extensions: { code: "INTERNAL_SERVER_ERROR" } });
  });

  it("masks a GraphQLError that wraps a library's plain error", () => {
    const err = new GraphQLError("Context creation failed: connect ECONNREFUSED", { originalError: new Error("ECONNREFUSED") });
    expect(formatError(err.toJSON(), err).message).toBe("Unexpected error.");
  });

  it("passes request errors from graphql-js through", () => {
    const err = new GraphQLError('Cannot query field "nope" on type "Query".', { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } });
    expect(formatError(err.toJSON(), err)).toEqual(err.toJSON());
  });
});
