import { type ValidationError, validate } from "class-validator";
import type { ValidatorFn } from "type-graphql";
import { BadUserInputError } from "../errors";
import { MetricPointInput } from "./metric.input";

function firstProblem(errors: ValidationError[], path: string): { field: string; message: string } | undefined {
  for (const e of errors) {
    const field = /^\d+$/.test(e.property) ? `${path}[${e.property}]` : `${path}.${e.property}`;
    const constraint = e.constraints ? Object.values(e.constraints)[0] : undefined;
    if (constraint) return { field, message: constraint.replace(new RegExp(`^${e.property} `), "") };
    const nested = firstProblem(e.children ?? [], field);
    if (nested) return nested;
  }
  return undefined;
}

/**
 * Runs class-validator on input objects and reports the first problem as BAD_USER_INPUT with the
 * argument path in the message (`input.slug: must be ...`) and in extensions.field.
 */
/** Input classes validated by hand in the domain, because they arrive in bulk (the ingest path). */
const VALIDATED_IN_DOMAIN = new Set<unknown>([MetricPointInput]);

export const validateArgument: ValidatorFn = async (value, type, { args }) => {
  if (value === null || value === undefined || typeof value !== "object" || value instanceof Date) return;
  if (VALIDATED_IN_DOMAIN.has(type)) return;
  const argName = Object.entries(args).find(([, v]) => v === value)?.[0] ?? "input";
  const items = Array.isArray(value) ? value.map((v, i) => [`${argName}[${i}]`, v] as const) : [[argName, value] as const];
  for (const [path, item] of items) {
    if (item === null || typeof item !== "object") continue;
    const errors = await validate(item as object, { forbidUnknownValues: false, validationError: { target: false, value: false } });
    const problem = firstProblem(errors, path);
    if (problem) throw new BadUserInputError(problem.field, problem.message);
  }
};
