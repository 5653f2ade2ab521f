import type { RuleEvaluator } from "../domain/rules";
import type { Logger } from "../lib/logger";
import { type Job, periodic } from "./periodic";

/**
 * Evaluates the rules that are due, then sleeps until the next rule's slot (at most `tickMs`), so
 * a slot is evaluated when it comes rather than at the next poll. Other processes' new rules are
 * seen within `tickMs`.
 */
export function ruleEvaluationJob(evaluator: RuleEvaluator, tickMs: number, log: Logger): Job {
  return periodic(
    "rule-evaluation",
    tickMs,
    async (stopping) => {
      const report = await evaluator.runDue(Date.now(), null, stopping);
      if (report.transitions || report.errors) log.debug(report, "rules evaluated");
      const next = await evaluator.nextDueAt();
      return next === null ? undefined : next - Date.now();
    },
    log,
  );
}
