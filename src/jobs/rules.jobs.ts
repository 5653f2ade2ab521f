import type { RuleEvaluator } from "../domain/rules";
import type { Logger } from "../lib/logger";
import { type Job, periodic } from "./periodic";

/** Evaluates the rules that are due, every `tickMs` (each rule at its own interval and offset). */
export function ruleEvaluationJob(evaluator: RuleEvaluator, tickMs: number, log: Logger): Job {
  return periodic(
    "rule-evaluation",
    tickMs,
    async (stopping) => {
      const report = await evaluator.runDue(Date.now(), null, stopping);
      if (report.transitions || report.errors) log.debug(report, "rules evaluated");
    },
    log,
  );
}
