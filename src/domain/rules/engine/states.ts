import { type CompiledTemplate, render } from "./templates";
import { type AlertStateRecord, type Labels, type RuleSpec, type Transition } from "./types";

/** An identity that is true at this evaluation. */
export interface ActiveOutput {
  labels: Labels;
  value: number | null;
}

export type CompiledAnnotations = ReadonlyArray<readonly [string, CompiledTemplate]>;

export function renderAnnotations(templates: CompiledAnnotations, value: number | null, labels: Labels): Labels {
  const out: Labels = {};
  for (const [name, tpl] of templates) out[name] = render(tpl, { value, labels });
  return out;
}

function sameAnnotations(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

export interface Advanced {
  states: AlertStateRecord[];
  transitions: Transition[];
  refreshed: AlertStateRecord[];
}

/**
 * Moves every identity one evaluation forward, as Prometheus's rules/alerting.go does:
 * - true and new: PENDING with activeAt = t, or FIRING at once when `for` is 0;
 * - true and PENDING: FIRING at the first t with t − activeAt ≥ for, else refreshed;
 * - true and FIRING: refreshed (keepFiringSince cleared);
 * - missing and PENDING: dropped (PENDING → RESOLVED, for history only);
 * - missing and FIRING: RESOLVED, or kept FIRING while t − keepFiringSince < keepFiringFor, where
 *   keepFiringSince is the first evaluation it was missing.
 * `current`: the value each missing identity still has (it exists but is false), for the resolved
 * notice; an identity with no output at all resolves with value null.
 * A state is listed in `refreshed` only when its value, annotations or keepFiringSince changed.
 */
export function advance(
  rule: RuleSpec,
  templates: CompiledAnnotations,
  previous: readonly AlertStateRecord[],
  active: ReadonlyMap<string, ActiveOutput>,
  current: ReadonlyMap<string, number>,
  t: number,
): Advanced {
  const forMs = rule.forSeconds * 1000;
  const keepMs = rule.keepFiringForSeconds * 1000;
  const prevByFp = new Map<string, AlertStateRecord>();
  for (const p of previous) prevByFp.set(p.fingerprint, p);
  const out: Advanced = { states: [], transitions: [], refreshed: [] };

  for (const [fingerprint, a] of active) {
    const prev = prevByFp.get(fingerprint);
    const labels = prev ? prev.labels : a.labels;
    const annotations = renderAnnotations(templates, a.value, labels);
    let rec: AlertStateRecord;
    if (!prev) {
      const firing = forMs === 0;
      rec = { fingerprint, labels, state: firing ? "FIRING" : "PENDING", activeAt: t, firedAt: firing ? t : null, keepFiringSince: null, value: a.value, annotations };
      out.transitions.push({ fingerprint, labels, from: null, to: rec.state, at: t, value: a.value, annotations });
    } else if (prev.state === "PENDING" && t - prev.activeAt >= forMs) {
      rec = { ...prev, state: "FIRING", firedAt: t, keepFiringSince: null, value: a.value, annotations };
      out.transitions.push({ fingerprint, labels, from: "PENDING", to: "FIRING", at: t, value: a.value, annotations });
    } else {
      rec = { ...prev, keepFiringSince: null, value: a.value, annotations };
      if (!Object.is(prev.value, a.value) || prev.keepFiringSince !== null || !sameAnnotations(prev.annotations, annotations)) out.refreshed.push(rec);
    }
    out.states.push(rec);
  }

  for (const prev of previous) {
    if (active.has(prev.fingerprint)) continue;
    if (prev.state === "FIRING" && keepMs > 0) {
      const since = prev.keepFiringSince ?? t;
      if (t - since < keepMs) {
        const rec = prev.keepFiringSince === since ? prev : { ...prev, keepFiringSince: since };
        out.states.push(rec);
        if (rec !== prev) out.refreshed.push(rec);
        continue;
      }
    }
    const value = current.get(prev.fingerprint) ?? null;
    const annotations = renderAnnotations(templates, value, prev.labels);
    out.transitions.push({ fingerprint: prev.fingerprint, labels: prev.labels, from: prev.state, to: "RESOLVED", at: t, value, annotations });
  }
  return out;
}
