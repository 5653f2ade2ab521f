import {
  type BucketState,
  type Segment,
  bucketCount,
  bucketStarts,
  counterStep,
  finalize,
  foldSeries,
  groupLabels,
  MAX_RAW_SHARE,
  mergeInto,
  planParts,
} from "../../../../src/domain/metrics/buckets";
import { AggregateFn } from "../../../../src/domain/metrics/types";
import { ORDERED_FNS, type RawSeries, type ReferenceFn, type SegmentRow, referenceAggregate, seedOf, sqlSegmentRows } from "./buckets.reference";
import { type Rng, rng } from "./random";

/** An hour boundary (472,222 hours after the epoch), so every step used here divides it. */
const H = 1_699_999_200_000;
const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;

/**
 * The engine as the query service drives it: fold each series' segment rows (with its seed), merge
 * the series of the group, finalize every bucket.
 */
function engine(group: ReadonlyArray<{ segments: SegmentRow[][]; seed: number | undefined }>, fn: AggregateFn, stepMs: number): Map<number, number | null> {
  const target = new Map<number, BucketState>();
  for (const s of group) {
    for (const [bucket, state] of foldSeries(s.segments, s.seed)) {
      const at = target.get(bucket);
      if (at) mergeInto(at, state);
      else target.set(bucket, state);
    }
  }
  return new Map([...target].map(([b, state]) => [b, finalize(fn, state, stepMs)]));
}

/** Differences between two bucket → value maps, with a relative tolerance for rounding. */
function differences(actual: Map<number, number | null>, expected: Map<number, number>): string[] {
  const out: string[] = [];
  for (const [b, want] of expected) {
    const got = actual.get(b);
    if (got === undefined || got === null || Math.abs(got - want) > 1e-9 * Math.max(1, Math.abs(got), Math.abs(want))) {
      out.push(`bucket ${b}: got ${got}, want ${want}`);
    }
  }
  for (const b of actual.keys()) if (!expected.has(b)) out.push(`bucket ${b}: got ${actual.get(b)}, want no bucket`);
  return out;
}

/** Segment rows for cut points given as [lo, …, hi]. */
const cutAt = (series: RawSeries, cuts: number[], stepMs: number) => sqlSegmentRows(series, cuts, stepMs);
const tableOf = (fns: readonly ReferenceFn[], values: Record<string, ReadonlyArray<number | undefined>>, buckets: number[]) =>
  Object.fromEntries(fns.map((fn) => [fn, new Map(buckets.flatMap((b, i) => (values[fn]![i] === undefined ? [] : [[b, values[fn]![i]!] as const])))]));

describe("counterStep", () => {
  it("is the difference when the counter grows or stays, and the new value after a reset", () => {
    expect(counterStep(8, 5)).toBe(3);
    expect(counterStep(5, 5)).toBe(0);
    expect(counterStep(2, 9)).toBe(2); // reset: the counter restarted from 0 and reached 2
    expect(counterStep(0, 9)).toBe(0);
    expect(counterStep(0.5, 0.25)).toBe(0.25);
  });
});

