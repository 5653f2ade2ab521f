import type { Database } from "../../db/database";
import { COUNTER_LOOKBACK_MS, type MetricsQueryService } from "../metrics/query.service";
import type { SeriesRecord, SeriesSelector } from "../metrics/types";
import { BadUserInputError } from "../../errors";
import { NAME_LABEL } from "../metrics/selector";
import type { ConditionData, RuleSpec, SelectorSpec, SeriesData } from "./engine/types";
import type { SeriesIndex } from "./series-index";

/** How many series one condition may read per evaluation; more is an evaluation error. */
export const MAX_SERIES_PER_CONDITION = 1_000;

/** An exact metric name and no matcher on __name__: the selector can be matched in memory against the name's series. */
function byNameOnly(selector: SelectorSpec): boolean {
  return !selector.name.includes("*") && selector.matchers.every((m) => m.label !== NAME_LABEL);
}

/** The max anomaly score per series in a window, from the anomaly monitors (src/domain/anomalies). */
export interface AnomalyScoreSource {
  /** per series, the highest score of each minute (t: the minute's start) that overlaps [fromMs, toMs] */
  maxScores(
    tenantId: string,
    selector: SeriesSelector,
    fromMs: number,
    toMs: number,
  ): Promise<Array<{ name: string; labels: Record<string, string>; samples: Array<{ t: number; v: number }> }>>;
}

export interface Evaluation {
  rule: RuleSpec;
  /** evaluation time, epoch ms */
  t: number;
}

/** The condition data of one evaluation, or the reason it could not be read. */
export type Loaded = { data: ConditionData[]; error: null } | { data: null; error: string };

interface Want {
  evaluation: number;
  condition: number;
  series: SeriesRecord;
  lo: number;
  hi: number;
  seed: boolean;
}

/**
 * Reads what a batch of evaluations needs: for each condition the series its selector matches and
 * their samples in (t − window, t] (plus, for RATE and INCREASE, the latest sample before the
 * window), in two statements for the whole batch. Selectors of an exact metric name are matched
 * in memory against the name's series (SeriesIndex); globs and __name__ matchers go to SQL, once
 * per selector and batch.
 */
export class RuleDataLoader {
  constructor(
    private readonly db: Database,
    private readonly queries: MetricsQueryService,
    private readonly index: SeriesIndex,
    private readonly anomalies: AnomalyScoreSource | null,
  ) {}

  async load(evaluations: readonly Evaluation[]): Promise<Loaded[]> {
    const out: Loaded[] = evaluations.map((e) => ({ data: e.rule.conditions.map(() => ({ series: [] as SeriesData[] })), error: null }));
    const wants: Want[] = [];
    const selected = new Map<string, Promise<SeriesRecord[]>>();
    const fail = (i: number, err: unknown) => {
      out[i] = { data: null, error: err instanceof Error ? err.message : String(err) };
    };

    await Promise.all(
      evaluations.map(async ({ rule, t }, i) => {
        try {
          for (const [c, cond] of rule.conditions.entries()) {
            const lo = t - cond.windowSeconds * 1000;
            // the engine's match operators are the metrics enum's values
            const selector = cond.selector as unknown as SeriesSelector;
            if (cond.kind === "ANOMALY") {
              if (!this.anomalies) throw new Error("anomaly scores are not available");
              const found = await this.anomalies.maxScores(rule.tenantId, selector, lo + 1, t);
              const data = out[i]!.data;
              // scores are kept per minute: the minute that straddles the window's start comes back at lo + 1
              if (data) data[c] = { series: found.map((s) => ({ name: s.name, labels: s.labels, type: "GAUGE" as const, samples: s.samples })) };
              continue;
            }
            const field = `conditions[${c}].selector`;
            let series: SeriesRecord[];
            const indexed = byNameOnly(cond.selector) ? await this.index.select(rule.tenantId, cond.selector) : null;
            if (indexed) {
              series = indexed;
              if (series.length > MAX_SERIES_PER_CONDITION) {
                throw new BadUserInputError(field, `matches more than ${MAX_SERIES_PER_CONDITION} series; a condition reads at most ${MAX_SERIES_PER_CONDITION}: add matchers to narrow it`);
              }
            } else {
              const key = `${rule.tenantId}\u0000${JSON.stringify(cond.selector)}`;
              let found = selected.get(key);
              if (!found) {
                found = this.queries.selectSeries(rule.tenantId, selector, field, MAX_SERIES_PER_CONDITION);
                selected.set(key, found);
              }
              series = await found;
            }
            const seed = cond.aggregation === "RATE" || cond.aggregation === "INCREASE";
            for (const s of series) wants.push({ evaluation: i, condition: c, series: s, lo, hi: t, seed });
          }
        } catch (err) {
          fail(i, err);
        }
      }),
    );

    const live = wants.filter((w) => out[w.evaluation]!.data !== null);
    if (live.length === 0) return out;
    const samples = await this.samples(live);
    live.forEach((w, k) => {
      const data = out[w.evaluation]!.data;
      if (!data) return;
      // built mutable above; the engine sees them read-only
      (data[w.condition]!.series as SeriesData[]).push({ name: w.series.name, labels: w.series.labels, type: w.series.type, samples: samples[k]! });
    });
    return out;
  }

  /** Samples of every want, by position: one statement for the windows, one for the seeds. */
  private async samples(wants: readonly Want[]): Promise<Array<Array<{ t: number; v: number }>>> {
    const result: Array<Array<{ t: number; v: number }>> = wants.map(() => []);
    const tenants = wants.map((w) => w.series.tenantId);
    const ids = wants.map((w) => w.series.id);
    const rows = await this.db.query<{ k: number; t: number; v: number }>(
      `SELECT w.k, s.ts::float8 AS t, s.value AS v
         FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS w(tenant_id, series_id, lo, hi, k)
         JOIN LATERAL (
           SELECT ts, value FROM metric_samples m
            WHERE m.tenant_id = w.tenant_id AND m.series_id = w.series_id AND m.ts > w.lo AND m.ts <= w.hi
         ) s ON true
        ORDER BY w.k, s.ts`,
      [tenants, ids, wants.map((w) => w.lo), wants.map((w) => w.hi)],
    );
    for (const r of rows) result[Number(r.k) - 1]!.push({ t: r.t, v: r.v });

    const seeded = wants.flatMap((w, k) => (w.seed ? [k] : []));
    if (seeded.length > 0) {
      const seeds = await this.db.query<{ k: number; t: number; v: number }>(
        `SELECT w.k, s.ts::float8 AS t, s.value AS v
           FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::int[]) AS w(tenant_id, series_id, lo, k)
           JOIN LATERAL (
             SELECT ts, value FROM metric_samples m
              WHERE m.tenant_id = w.tenant_id AND m.series_id = w.series_id AND m.ts <= w.lo AND m.ts > w.lo - ${COUNTER_LOOKBACK_MS}
              ORDER BY ts DESC LIMIT 1
           ) s ON true`,
        [seeded.map((k) => tenants[k]), seeded.map((k) => ids[k]), seeded.map((k) => wants[k]!.lo), seeded],
      );
      for (const r of seeds) result[r.k]!.unshift({ t: r.t, v: r.v });
    }
    return result;
  }
}
