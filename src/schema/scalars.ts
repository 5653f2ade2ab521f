import { GraphQLError, GraphQLScalarType, Kind } from "graphql";
import { GraphQLJSONObject } from "graphql-scalars";

const ISO_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function toDate(value: unknown): Date {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new GraphQLError("DateTime: invalid date");
    return value;
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new GraphQLError("DateTime: epoch milliseconds must be finite");
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) throw new GraphQLError("DateTime: epoch milliseconds out of range");
    return d;
  }
  if (typeof value === "string") {
    const d = new Date(value);
    if (!ISO_RE.test(value) || Number.isNaN(d.getTime())) {
      throw new GraphQLError(`DateTime: ${JSON.stringify(value.slice(0, 40))} is not an ISO-8601 date-time`);
    }
    return d;
  }
  throw new GraphQLError("DateTime: expected an ISO-8601 string or epoch milliseconds");
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: "DateTime",
  description: "ISO-8601 date-time string; inputs also accept epoch milliseconds (Int or Float).",
  serialize: (value) => toDate(value).toISOString(),
  parseValue: (value) => toDate(value),
  parseLiteral(ast) {
    if (ast.kind === Kind.STRING) return toDate(ast.value);
    if (ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return toDate(Number(ast.value));
    throw new GraphQLError("DateTime: expected an ISO-8601 string or epoch milliseconds", { nodes: ast });
  },
});

export const JSONObjectScalar = new GraphQLScalarType({
  ...GraphQLJSONObject.toConfig(),
  description: "A JSON object. Where it holds labels it must be a flat map of string to string.",
});