describe("mergeInto", () => {
  const state = (over: Partial<BucketState>): BucketState => ({ n: 1, sum: 0, min: 0, max: 0, sumSq: 0, firstTs: 0, first: 0, lastTs: 0, last: 0, increase: 0, ...over });

  it("adds counts, sums, squares and increases and keeps the extremes, for other series", () => {
    const a = state({ n: 2, sum: 10, min: 3, max: 7, sumSq: 58, firstTs: 100, first: 3, lastTs: 300, last: 7, increase: 4 });
    mergeInto(a, state({ n: 3, sum: 6, min: 1, max: 4, sumSq: 18, firstTs: 50, first: 1, lastTs: 200, last: 4, increase: 5 }));
    // first: the other series started earlier (50 < 100); last: ours is more recent (300 > 200)
    expect(a).toEqual(state({ n: 5, sum: 16, min: 1, max: 7, sumSq: 76, firstTs: 50, first: 1, lastTs: 300, last: 7, increase: 9 }));
    mergeInto(a, state({ n: 1, sum: 9, min: 9, max: 9, sumSq: 81, firstTs: 400, first: 9, lastTs: 400, last: 9, increase: 0 }));
    expect(a).toMatchObject({ n: 6, max: 9, firstTs: 50, first: 1, lastTs: 400, last: 9 });
  });

  it("with adjacent = true, b follows a: first stays, last is b's, increases add as they are", () => {
    const a = state({ n: 1, sum: 5, min: 5, max: 5, sumSq: 25, firstTs: 100, first: 5, lastTs: 100, last: 5, increase: 1 });
    mergeInto(a, state({ n: 1, sum: 2, min: 2, max: 2, sumSq: 4, firstTs: 200, first: 2, lastTs: 200, last: 2, increase: 2 }), true);
    expect(a).toEqual(state({ n: 2, sum: 7, min: 2, max: 5, sumSq: 29, firstTs: 100, first: 5, lastTs: 200, last: 2, increase: 3 }));
  });
});

describe("finalize", () => {
  // samples 2, 4, 4, 4, 5, 5, 7, 9: n 8, sum 40, sumSq 4+16+16+16+25+25+49+81 = 232,
  // mean 5, population variance 232/8 − 25 = 4, stddev 2
  const s: BucketState = { n: 8, sum: 40, min: 2, max: 9, sumSq: 232, firstTs: 1, first: 2, lastTs: 8, last: 9, increase: 30 };

  it.each<[AggregateFn, number]>([
    [AggregateFn.COUNT, 8],
    [AggregateFn.SUM, 40],
    [AggregateFn.AVG, 5],
    [AggregateFn.MIN, 2],
    [AggregateFn.MAX, 9],
    [AggregateFn.STDDEV, 2],
    [AggregateFn.LAST, 9],
    [AggregateFn.INCREASE, 30],
    [AggregateFn.RATE, 0.5], // 30 over a 60 s step
  ])("%s", (fn, expected) => {
    expect(finalize(fn, s, MINUTE)).toBeCloseTo(expected, 12);
  });

  it("RATE divides by the step in seconds, whatever the samples' spread", () => {
    expect(finalize(AggregateFn.RATE, s, 10 * SECOND)).toBe(3);
    expect(finalize(AggregateFn.RATE, s, HOUR)).toBeCloseTo(30 / 3600, 15);
  });

  it("STDDEV never goes NaN when rounding makes the variance slightly negative", () => {
    expect(finalize(AggregateFn.STDDEV, { ...s, n: 3, sum: 0.3, sumSq: 0.0299999999 }, MINUTE)).toBe(0);
  });

  it("leaves percentiles to SQL", () => {
    for (const fn of [AggregateFn.P50, AggregateFn.P90, AggregateFn.P95, AggregateFn.P99]) expect(finalize(fn, s, MINUTE)).toBeNull();
  });
});

