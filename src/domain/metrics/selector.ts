import { RE2JS } from "re2js";
import { BadUserInputError } from "../../errors";
import { labelNameProblem, MAX_LABEL_VALUE_LENGTH, MAX_NAME_LENGTH } from "./points";
import { MatchOp, type SeriesSelector } from "./types";

const NAME_GLOB_RE = /^[a-zA-Z0-9_:.*-]+$/;
/** the pseudo-label that stands for the metric name in matchers, groupBy and labelValues */
export const NAME_LABEL = "__name__";

export interface CompiledSelector {
  /** SQL conditions on metric_series (alias none) after `tenant_id = $1`, with their parameters from $2 */
  where: string[];
  params: unknown[];
  /** matchers that SQL cannot express exactly (regexes, NEQ, empty values), applied to the rows */
  test: ((row: { name: string; labels: Record<string, string> }) => boolean) | undefined;
}

function globToLike(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replaceAll("*", "%");
}

/**
 * Turns a selector into SQL plus a row filter. Matchers follow Prometheus: a missing label reads
 * as "", and regexes are fully anchored. Regexes run in RE2 (re2js): linear time, so no pattern
 * can hang the server, and the syntax is Prometheus's own.
 */
export function compileSelector(selector: SeriesSelector, field = "selector"): CompiledSelector {
  const { name } = selector;
  if (typeof name !== "string" || name.length === 0 || name.length > MAX_NAME_LENGTH || !NAME_GLOB_RE.test(name)) {
    throw new BadUserInputError(`${field}.name`, `must be a metric name or a glob with * (at most ${MAX_NAME_LENGTH} characters of [a-zA-Z0-9_:.*-])`);
  }
  const where: string[] = [];
  const params: unknown[] = [];
  if (name.includes("*")) {
    if (name.replaceAll("*", "") !== "") {
      params.push(globToLike(name));
      where.push(`name LIKE $${params.length + 1}`);
    }
  } else {
    params.push(name);
    where.push(`name = $${params.length + 1}`);
  }
  const equal: Record<string, string> = {};
  const tests: Array<(row: { name: string; labels: Record<string, string> }) => boolean> = [];
  (selector.matchers ?? []).forEach((mt, i) => {
    const f = `${field}.matchers[${i}]`;
    if (mt.label !== NAME_LABEL) {
      const problem = labelNameProblem(mt.label);
      if (problem) throw new BadUserInputError(`${f}.label`, problem);
    }
    if (mt.value.length > MAX_LABEL_VALUE_LENGTH) throw new BadUserInputError(`${f}.value`, `must be at most ${MAX_LABEL_VALUE_LENGTH} characters`);
    const read =
      mt.label === NAME_LABEL
        ? (r: { name: string }) => r.name
        : (r: { labels: Record<string, string> }) => (Object.hasOwn(r.labels, mt.label) ? r.labels[mt.label]! : "");
    switch (mt.op ?? MatchOp.EQ) {
      case MatchOp.EQ:
        // a second EQ on the same label goes to the row test, so that {x="a", x="b"} matches nothing
        if (mt.value !== "" && mt.label !== NAME_LABEL && !Object.hasOwn(equal, mt.label)) equal[mt.label] = mt.value;
        else tests.push((r) => read(r) === mt.value);
        break;
      case MatchOp.NEQ:
        tests.push((r) => read(r) !== mt.value);
        break;
      case MatchOp.REGEX:
      case MatchOp.NOT_REGEX: {
        let re: RE2JS;
        try {
          re = RE2JS.compile(mt.value);
        } catch (err) {
          throw new BadUserInputError(`${f}.value`, `not a valid RE2 regular expression: ${(err as Error).message}`);
        }
        const want = mt.op === MatchOp.REGEX;
        // RE2JS.matches is a full match: anchored at both ends, as Prometheus anchors its matchers.
        tests.push((r) => re.matches(read(r)) === want);
        break;
      }
    }
  });
  if (Object.keys(equal).length) {
    params.push(JSON.stringify(equal));
    where.push(`labels @> $${params.length + 1}::jsonb`);
  }
  return { where, params, test: tests.length ? (row) => tests.every((t) => t(row)) : undefined };
}

export type SeriesMatcher = (name: string, labels: Record<string, string>) => boolean;

function globTest(glob: string): (name: string) => boolean {
  if (!glob.includes("*")) return (name) => name === glob;
  const re = new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, "\\$&")).join(".*")}$`, "s");
  return (name) => re.test(name);
}

/**
 * A selector as an in-memory predicate on a series' name and labels, with exactly the semantics of
 * the SQL selection above (anomaly monitors, the rules' series index): the name or glob, then every matcher. The
 * SQL part (name and EQ matchers) is evaluated here by hand; compileSelector's row test covers the
 * rest (NEQ, RE2 regexes, empty values), so the two cannot drift on the hard cases.
 */
export function selectorMatcher(selector: SeriesSelector): SeriesMatcher {
  const compiled = compileSelector(selector);
  const nameOk = globTest(selector.name);
  const equal = (selector.matchers ?? []).filter((m) => (m.op ?? MatchOp.EQ) === MatchOp.EQ && m.value !== "" && m.label !== NAME_LABEL);
  const test = compiled.test;
  return (name, labels) => {
    if (!nameOk(name)) return false;
    for (const m of equal) if (!Object.hasOwn(labels, m.label) || labels[m.label] !== m.value) return false;
    return test === undefined || test({ name, labels });
  };
}
