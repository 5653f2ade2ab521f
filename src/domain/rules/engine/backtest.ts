import { evaluate } from "./evaluate";
import { alignedAfter, ruleOffsetMs } from "./schedule";
import { type AlertStateRecord, type ConditionData, type RuleSpec, type Transition } from "./types";

export interface BacktestOptions {
  /** the phase of the evaluation times; default: the rule's scheduling offset (ruleOffsetMs) */
  offsetMs?: number;
  /** the states before `from` (default none) */
  previous?: readonly AlertStateRecord[];
}

export interface BacktestResult {
  /** every transition, in time order */
  transitions: Transition[];
  /** the active states after the last evaluation */
  states: AlertStateRecord[];
  evaluations: number;
  /** evaluations that failed (their states were carried over unchanged) */
  errors: Array<{ at: number; error: string }>;
}

/** The evaluation times in [from, to]: the scheduler's times, interval-aligned plus the offset. */
export function evaluationTimes(rule: RuleSpec, from: number, to: number, offsetMs = ruleOffsetMs(rule.id, rule.intervalSeconds)): number[] {
  const step = rule.intervalSeconds * 1000;
  const out: number[] = [];
  for (let t = alignedAfter(from - 1, step, offsetMs); t <= to; t += step) out.push(t);
  return out;
}

/**
 * Replays a rule over [from, to] with data loaded per evaluation time, feeding the states forward
 * exactly as the scheduler does.
 */
export function backtest(rule: RuleSpec, loadData: (t: number) => readonly ConditionData[], from: number, to: number, options: BacktestOptions = {}): BacktestResult {
  const result: BacktestResult = { transitions: [], states: [...(options.previous ?? [])], evaluations: 0, errors: [] };
  for (const t of evaluationTimes(rule, from, to, options.offsetMs)) {
    const r = evaluate(rule, loadData(t), result.states, t);
    result.evaluations++;
    if (r.error) result.errors.push({ at: t, error: r.error });
    for (const tr of r.transitions) result.transitions.push(tr);
    result.states = r.states;
  }
  return result;
}

/**
 * The same over series loaded once for the whole range (every sample in
 * [from − max window − the RATE lookback, to]): evaluate() slices each window by binary search, so
 * each evaluation costs O(series · log samples + samples in the window).
 */
export function backtestOver(rule: RuleSpec, data: readonly ConditionData[], from: number, to: number, options: BacktestOptions = {}): BacktestResult {
  return backtest(rule, () => data, from, to, options);
}
