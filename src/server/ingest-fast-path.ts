import type { ApolloServerPlugin } from "@apollo/server";
import {
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLLeafType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  Kind,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  visit,
} from "graphql";
import type { Context } from "../context";
import type { PointInput } from "../domain/metrics";
import { ingestHandOff } from "../resolvers/metrics.resolver";

/**
 * The ingest fast path: `ingestMetrics(points: $var)` without graphql-js walking every point.
 *
 * Why: graphql-js coerces a list variable field by field (paths, per-field type dispatch), and
 * type-graphql then copies every coerced object into a class instance; on 10,000 points that was
 * ~80 ms of CPU per call, more than half of Vigil's CPU per ingested point (BENCHMARKS.md), for
 * checks that plain code does in a few milliseconds.
 *
 * How: an Apollo plugin. Apollo parses, validates (cached per query string in its document store)
 * and resolves the operation as for any request; then, in `didResolveOperation`, just before
 * execution, this plugin looks at operations whose only root field is `ingestMetrics(points: $v)`.
 * If every point is a value graphql-js would accept, it converts them here to exactly what the
 * coercion would have produced, hands them to the resolver through the request's context, and
 * replaces `$v` in the request's variables with an empty list. Execution, the resolver, error
 * formatting (formatError), HTTP statuses, the observability plugin and request logging all stay
 * Apollo's, so answers and telemetry are those of the regular path.
 *
 * Why not a handler in front of Apollo: it would have to redo Apollo's HTTP rules (CSRF, content
 * negotiation, batching, persisted queries, status codes) and its plugin hooks. Why not a custom
 * scalar for the list: it would change the contract's type.
 *
 * Errors stay identical by construction: the plain check below only decides "graphql-js would
 * accept this and produce these values". Anything else (a wrong type, a missing or unknown field,
 * null where the type says non-null, an unparsable timestamp, a single object where a list is
 * expected — which graphql-js accepts as a list of one) leaves the request untouched, and graphql-js
 * coerces it as before, with its own messages (`... at "points[3].value"; Float cannot represent a
 * non numeric value`, BAD_USER_INPUT, HTTP 400). The domain rules (names, labels, finiteness,
 * retention, quotas) run in IngestService on both paths alike.
 *
 * Only HTTP requests go through Apollo's plugins; graphql-ws operations take the regular path.
 */

/** The field set of MetricPointInput this check mirrors; a schema that differs fails at start-up. */
const POINT_FIELDS = ["name", "value", "timestamp", "type", "labels"] as const;

interface Plan {
  /** the variable that carries the points */
  variable: string;
}

interface PointTypes {
  dateTime: GraphQLLeafType;
  metricType: GraphQLLeafType;
  labels: GraphQLLeafType;
}

export function ingestFastPathPlugin(schema: GraphQLSchema): ApolloServerPlugin<Context> {
  const types = pointTypesOf(schema);
  // Apollo keeps one DocumentNode per query string in its document store, so this caches the
  // analysis per query string too, and forgets it when Apollo evicts the document.
  const plans = new WeakMap<OperationDefinitionNode, Plan | null>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request, contextValue, requestIsBatched }) {
          // The operations of a batched HTTP request share one context, which keys the hand-off.
          if (!operation || !request.variables || requestIsBatched) return;
          let plan = plans.get(operation);
          if (plan === undefined) {
            plan = planOf(document, operation);
            plans.set(operation, plan);
          }
          if (!plan) return;
          const raw = request.variables[plan.variable];
          if (!Array.isArray(raw)) return;
          const points = preparePoints(raw, types);
          if (!points || !ingestHandOff.give(contextValue, points)) return;
          request.variables = { ...request.variables, [plan.variable]: [] };
        },
      };
    },
  };
}

/**
 * The variable to take over, when the operation is a mutation whose only selection is one
 * `ingestMetrics(points: $v)` field, `$v: [MetricPointInput!]!` has no default, and nothing else
 * in the operation (directives, fragments) uses `$v`; otherwise null. The document is valid
 * (Apollo validated it), so the field's selection set is IngestResult's fields.
 */