describe("bucketStarts and bucketCount", () => {
  it("aligns buckets to the epoch and includes the bucket holding `to`", () => {
    expect(bucketStarts(H + 2_000, H + 39_999, 10 * SECOND)).toEqual([H, H + 10_000, H + 20_000, H + 30_000]);
    expect(bucketStarts(H, H + 10_000, 10 * SECOND)).toEqual([H, H + 10_000]);
    expect(bucketStarts(H, H + 9_999, 10 * SECOND)).toEqual([H]);
    expect(bucketStarts(H + 9_999, H + 9_999, 10 * SECOND)).toEqual([H]);
    // 7 s buckets: 1_699_999_200_000 / 7000 = 242_857_028.57…, so the first starts at 242_857_028 × 7000
    expect(bucketStarts(H, H + 7_000, 7 * SECOND)).toEqual([1_699_999_196_000, 1_699_999_203_000]);
    expect(bucketCount(H, H + 7_000, 7 * SECOND)).toBe(2);
    expect(bucketCount(H + 2_000, H + 39_999, 10 * SECOND)).toBe(4);
    expect(bucketCount(H, H, HOUR)).toBe(1);
  });

  it("agree with each other on random ranges", () => {
    const r = rng(7);
    const problems: string[] = [];
    for (let i = 0; i < 2_000; i++) {
      const step = r.pick([1, 7, 1_000, 13_000, MINUTE, HOUR, 86_400_000]);
      const from = H + r.int(-5 * step, 5 * step);
      const to = from + r.int(0, 40 * step);
      const starts = bucketStarts(from, to, step);
      const first = starts[0]!;
      const last = starts[starts.length - 1]!;
      if (starts.length !== bucketCount(from, to, step)) problems.push(`${from}..${to}/${step}: ${starts.length} starts, bucketCount ${bucketCount(from, to, step)}`);
      if (!(first <= from && from < first + step && last <= to && to < last + step)) problems.push(`${from}..${to}/${step}: first ${first}, last ${last}`);
      if (!starts.every((t, k) => t % step === 0 && (k === 0 || t - starts[k - 1]! === step))) problems.push(`${from}..${to}/${step}: not consecutive aligned buckets`);
    }
    expect(problems).toEqual([]);
  });
});

describe("groupLabels", () => {
  const labels = { host: "a", dc: "eu" };

  it("groupBy null: the series itself, with its name as __name__", () => {
    expect(groupLabels("cpu", labels, null)).toEqual({ __name__: "cpu", host: "a", dc: "eu" });
  });

  it("groupBy []: one group for everything", () => {
    expect(groupLabels("cpu", labels, [])).toEqual({});
  });

  it("groupBy labels: only those, __name__ read from the name, missing labels left out", () => {
    expect(groupLabels("cpu", labels, ["dc", "__name__", "zone"])).toEqual({ dc: "eu", __name__: "cpu" });
    expect(groupLabels("mem", { dc: "eu", host: "b" }, ["dc"])).toEqual(groupLabels("cpu", labels, ["dc"]));
  });

  // Regression: a missing label named like an Object.prototype member is read from the
  // prototype (labels come from pg's JSON parse).
  it("leaves out a missing label named constructor", () => {
    expect(groupLabels("cpu", {}, ["constructor"])).toEqual({});
  });
});

