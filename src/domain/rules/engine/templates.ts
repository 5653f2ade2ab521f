import { BadUserInputError } from "../../../errors";
import { humanize, humanizeDuration, humanizePercentage } from "./go-format";
import { type TemplateValue, type Verb, parseFormat, printValue, sprintf } from "./printf";
import { type Labels } from "./types";

/**
 * Annotation templates: a small, safe subset of Prometheus's Go templates, parsed by hand (no eval).
 *   {{ $value }}  {{ $labels.host }}  {{ index $labels "host" }}  {{ $labels }}
 *   {{ printf "%.2f" $value }}  {{ $value | printf "%.1f" }}  {{ humanize $value }}
 *   {{ humanizePercentage $value }}  {{ humanizeDuration $value }}  {{ toUpper $labels.env }}
 *   {{- trims -}} whitespace, {{/* comments *\/}}, (sub pipelines), .Value and .Labels as aliases.
 * Unknown variables and functions, bad syntax and wrong arity are compile (save-time) errors; a
 * missing label renders as "" (Prometheus's missingkey=zero). A run-time problem (humanize of a
 * non-number) renders the whole template as `<error expanding template: …>`, as Prometheus does.
 */

type Expr =
  | { k: "value" }
  | { k: "labels" }
  | { k: "label"; name: string }
  | { k: "lit"; v: string | number }
  | { k: "call"; fn: FnName; args: Expr[]; format?: Array<string | Verb> };

type FnName = "printf" | "humanize" | "humanizePercentage" | "humanizeDuration" | "index" | "toUpper" | "toLower";

const ARITY: Record<FnName, [number, number]> = {
  printf: [1, Infinity],
  humanize: [1, 1],
  humanizePercentage: [1, 1],
  humanizeDuration: [1, 1],
  index: [2, 2],
  toUpper: [1, 1],
  toLower: [1, 1],
};

export interface CompiledTemplate {
  readonly source: string;
  /** literal text and expressions, in order */
  readonly parts: ReadonlyArray<string | Expr>;
}

export interface TemplateData {
  /** null (no data) renders as NaN, as a NaN sample would in Prometheus */
  value: number | null;
  labels: Labels;
}