export function planOf(document: DocumentNode, operation: OperationDefinitionNode): Plan | null {
  if (operation.operation !== "mutation" || operation.directives?.length) return null;
  const selections = operation.selectionSet.selections;
  if (selections.length !== 1) return null;
  const field = selections[0]!;
  if (field.kind !== Kind.FIELD || field.name.value !== "ingestMetrics" || field.directives?.length) return null;
  const args = field.arguments ?? [];
  if (args.length !== 1 || args[0]!.name.value !== "points" || args[0]!.value.kind !== Kind.VARIABLE) return null;
  const variable = args[0]!.value.name.value;
  const definition = operation.variableDefinitions?.find((d) => d.variable.name.value === variable);
  if (!definition || definition.defaultValue || definition.directives?.length) return null;
  const t = definition.type;
  if (
    t.kind !== Kind.NON_NULL_TYPE ||
    t.type.kind !== Kind.LIST_TYPE ||
    t.type.type.kind !== Kind.NON_NULL_TYPE ||
    t.type.type.type.kind !== Kind.NAMED_TYPE ||
    t.type.type.type.name.value !== "MetricPointInput"
  ) {
    return null;
  }
  // `$v` used anywhere else (the whole document: fragments spread into the field's selection)
  // would see the empty stand-in list.
  let uses = 0;
  visit(document, {
    VariableDefinition: () => false,
    Variable(node) {
      if (node.name.value === variable) uses++;
    },
  });
  return uses === 1 ? { variable } : null;
}

/**
 * The points as graphql-js would coerce them for `[MetricPointInput!]!`, or undefined when it
 * might reject them (or coerce them differently): the caller then leaves them to graphql-js.
 * String and Float are graphql-js's own rules (a string; a finite number — Float refuses numeric
 * strings); DateTime, MetricType and JSONObject are the schema's own parseValue functions.
 */
export function preparePoints(raw: readonly unknown[], types: PointTypes): PointInput[] | undefined {
  const out: PointInput[] = new Array(raw.length);
  try {
    for (let i = 0; i < raw.length; i++) {
      const p = raw[i];
      if (typeof p !== "object" || p === null || Array.isArray(p)) return undefined;
      const o = p as Record<string, unknown>;
      const { name, value, timestamp, type, labels } = o;
      if (typeof name !== "string" || typeof value !== "number" || !Number.isFinite(value)) return undefined;
      // every key must be a field of MetricPointInput: count them (for-in is the cheapest count)
      let known = 2;
      let keys = 0;
      for (const _ in o) keys++;
      const point: PointInput = { name, value };
      if (timestamp !== undefined) {
        known++;
        point.timestamp = timestamp === null ? null : (leaf(types.dateTime, timestamp) as Date);
      }
      if (type !== undefined) {
        known++;
        point.type = type === null ? null : (leaf(types.metricType, type) as PointInput["type"]);
      }
      if (labels !== undefined) {
        known++;
        point.labels = labels === null ? null : (leaf(types.labels, labels) as Record<string, unknown>);
      }
      if (keys !== known) return undefined;
      out[i] = point;
    }
  } catch {
    // a parseValue refused a value: graphql-js will refuse it too, with its message
    return undefined;
  }
  return out;
}

/** graphql-js's coercion of a non-null value of a scalar or enum: parseValue, and undefined is an error. */
function leaf(type: GraphQLLeafType, value: unknown): unknown {
  const parsed = type.parseValue(value);
  if (parsed === undefined) throw new TypeError(`${type.name} parsed to undefined`);
  return parsed;
}

/**
 * Checks at start-up that MetricPointInput is still the shape `preparePoints` mirrors, and returns
 * the schema's own leaf types it delegates to.
 */
export function pointTypesOf(schema: GraphQLSchema): PointTypes {
  const input = schema.getType("MetricPointInput");
  if (!isInputObjectType(input)) throw new Error("ingest fast path: the schema has no input type MetricPointInput");
  const fields = input.getFields();
  const names = Object.keys(fields).sort();
  if (names.join() !== [...POINT_FIELDS].sort().join()) {
    throw new Error(`ingest fast path: MetricPointInput has fields ${names.join(", ")}; preparePoints mirrors ${POINT_FIELDS.join(", ")}`);
  }
  for (const f of Object.values(fields)) {
    if (f.defaultValue !== undefined) throw new Error(`ingest fast path: MetricPointInput.${f.name} has a default value, which preparePoints does not apply`);
  }
  const expect = (field: string, typeName: string, nonNull: boolean): GraphQLLeafType => {
    const t: GraphQLInputType = fields[field]!.type;
    const named = getNamedType(t);
    if (isNonNullType(t) !== nonNull || isListType(isNonNullType(t) ? t.ofType : t) || named.name !== typeName || !(isScalarType(named) || isEnumType(named))) {
      throw new Error(`ingest fast path: MetricPointInput.${field} is ${String(t)}, not ${typeName}${nonNull ? "!" : ""}`);
    }
    return named;
  };
  expect("name", "String", true);
  expect("value", "Float", true);
  return { dateTime: expect("timestamp", "DateTime", false), metricType: expect("type", "MetricType", false), labels: expect("labels", "JSONObject", false) };
}