describe("planParts", () => {
  const seg = (source: Segment["source"], lo: number, hi: number): Segment => ({ source, lo, hi });
  const M1 = "metric_rollups_1m";
  const H1 = "metric_rollups_1h";

  it("a step that is not a multiple of a minute: whole minutes of each bucket from rollups, the minutes its edges cut from raw samples", () => {
    // 150 s buckets: edges at H+150s (inside the minute [H+2m, H+3m)), H+300s (a minute boundary), H+450s (inside [H+7m, H+8m))
    expect(planParts(H, H + 10 * MINUTE, 150 * SECOND)).toEqual([
      seg(M1, H, H + 2 * MINUTE),
      seg("raw", H + 2 * MINUTE, H + 3 * MINUTE),
      seg(M1, H + 3 * MINUTE, H + 7 * MINUTE),
      seg("raw", H + 7 * MINUTE, H + 8 * MINUTE),
      seg(M1, H + 8 * MINUTE, H + 10 * MINUTE),
    ]);
  });

  it("whole hours inside a bucket come from hour rollups, also when the step is no multiple of an hour", () => {
    // 90-minute buckets (H − 1h is a multiple of 90 minutes): [B, B+90m) holds the hour [B, B+1h), [B+90m, B+3h) holds [B+2h, B+3h)
    const B = H - HOUR;
    expect(B % (90 * MINUTE)).toBe(0);
    expect(planParts(B, B + 3 * HOUR, 90 * MINUTE)).toEqual([seg(H1, B, B + HOUR), seg(M1, B + HOUR, B + 2 * HOUR), seg(H1, B + 2 * HOUR, B + 3 * HOUR)]);
    // hour steps: minutes (not raw samples) for the partial hours at the range's edges
    expect(planParts(H - 30 * MINUTE - 5_000, H + 2 * HOUR + 90_000, HOUR)).toEqual([
      seg("raw", H - 30 * MINUTE - 5_000, H - 30 * MINUTE),
      seg(M1, H - 30 * MINUTE, H),
      seg(H1, H, H + 2 * HOUR),
      seg(M1, H + 2 * HOUR, H + 2 * HOUR + MINUTE),
      seg("raw", H + 2 * HOUR + MINUTE, H + 2 * HOUR + 90_000),
    ]);
  });

  it("a multiple of a minute needs raw samples only at the range's edges", () => {
    expect(planParts(H + 30_500, H + 10 * MINUTE + 10, 2 * MINUTE)).toEqual([
      seg("raw", H + 30_500, H + MINUTE),
      seg(M1, H + MINUTE, H + 10 * MINUTE),
      seg("raw", H + 10 * MINUTE, H + 10 * MINUTE + 10),
    ]);
  });

  it("reads raw samples only when they would be most of the range", () => {
    // 61 s: almost every minute is cut by an edge; 7 s: no bucket holds a whole minute
    for (const step of [61 * SECOND, 7 * SECOND, 30 * SECOND]) expect(planParts(H + 123, H + 10 * HOUR, step)).toEqual([seg("raw", H + 123, H + 10 * HOUR)]);
    expect(planParts(H + 10_000, H + 50_000, MINUTE)).toEqual([seg("raw", H + 10_000, H + 50_000)]);
  });

  it("tiles [lo, hi) in order; every rollup row read lies inside one output bucket; no whole grain inside a bucket is read finer (random ranges)", () => {
    const r = rng(23);
    const problems: string[] = [];
    let mixed = 0;
    for (let i = 0; i < 3_000; i++) {
      const step = r.pick([SECOND, 7 * SECOND, 61 * SECOND, 150 * SECOND, MINUTE, 17 * MINUTE, 90 * MINUTE, HOUR, 3_700 * SECOND, 10_000 * SECOND, r.int(1, 20_000) * SECOND]);
      const lo = H + r.int(-5 * HOUR, 5 * HOUR);
      const hi = lo + r.pick([1, r.int(1, 2 * MINUTE), r.int(1, 3 * HOUR), r.int(1, 48 * HOUR)]);
      if (bucketCount(lo, hi - 1, step) > 11_000) continue;
      const parts = planParts(lo, hi, step);
      const fail = (what: string) => problems.push(`lo=${lo} hi=${hi} step=${step}: ${what}`);
      if (parts[0]?.lo !== lo || parts[parts.length - 1]?.hi !== hi) fail("does not span [lo, hi)");
      parts.forEach((p, k) => {
        if (!(p.lo < p.hi)) fail(`part ${k} is empty`);
        if (k > 0 && parts[k - 1]!.hi !== p.lo) fail(`gap or overlap before part ${k}`);
        if (k > 0 && parts[k - 1]!.source === p.source) fail(`parts ${k - 1} and ${k} of one source are not merged`);
      });
      const raw = parts.filter((p) => p.source === "raw").reduce((a, p) => a + p.hi - p.lo, 0);
      if (parts.length === 1 && parts[0]!.source === "raw") {
        // raw only: allowed when the mixed plan would read more than MAX_RAW_SHARE raw, or holds no whole minute in a bucket
        continue;
      }
      mixed++;
      if (raw > MAX_RAW_SHARE * (hi - lo)) fail(`reads ${raw} of ${hi - lo} ms raw`);
      const bucketOf = (t: number) => t - (t % step);
      for (const p of parts) {
        const grain = p.source === M1 ? MINUTE : p.source === H1 ? HOUR : SECOND;
        if (p.source !== "raw" && (p.lo % grain !== 0 || p.hi % grain !== 0)) fail(`${p.source} part not aligned`);
        for (let g = p.lo; p.source !== "raw" && g < p.hi; g += grain) if (bucketOf(g) !== bucketOf(g + grain - 1)) fail(`${p.source} row ${g} straddles a bucket edge`);
        // finer than needed: a whole minute (or hour) inside one bucket read from raw samples (or minutes)
        const coarser = p.source === "raw" ? MINUTE : p.source === M1 ? HOUR : undefined;
        if (coarser === undefined) continue;
        for (let g = Math.ceil(p.lo / coarser) * coarser; g + coarser <= p.hi; g += coarser) {
          if (bucketOf(g) === bucketOf(g + coarser - 1)) fail(`${p.source} part [${p.lo}, ${p.hi}) holds the whole grain ${g} of one bucket`);
        }
      }
    }
    expect(problems.slice(0, 10)).toEqual([]);
    expect(mixed).toBeGreaterThan(500);
  });
});

