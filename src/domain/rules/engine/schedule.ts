/**
 * Spreading rules over their interval: each rule evaluates at interval-aligned times shifted by a
 * stable offset derived from its id, so 10,000 rules with a 60 s interval do not all wake at :00,
 * and a restart keeps every rule's phase.
 */

/** FNV-1a, 32 bits: stable across processes and releases. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The rule's phase within its interval, in [0, intervalSeconds · 1000) ms. */
export function ruleOffsetMs(ruleId: string, intervalSeconds: number): number {
  return fnv1a(ruleId) % (intervalSeconds * 1000);
}

/** The first evaluation time strictly after `after` (epoch ms): k · interval + offset. */
export function nextEvaluationAt(ruleId: string, intervalSeconds: number, after: number): number {
  return alignedAfter(after, intervalSeconds * 1000, ruleOffsetMs(ruleId, intervalSeconds));
}

/** The first t > after with t ≡ offsetMs (mod intervalMs). */
export function alignedAfter(after: number, intervalMs: number, offsetMs: number): number {
  return (Math.floor((after - offsetMs) / intervalMs) + 1) * intervalMs + offsetMs;
}
