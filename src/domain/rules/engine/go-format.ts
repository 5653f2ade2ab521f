/**
 * Go's fmt number formatting for the verbs annotation templates use, so `{{ $value }}`,
 * `printf "%.2f"` and `humanize` print what Prometheus prints. Ties round as JavaScript's
 * toFixed/toExponential do (on the exact binary value, like Go, except that exact halves round up
 * where Go rounds to even).
 */

function special(v: number): string | undefined {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return undefined;
}

/** Decimal digits (no leading or trailing zeros) and the decimal point position, of |v| rounded to `sig` significant digits (shortest when undefined). */
function digitsOf(v: number, sig: number | undefined): { neg: boolean; digits: string; dp: number } {
  const neg = v < 0 || Object.is(v, -0);
  const s = sig === undefined ? Math.abs(v).toExponential() : Math.abs(v).toExponential(sig - 1);
  const e = s.indexOf("e");
  const digits = (s[0]! + s.slice(2, e)).replace(/0+$/, "") || "0";
  return { neg, digits, dp: Number(s.slice(e + 1)) + 1 };
}

function expSuffix(exp: number, upper: boolean): string {
  const a = Math.abs(exp);
  return `${upper ? "E" : "e"}${exp < 0 ? "-" : "+"}${a < 10 ? "0" : ""}${a}`;
}

/** Go's %e / %.Ne. */
export function formatE(v: number, prec = 6, upper = false): string {
  const sp = special(v);
  if (sp) return sp;
  const s = v.toExponential(prec);
  const e = s.indexOf("e");
  return s.slice(0, e) + expSuffix(Number(s.slice(e + 1)), upper);
}

/** Go's %f / %.Nf. */
export function formatF(v: number, prec = 6): string {
  const sp = special(v);
  if (sp) return sp;
  if (Math.abs(v) < 1e21) return v.toFixed(prec);
  const int = BigInt(v).toString();
  return prec > 0 ? `${int}.${"0".repeat(prec)}` : int;
}

/** Go's %g (prec < 0: shortest, which is also what %v prints for a float64). */
export function formatG(v: number, prec = -1, upper = false): string {
  const sp = special(v);
  if (sp) return sp;
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const shortest = prec < 0;
  let p = prec === 0 ? 1 : prec;
  const { neg, digits, dp } = digitsOf(v, shortest ? undefined : p);
  const nd = digits.length;
  if (shortest) p = nd;
  let eprec = p;
  if (eprec > nd && nd >= dp) eprec = nd;
  if (shortest) eprec = 6;
  const exp = dp - 1;
  const sign = neg ? "-" : "";
  if (exp < -4 || exp >= eprec) {
    const m = Math.min(p, nd);
    return `${sign}${digits[0]}${m > 1 ? `.${digits.slice(1, m)}` : ""}${expSuffix(exp, upper)}`;
  }
  const decimals = p > dp ? Math.max(nd - dp, 0) : 0;
  const int = dp > 0 ? digits.slice(0, dp).padEnd(dp, "0") : "0";
  let frac = "";
  for (let i = 0; i < decimals; i++) {
    const at = dp + i;
    frac += at >= 0 && at < nd ? digits[at] : "0";
  }
  return `${sign}${int}${frac ? `.${frac}` : ""}`;
}

/** Prometheus's humanize: SI prefixes, 4 significant digits. */
export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return formatG(v, 4);
  let prefix = "";
  if (Math.abs(v) >= 1) {
    for (const p of ["k", "M", "G", "T", "P", "E", "Z", "Y"]) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const p of ["m", "u", "n", "p", "f", "a", "z", "y"]) {
      if (Math.abs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return formatG(v, 4) + prefix;
}

export function humanizePercentage(v: number): string {
  return `${formatG(v * 100, 4)}%`;
}

/** Prometheus's humanizeDuration: seconds to `1d 2h 3m 4s`, sub-second values with SI prefixes. */
export function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return formatG(v, 4);
  if (v === 0) return `${formatG(v, 4)}s`;
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? "-" : "";
    if (v < 0) v = -v;
    const d = Math.trunc(v);
    const seconds = d % 60;
    const minutes = Math.trunc(d / 60) % 60;
    const hours = Math.trunc(d / 3600) % 24;
    const days = Math.trunc(d / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${formatG(v, 4)}s`;
  }
  let prefix = "";
  for (const p of ["m", "u", "n", "p", "f", "a", "z", "y"]) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${formatG(v, 4)}${prefix}s`;
}