describe("foldSeries + finalize against the reference", () => {
  const STEP = 10 * SECOND;
  const FROM = H + 2_000;
  const TO = H + 39_999;
  const B0 = H;
  const B1 = H + 10_000;
  const B3 = H + 30_000;
  /*
   * One counter, 10 s buckets, range [H+2s, H+39.999s]:
   *   H−5s 3, H+1s 4         before `from`: 4 is the seed
   *   bucket H      : H+3s 6 (+2 from the seed), H+5s 9 (+3), H+7s 2 (reset: +2), H+9s 5 (+3)
   *   bucket H+10s  : H+10s 1 (reset exactly at the boundary: +1), H+15s 4 (+3)
   *   bucket H+20s  : nothing
   *   bucket H+30s  : H+31s 10 (+6 from 4, across the empty bucket), H+39.999s 10 (+0, `to` is inclusive)
   *   H+40s 50       after `to`
   */
  const counter: RawSeries = [
    { ts: H - 5_000, value: 3 },
    { ts: H + 1_000, value: 4 },
    { ts: H + 3_000, value: 6 },
    { ts: H + 5_000, value: 9 },
    { ts: H + 7_000, value: 2 },
    { ts: H + 9_000, value: 5 },
    { ts: H + 10_000, value: 1 },
    { ts: H + 15_000, value: 4 },
    { ts: H + 31_000, value: 10 },
    { ts: H + 39_999, value: 10 },
    { ts: H + 40_000, value: 50 },
  ];
  /*
   * bucket H     : 6 9 2 5 → n 4, sum 22, mean 5.5, squared deviations .25+12.25+12.25+.25 = 25,
   *                variance 25/4 = 6.25, stddev 2.5; last 5; increase 2+3+2+3 = 10, rate 10/10 s = 1
   * bucket H+10s : 1 4 → n 2, sum 5, mean 2.5, variance 2.25, stddev 1.5; last 4; increase 1+3 = 4
   * bucket H+30s : 10 10 → n 2, sum 20, stddev 0; last 10; increase 6
   */
  const expected = tableOf(
    ORDERED_FNS,
    {
      COUNT: [4, 2, 2],
      SUM: [22, 5, 20],
      AVG: [5.5, 2.5, 10],
      MIN: [2, 1, 10],
      MAX: [9, 4, 10],
      STDDEV: [2.5, 1.5, 0],
      LAST: [5, 4, 10],
      INCREASE: [10, 4, 6],
      RATE: [1, 0.4, 0.6],
    },
    [B0, B1, B3],
  );
  /*
   * The same counter as SQL returns it when cut at H+8s (inside bucket H) and H+31s (on a sample).
   * Each segment's increase leaves out the step into its own first sample.
   */
  const handRows: SegmentRow[][] = [
    // [H+2s, H+8s): 6 9 2 → sumSq 36+81+4 = 121, increase 3 (9−6) + 2 (reset to 2) = 5
    [{ bucket: B0, n: 3, sum: 17, min: 2, max: 9, sumSq: 121, firstTs: H + 3_000, first: 6, lastTs: H + 7_000, last: 2, increase: 5 }],
    // [H+8s, H+31s): 5 in bucket H; 1 4 in bucket H+10s, increase 1 (5 → 1 reset) + 3 = 4
    [
      { bucket: B0, n: 1, sum: 5, min: 5, max: 5, sumSq: 25, firstTs: H + 9_000, first: 5, lastTs: H + 9_000, last: 5, increase: 0 },
      { bucket: B1, n: 2, sum: 5, min: 1, max: 4, sumSq: 17, firstTs: H + 10_000, first: 1, lastTs: H + 15_000, last: 4, increase: 4 },
    ],
    // [H+31s, H+40s): 10 10
    [{ bucket: B3, n: 2, sum: 20, min: 10, max: 10, sumSq: 200, firstTs: H + 31_000, first: 10, lastTs: H + 39_999, last: 10, increase: 0 }],
  ];
  const cuts = [FROM, H + 8_000, H + 31_000, TO + 1];

  it("the reference gives the hand-computed values", () => {
    for (const fn of ORDERED_FNS) expect([fn, referenceAggregate([counter], fn, STEP, FROM, TO)]).toEqual([fn, expected[fn]]);
  });

  it("the SQL simulation gives the hand-computed rows", () => {
    expect(cutAt(counter, cuts, STEP)).toEqual(handRows);
  });

  it("the engine gives the hand-computed values from the hand-computed rows", () => {
    // bucket H: 5 in the first segment + 2 (seed 4 → 6) + 3 (2 → 5 into the second segment) = 10
    // bucket H+30s: 0 + 6 (4 → 10 into the third segment)
    for (const fn of ORDERED_FNS) {
      expect([fn, differences(engine([{ segments: handRows, seed: 4 }], fn, STEP), expected[fn]!)]).toEqual([fn, []]);
    }
    const state = foldSeries(handRows, 4).get(B0)!;
    expect(state).toMatchObject({ n: 4, sum: 22, sumSq: 146, firstTs: H + 3_000, first: 6, lastTs: H + 9_000, last: 5, increase: 10 });
  });

  it("the engine gives the same values for one segment and for segments cut anywhere", () => {
    const cutsList = [[FROM, TO + 1], [FROM, B1, TO + 1], [FROM, H + 7_000, TO + 1], [FROM, H + 9_001, H + 20_000, TO + 1], cuts];
    for (const c of cutsList) {
      for (const fn of ORDERED_FNS) {
        expect([c, fn, differences(engine([{ segments: cutAt(counter, c, STEP), seed: 4 }], fn, STEP), expected[fn]!)]).toEqual([c, fn, []]);
      }
    }
  });

  it("without a seed the first sample of the range adds no increase", () => {
    // bucket H: 3 + 2 + 3 = 8 (6 is the first sample seen), rate 0.8
    const rows = cutAt(counter, cuts, STEP);
    expect(engine([{ segments: rows, seed: undefined }], AggregateFn.INCREASE, STEP)).toEqual(new Map([[B0, 8], [B1, 4], [B3, 6]]));
    expect(engine([{ segments: rows, seed: undefined }], AggregateFn.RATE, STEP).get(B0)).toBeCloseTo(0.8, 12);
    expect(referenceAggregate([counter.slice(2)], AggregateFn.INCREASE, STEP, FROM, TO)).toEqual(new Map([[B0, 8], [B1, 4], [B3, 6]]));
  });

  it("a single-point series: its value everywhere, an increase only from a seed", () => {
    // one sample 7 at H+5s in [H, H+9.999s]
    const one: SegmentRow[][] = [[{ bucket: H, n: 1, sum: 7, min: 7, max: 7, sumSq: 49, firstTs: H + 5_000, first: 7, lastTs: H + 5_000, last: 7, increase: 0 }]];
    expect(cutAt([{ ts: H + 5_000, value: 7 }], [H, H + 10_000], STEP)).toEqual(one);
    const at = (fn: AggregateFn, seed?: number) => engine([{ segments: one, seed }], fn, STEP).get(H);
    expect([AggregateFn.COUNT, AggregateFn.SUM, AggregateFn.AVG, AggregateFn.MIN, AggregateFn.MAX, AggregateFn.STDDEV, AggregateFn.LAST].map((fn) => at(fn))).toEqual([1, 7, 7, 7, 7, 0, 7]);
    expect([at(AggregateFn.INCREASE), at(AggregateFn.RATE)]).toEqual([0, 0]);
    expect([at(AggregateFn.INCREASE, 3), at(AggregateFn.RATE, 3)]).toEqual([4, 0.4]); // 3 → 7
    expect([at(AggregateFn.INCREASE, 10), at(AggregateFn.RATE, 10)]).toEqual([7, 0.7]); // 10 → 7 is a reset
  });

  it("a series without samples in the range yields no buckets, even with a seed", () => {
    expect(foldSeries([[], [], []], 5).size).toBe(0);
    expect(engine([{ segments: [[]], seed: 5 }], AggregateFn.COUNT, STEP).size).toBe(0);
  });

  it("the seed carries over an empty first segment", () => {
    // segments [H, H+1m) (empty) and [H+1m, H+2m): 5 then 7; seed 9 → 5 is a reset: 5 + 2 = 7
    const rows = cutAt([{ ts: H + 70_000, value: 5 }, { ts: H + 80_000, value: 7 }], [H, H + MINUTE, H + 2 * MINUTE], MINUTE);
    expect(rows[0]).toEqual([]);
    expect(engine([{ segments: rows, seed: 9 }], AggregateFn.INCREASE, MINUTE)).toEqual(new Map([[H + MINUTE, 7]]));
  });

  it("a group: values pool, INCREASE sums, LAST is the most recent sample of any series", () => {
    /*
     * 1-minute buckets over [H, H+119.999s]:
     *   A: H−1s 90 (seed), H+10s 100 (+10), H+50s 110 (+10) | H+70s 5 (reset: +5), H+100s 20 (+15)
     *   B: no seed,        H+20s 1 (+0),    H+55s 3 (+2)    | H+65s 4 (+1)
     * bucket H      : 100 110 1 3 → n 4, sum 214, mean 53.5, squared deviations
     *                 46.5² + 56.5² + 52.5² + 50.5² = 2162.25 + 3192.25 + 2756.25 + 2550.25 = 10661,
     *                 variance 2665.25; last 3 (B at H+55s beats A at H+50s); increase 22, rate 22/60
     * bucket H+1m   : 5 20 4 → n 3, sum 29, squares 25+400+16 = 441, variance 441/3 − (29/3)² = 482/9;
     *                 last 20 (A at H+100s); increase 21, rate 21/60 = 0.35
     */
    const a: RawSeries = [{ ts: H - 1_000, value: 90 }, { ts: H + 10_000, value: 100 }, { ts: H + 50_000, value: 110 }, { ts: H + 70_000, value: 5 }, { ts: H + 100_000, value: 20 }];
    const b: RawSeries = [{ ts: H + 20_000, value: 1 }, { ts: H + 55_000, value: 3 }, { ts: H + 65_000, value: 4 }];
    const [from, to, step] = [H, H + 119_999, MINUTE];
    const want = tableOf(
      ORDERED_FNS,
      {
        COUNT: [4, 3],
        SUM: [214, 29],
        AVG: [53.5, 29 / 3],
        MIN: [1, 4],
        MAX: [110, 20],
        STDDEV: [Math.sqrt(2665.25), Math.sqrt(482 / 9)],
        LAST: [3, 20],
        INCREASE: [22, 21],
        RATE: [22 / 60, 0.35],
      },
      [H, H + MINUTE],
    );
    for (const cuts of [[from, to + 1], [from, H + MINUTE, to + 1], [from, H + 52_000, H + 67_000, to + 1]]) {
      const group = [a, b].map((s) => ({ segments: cutAt(s, cuts, step), seed: seedOf(s, from) }));
      for (const fn of ORDERED_FNS) {
        expect([fn, differences(new Map(referenceAggregate([a, b], fn, step, from, to)), want[fn]!)]).toEqual([fn, []]);
        expect([cuts, fn, differences(engine(group, fn, step), want[fn]!)]).toEqual([cuts, fn, []]);
      }
    }
  });

  describe("random series with counter resets, random steps and segmentations", () => {
    /** Up to 4 series; timestamps ≡ series index (mod 4), so no two samples of a group share a ts. */
    function randomCase(r: Rng) {
      const step = r.pick([1 * SECOND, 2 * SECOND, 5 * SECOND, 7 * SECOND, 10 * SECOND, 13 * SECOND, MINUTE, 2 * MINUTE, 90 * MINUTE, HOUR]);
      const from = H + r.int(-10 * step, 10 * step);
      const to = from + r.int(0, 8 * step);
      const group: RawSeries[] = [];
      for (let s = 0, n = r.int(1, 4); s < n; s++) {
        const series: Array<{ ts: number; value: number }> = [];
        let tick = Math.floor((from - r.int(0, 3 * step)) / 4);
        let value = r.int(0, 100);
        const gauge = r.chance(0.2);
        for (let k = 0, count = r.int(0, 40); k < count; k++) {
          tick += r.chance(0.1) ? r.int(step / 4, (3 * step) / 4) : r.int(1, Math.max(1, Math.floor((0.75 * step) / 4)));
          if (gauge) value = r.int(-50, 1_000);
          else value = r.chance(0.15) ? r.int(0, 10) : value + r.int(0, 20);
          series.push({ ts: tick * 4 + s, value });
        }
        group.push(series);
      }
      return { step, from, to, group };
    }

    /** Cut points strictly inside (from, hi): on samples, on bucket boundaries or anywhere. */
    function randomCuts(r: Rng, k: number, from: number, hi: number, step: number, group: RawSeries[]): number[] {
      const inside = new Set<number>();
      const samples = group.flat().filter((x) => x.ts > from && x.ts < hi);
      for (let tries = 0; inside.size < k && tries < 20; tries++) {
        const kind = r.int(0, 2);
        let at: number;
        if (kind === 0 && samples.length) at = r.pick(samples).ts;
        else if (kind === 1) at = (Math.floor(from / step) + r.int(1, Math.max(1, Math.ceil((hi - from) / step)))) * step;
        else at = r.int(from + 1, hi - 1);
        if (at > from && at < hi) inside.add(at);
      }
      return [from, ...[...inside].sort((x, y) => x - y), hi];
    }

    it("equal the reference for every function", () => {
      const problems: string[] = [];
      let compared = 0;
      for (let c = 0; c < 400; c++) {
        const seed = 1_000 + c;
        const r = rng(seed);
        const { step, from, to, group } = randomCase(r);
        const hi = to + 1;
        const segmentations = [
          [from, hi],
          randomCuts(r, 1, from, hi, step, group),
          randomCuts(r, 2, from, hi, step, group),
          [from, ...planParts(from, hi, step).map((s) => s.hi)],
        ];
        for (const cuts of segmentations) {
          const input = group.map((s) => ({ segments: cutAt(s, cuts, step), seed: seedOf(s, from) }));
          for (const fn of ORDERED_FNS) {
            const want = referenceAggregate(group, fn, step, from, to);
            compared += want.size;
            for (const d of differences(engine(input, fn, step), want)) problems.push(`seed ${seed}, step ${step}, from ${from}, to ${to}, cuts ${cuts.join(",")}, ${fn}: ${d}`);
          }
        }
      }
      expect(problems.slice(0, 10)).toEqual([]);
      // the cases are not vacuous: thousands of non-empty buckets were compared
      expect(compared).toBeGreaterThan(10_000);
    });

    it("every reference bucket is one of bucketStarts(from, to)", () => {
      for (let c = 0; c < 200; c++) {
        const { step, from, to, group } = randomCase(rng(5_000 + c));
        const starts = new Set(bucketStarts(from, to, step));
        for (const b of referenceAggregate(group, AggregateFn.COUNT, step, from, to).keys()) expect(starts.has(b)).toBe(true);
      }
    });
  });
});