type Token = { t: "var" | "field" | "ident" | "str" | "num" | "|" | "(" | ")"; s: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const word = (start: number): string => {
    let j = start;
    while (j < src.length && /[A-Za-z0-9_.]/.test(src[j]!)) j++;
    return src.slice(start, j);
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") i++;
    else if (c === "|" || c === "(" || c === ")") {
      out.push({ t: c, s: c });
      i++;
    }
    else if (c === "$") {
      const w = word(i + 1);
      out.push({ t: "var", s: w });
      i += 1 + w.length;
    } else if (c === ".") {
      const w = word(i + 1);
      out.push({ t: "field", s: w });
      i += 1 + w.length;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
      if (j >= src.length) throw new Error("unterminated string");
      try {
        out.push({ t: "str", s: JSON.parse(src.slice(i, j + 1)) as string });
      } catch {
        throw new Error(`bad string ${src.slice(i, j + 1)}`);
      }
      i = j + 1;
    } else if (c === "`") {
      const j = src.indexOf("`", i + 1);
      if (j < 0) throw new Error("unterminated raw string");
      out.push({ t: "str", s: src.slice(i + 1, j) });
      i = j + 1;
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(src.slice(i));
      if (!m) throw new Error(`unexpected ${JSON.stringify(c)}`);
      out.push({ t: "num", s: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const w = word(i);
      out.push({ t: "ident", s: w });
      i += w.length;
    } else throw new Error(`unexpected ${JSON.stringify(c)}`);
  }
  return out;
}

function variable(path: string, display: string): Expr {
  const [root, ...rest] = path.split(".");
  const isValue = root === "value" || root === "Value";
  const isLabels = root === "labels" || root === "Labels";
  if (!isValue && !isLabels) throw new Error(`unknown variable ${display} (only $value and $labels are defined)`);
  if (isValue && rest.length === 0) return { k: "value" };
  if (isLabels && rest.length === 0) return { k: "labels" };
  if (isLabels && rest.length === 1 && rest[0]) return { k: "label", name: rest[0] };
  throw new Error(`cannot read ${display}`);
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  parseAll(): Expr {
    const e = this.pipeline();
    if (this.i < this.tokens.length) throw new Error(`unexpected ${JSON.stringify(this.tokens[this.i]!.s)}`);
    return e;
  }

  private pipeline(): Expr {
    let e = this.command(undefined);
    while (this.tokens[this.i]?.t === "|") {
      this.i++;
      e = this.command(e);
    }
    return e;
  }

  /** One command; `piped` is the previous stage, passed as the last argument. */
  private command(piped: Expr | undefined): Expr {
    const head = this.tokens[this.i];
    if (!head || head.t === "|" || head.t === ")") throw new Error("missing value for command");
    if (head.t === "ident") {
      this.i++;
      const args: Expr[] = [];
      for (let tok = this.tokens[this.i]; tok && tok.t !== "|" && tok.t !== ")"; tok = this.tokens[this.i]) args.push(this.operand());
      if (piped) args.push(piped);
      return this.call(head.s, args);
    }
    const e = this.operand();
    const next = this.tokens[this.i];
    if (next && next.t !== "|" && next.t !== ")") throw new Error(`${JSON.stringify(head.s)} is not a function, so it cannot take arguments`);
    if (piped) throw new Error(`a pipeline stage must be a function, got ${JSON.stringify(head.s)}`);
    return e;
  }

  private operand(): Expr {
    const tok = this.tokens[this.i++]!;
    switch (tok.t) {
      case "var":
        return variable(tok.s, `$${tok.s}`);
      case "field":
        return variable(tok.s, `.${tok.s}`);
      case "str":
        return { k: "lit", v: tok.s };
      case "num":
        return { k: "lit", v: Number(tok.s) };
      case "ident":
        return this.call(tok.s, []);
      case "(": {
        const e = this.pipeline();
        if (this.tokens[this.i++]?.t !== ")") throw new Error("missing )");
        return e;
      }
      default:
        throw new Error(`unexpected ${JSON.stringify(tok.s)}`);
    }
  }

  private call(name: string, args: Expr[]): Expr {
    if (!Object.hasOwn(ARITY, name)) throw new Error(`unknown function ${JSON.stringify(name)} (use ${Object.keys(ARITY).join(", ")})`);
    const fn = name as FnName;
    const [min, max] = ARITY[fn];
    if (args.length < min || args.length > max) throw new Error(`${fn} takes ${min === max ? min : `at least ${min}`} argument${min === 1 ? "" : "s"}, got ${args.length}`);
    const first = args[0]!;
    if (fn !== "printf" || first.k !== "lit") return { k: "call", fn, args };
    if (typeof first.v !== "string") throw new Error("printf needs a format string first");
    const format = parseFormat(first.v);
    const verbs = format.filter((p) => typeof p !== "string").length;
    if (verbs !== args.length - 1) throw new Error(`printf format ${JSON.stringify(first.v)} has ${verbs} verb(s) for ${args.length - 1} value(s)`);
    return { k: "call", fn, args, format };
  }
}

const cache = new Map<string, CompiledTemplate>();
const CACHE_LIMIT = 10_000;

/** Parses a template; throws an Error whose message names `field` when it is invalid. */
export function compileTemplate(text: string, field: string): CompiledTemplate {
  const hit = cache.get(text);
  if (hit) return hit;
  const parts: Array<string | Expr> = [];
  let pos = 0;
  let trimNext = false;
  try {
    while (pos < text.length) {
      const open = text.indexOf("{{", pos);
      let literal = open < 0 ? text.slice(pos) : text.slice(pos, open);
      if (trimNext) literal = literal.trimStart();
      if (open < 0) {
        if (literal) parts.push(literal);
        break;
      }
      const close = text.indexOf("}}", open + 2);
      if (close < 0) throw new Error(`unclosed action at offset ${open}`);
      let body = text.slice(open + 2, close);
      if (/^-\s/.test(body)) {
        literal = literal.trimEnd();
        body = body.slice(2);
      }
      trimNext = /\s-$/.test(body);
      if (trimNext) body = body.slice(0, -2);
      if (literal) parts.push(literal);
      pos = close + 2;
      const trimmed = body.trim();
      if (trimmed.startsWith("/*") && trimmed.endsWith("*/")) continue;
      if (!trimmed) throw new Error(`empty action at offset ${open}`);
      parts.push(new Parser(tokenize(trimmed)).parseAll());
    }
  } catch (err) {
    throw new Error(`${field}: invalid template: ${(err as Error).message}`, { cause: err });
  }
  const compiled = { source: text, parts };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, compiled);
  return compiled;
}

function toNumber(v: TemplateValue, fn: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  throw new Error(`${fn}: cannot convert ${JSON.stringify(printValue(v))} to a number`);
}

function run(e: Expr, data: TemplateData): TemplateValue {
  switch (e.k) {
    case "value":
      return data.value ?? NaN;
    case "labels":
      return data.labels;
    case "label":
      return Object.hasOwn(data.labels, e.name) ? data.labels[e.name]! : "";
    case "lit":
      return e.v;
    case "call": {
      const args = e.args.map((a) => run(a, data));
      switch (e.fn) {
        case "printf":
          return sprintf(e.format ?? parseFormat(printValue(args[0]!)), args.slice(1));
        case "humanize":
          return humanize(toNumber(args[0]!, e.fn));
        case "humanizePercentage":
          return humanizePercentage(toNumber(args[0]!, e.fn));
        case "humanizeDuration":
          return humanizeDuration(toNumber(args[0]!, e.fn));
        case "index": {
          const [m, key] = args;
          if (typeof m !== "object") throw new Error("index: the first argument must be $labels");
          const k = printValue(key!);
          return Object.hasOwn(m, k) ? m[k]! : "";
        }
        case "toUpper":
          return printValue(args[0]!).toUpperCase();
        case "toLower":
          return printValue(args[0]!).toLowerCase();
      }
    }
  }
}

/** Renders a compiled template. Never throws. */
export function render(compiled: CompiledTemplate, data: TemplateData): string {
  let out = "";
  try {
    for (const p of compiled.parts) out += typeof p === "string" ? p : printValue(run(p, data));
  } catch (err) {
    return `<error expanding template: ${(err as Error).message}>`;
  }
  return out;
}

/** Compiles every annotation of a rule; throws BadUserInputError with field `${field}.${name}`. */
export function validateRuleTemplates(annotations: Record<string, string>, field: string): void {
  for (const [name, text] of Object.entries(annotations)) {
    const f = `${field}.${name}`;
    try {
      compileTemplate(text, f);
    } catch (err) {
      throw new BadUserInputError(f, (err as Error).message.slice(f.length + 2));
    }
  }
}
