/**
 * promtool's expanding series notation, as `promtool test rules` reads `input_series[].values`:
 *   '1+2x3'   → 1 3 5 7           (a+bxn: n + 1 values starting at a, step b)
 *   '10-1x2'  → 10 9 8
 *   '5x2'     → 5 5 5
 *   '_'       → one missing sample, '_x3' → three missing samples
 *   'stale'   → a staleness marker
 *   tokens separated by spaces concatenate: '0+10x2 0+10x2' → 0 10 20 0 10 20
 */

export type NotationValue = number | "missing" | "stale";

const NUMBER = String.raw`[+-]?(?:Inf|inf|NaN|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)`;
const ITEM = new RegExp(`^(${NUMBER})(?:([+-])(${NUMBER}))?(?:x(\\d+))?$`);

function num(s: string): number {
  const bare = s.replace(/^[+-]/, "");
  const sign = s.startsWith("-") ? -1 : 1;
  if (bare === "Inf" || bare === "inf") return sign * Infinity;
  if (bare === "NaN") return NaN;
  return Number(s);
}

/** The values of a notation, in order; throws on a token it cannot read. */
export function expandNotation(text: string): NotationValue[] {
  const out: NotationValue[] = [];
  for (const token of text.trim().split(/\s+/)) {
    if (token === "") continue;
    if (token === "stale") {
      out.push("stale");
      continue;
    }
    const blank = /^_(?:x(\d+))?$/.exec(token);
    if (blank) {
      for (let i = 0; i < (blank[1] === undefined ? 1 : Number(blank[1])); i++) out.push("missing");
      continue;
    }
    const m = ITEM.exec(token);
    if (!m) throw new Error(`series notation: cannot read ${JSON.stringify(token)} in ${JSON.stringify(text)}`);
    if (m[2] !== undefined && m[4] === undefined) throw new Error(`series notation: ${JSON.stringify(token)} needs a repeat count (a+bxn)`);
    let v = num(m[1]!);
    const step = m[2] === undefined ? 0 : (m[2] === "-" ? -1 : 1) * num(m[3]!);
    const n = m[4] === undefined ? 0 : Number(m[4]);
    for (let i = 0; i <= n; i++) {
      out.push(v);
      v += step;
    }
  }
  return out;
}

/**
 * Samples at startMs + i · intervalMs, skipping missing values. Vigil has no staleness markers: a
 * `stale` value ends the run of samples the same way a gap does (its sample is dropped).
 */
export function notationSamples(text: string, intervalMs: number, startMs = 0): Array<{ t: number; v: number }> {
  const out: Array<{ t: number; v: number }> = [];
  expandNotation(text).forEach((v, i) => {
    if (typeof v === "number") out.push({ t: startMs + i * intervalMs, v });
  });
  return out;
}
