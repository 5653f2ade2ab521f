import { formatE, formatF, formatG } from "./go-format";
import { type Labels } from "./types";

/** A value inside a template: a number, a string, or a label map ($labels). */
export type TemplateValue = number | string | Labels;

export interface Verb {
  flags: string;
  width: number | undefined;
  prec: number | undefined;
  verb: string;
}

const VERBS = new Set(["v", "s", "d", "f", "F", "e", "E", "g", "G", "q"]);

/** Splits a printf format into literal text and verbs; throws on a verb this engine does not know. */
export function parseFormat(format: string): Array<string | Verb> {
  const out: Array<string | Verb> = [];
  let text = "";
  let i = 0;
  while (i < format.length) {
    const c = format[i]!;
    if (c !== "%") {
      text += c;
      i++;
      continue;
    }
    if (format[i + 1] === "%") {
      text += "%";
      i += 2;
      continue;
    }
    let j = i + 1;
    let flags = "";
    while (j < format.length && "+- 0#".includes(format[j]!)) flags += format[j++];
    let w = "";
    while (j < format.length && format[j]! >= "0" && format[j]! <= "9") w += format[j++];
    let p: string | undefined;
    if (format[j] === ".") {
      p = "";
      j++;
      while (j < format.length && format[j]! >= "0" && format[j]! <= "9") p += format[j++];
    }
    const verb = format[j];
    if (verb === undefined || !VERBS.has(verb)) {
      throw new Error(`printf format ${JSON.stringify(format)}: unsupported verb ${JSON.stringify(format.slice(i, j + 1))} (use %v %s %d %f %e %g %q)`);
    }
    if (text) out.push(text);
    text = "";
    out.push({ flags, width: w ? Number(w) : undefined, prec: p === undefined ? undefined : Number(p || "0"), verb });
    i = j + 1;
  }
  if (text) out.push(text);
  return out;
}

/** Go's `map[a:1 b:2]` for a label map. */
export function printLabels(labels: Labels): string {
  return `map[${Object.keys(labels)
    .sort()
    .map((k) => `${k}:${labels[k]}`)
    .join(" ")}]`;
}

/** What `{{ x }}` prints. */
export function printValue(v: TemplateValue): string {
  if (typeof v === "number") return formatG(v);
  if (typeof v === "string") return v;
  return printLabels(v);
}

function goType(v: TemplateValue): string {
  return typeof v === "number" ? "float64" : typeof v === "string" ? "string" : "map[string]string";
}

function pad(s: string, verb: Verb, numeric: boolean): string {
  if (verb.width === undefined || s.length >= verb.width) return s;
  if (verb.flags.includes("-")) return s.padEnd(verb.width, " ");
  if (numeric && verb.flags.includes("0")) {
    const sign = s[0] === "-" || s[0] === "+" || s[0] === " " ? s[0] : "";
    return sign + s.slice(sign.length).padStart(verb.width - sign.length, "0");
  }
  return s.padStart(verb.width, " ");
}

function formatNumber(v: number, verb: Verb): string {
  let s: string;
  switch (verb.verb) {
    case "f":
    case "F":
      s = formatF(v, verb.prec ?? 6);
      break;
    case "e":
    case "E":
      s = formatE(v, verb.prec ?? 6, verb.verb === "E");
      break;
    case "d":
      // Go prints %!d(float64=…) for every float; Vigil truncates, which is what users mean
      s = Number.isFinite(v) ? Math.trunc(v).toString() : formatG(v);
      break;
    case "q":
      return pad(JSON.stringify(formatG(v)), verb, false);
    default:
      // v, s, g, G: %g (shortest unless a precision is given)
      s = formatG(v, verb.prec ?? -1, verb.verb === "G");
  }
  if (v >= 0 && !s.startsWith("+")) {
    if (verb.flags.includes("+")) s = `+${s}`;
    else if (verb.flags.includes(" ")) s = ` ${s}`;
  }
  return pad(s, verb, true);
}

/** Go's fmt.Sprintf over the parsed format, with Go's %!verb(MISSING) / %!(EXTRA …) markers. */
export function sprintf(parts: ReadonlyArray<string | Verb>, args: readonly TemplateValue[]): string {
  let out = "";
  let a = 0;
  for (const part of parts) {
    if (typeof part === "string") {
      out += part;
      continue;
    }
    if (a >= args.length) {
      out += `%!${part.verb}(MISSING)`;
      continue;
    }
    const arg = args[a++]!;
    if (typeof arg === "number") out += formatNumber(arg, part);
    else if (part.verb === "s" || part.verb === "v" || part.verb === "q") {
      let s = typeof arg === "string" ? arg : printLabels(arg);
      if (part.prec !== undefined) s = s.slice(0, part.prec);
      out += pad(part.verb === "q" ? JSON.stringify(s) : s, part, false);
    } else out += `%!${part.verb}(${goType(arg)}=${printValue(arg)})`;
  }
  if (a < args.length) out += `%!(EXTRA ${args.slice(a).map((v) => `${goType(v)}=${printValue(v)}`).join(", ")})`;
  return out;
}
