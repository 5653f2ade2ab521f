import { MatchOp, type SeriesSelector } from "../metrics";
import { NAME_LABEL, compileSelector } from "../metrics/selector";

export type SeriesMatcher = (name: string, labels: Record<string, string>) => boolean;

function globTest(glob: string): (name: string) => boolean {
  if (!glob.includes("*")) return (name) => name === glob;
  const re = new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, "\\$&")).join(".*")}$`, "s");
  return (name) => re.test(name);
}

/**
 * A selector as an in-memory predicate on a series' name and labels, with exactly the semantics of
 * the SQL selection (src/domain/metrics/selector.ts): the name or glob, then every matcher. The
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
