import { RE2JS } from "re2js";
import { BadUserInputError } from "../../errors";
import { MAX_LABEL_VALUE_LENGTH, labelNameProblem } from "../metrics/points";
import type { Labels, MatchOp } from "./engine/types";

export interface Matcher {
  label: string;
  op: MatchOp;
  value: string;
}

export const MAX_MATCHERS = 32;

/**
 * Label matchers over alert labels (silences, alert filters), with Prometheus's semantics: a
 * missing label reads as "", regexes are RE2 and anchored at both ends. Checked when saved, so a
 * stored matcher always compiles.
 */
export function validateMatchers(input: ReadonlyArray<{ label: string; op?: MatchOp | null; value: string }>, field: string, atLeastOne: boolean): Matcher[] {
  if (atLeastOne && input.length === 0) throw new BadUserInputError(field, "must have at least one matcher");
  if (input.length > MAX_MATCHERS) throw new BadUserInputError(field, `must have at most ${MAX_MATCHERS} matchers`);
  return input.map((m, i) => {
    const f = `${field}[${i}]`;
    const problem = labelNameProblem(m.label);
    if (problem) throw new BadUserInputError(`${f}.label`, problem);
    if (m.value.length > MAX_LABEL_VALUE_LENGTH) throw new BadUserInputError(`${f}.value`, `must be at most ${MAX_LABEL_VALUE_LENGTH} characters`);
    const op = m.op ?? "EQ";
    if (op === "REGEX" || op === "NOT_REGEX") {
      try {
        RE2JS.compile(m.value);
      } catch (err) {
        throw new BadUserInputError(`${f}.value`, `not a valid RE2 regular expression: ${(err as Error).message}`);
      }
    }
    return { label: m.label, op, value: m.value };
  });
}

const compiled = new Map<string, RE2JS>();

function regex(pattern: string): RE2JS {
  let re = compiled.get(pattern);
  if (!re) {
    if (compiled.size > 10_000) compiled.clear();
    re = RE2JS.compile(pattern);
    compiled.set(pattern, re);
  }
  return re;
}

/** Whether every matcher holds for `labels`. */
export function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  for (const m of matchers) {
    const v = Object.hasOwn(labels, m.label) ? labels[m.label]! : "";
    switch (m.op) {
      case "EQ":
        if (v !== m.value) return false;
        break;
      case "NEQ":
        if (v === m.value) return false;
        break;
      case "REGEX":
        if (!regex(m.value).matches(v)) return false;
        break;
      case "NOT_REGEX":
        if (regex(m.value).matches(v)) return false;
        break;
    }
  }
  return true;
}
