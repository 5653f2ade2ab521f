import { BadUserInputError } from "../../../../src/errors";
import { type PointInput, canonicalSeries, metricNameProblem, validatePoints } from "../../../../src/domain/metrics/points";
import { MetricType } from "../../../../src/domain/metrics/types";
import { rng } from "./random";

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0);
const DAY = 86_400_000;
const RETENTION_DAYS = 30;

/** The BAD_USER_INPUT that `fn` throws; fails the test when it throws nothing or something else. */
function badInput(fn: () => unknown): BadUserInputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BadUserInputError);
    expect((err as BadUserInputError).extensions.code).toBe("BAD_USER_INPUT");
    expect((err as BadUserInputError).extensions.field).toBe((err as BadUserInputError).field);
    return err as BadUserInputError;
  }
  throw new Error("expected a BadUserInputError, nothing was thrown");
}

const ok = (over: Partial<PointInput> = {}): PointInput => ({ name: "system.cpu.usage", value: 1, ...over });
const validate = (points: PointInput[]) => validatePoints(points, NOW, RETENTION_DAYS);
/** Validates `[ok, ok, ok, bad]`: the problem must be reported on index 3, after valid points. */
const failAt3 = (bad: Partial<PointInput>) => badInput(() => validate([ok(), ok(), ok(), ok(bad)]));

describe("metricNameProblem", () => {
  it.each(["a", "_", ":", "system.cpu.usage", "http_requests_total", "ns:sub:metric", "a-b.c_d:e9", "A".repeat(200)])("accepts %j", (name) => {
    expect(metricNameProblem(name)).toBeUndefined();
  });

  it.each([
    ["", /non-empty/],
    ["9lives", /\[a-zA-Z_:\]/],
    [".cpu", /\[a-zA-Z_:\]/],
    ["-cpu", /\[a-zA-Z_:\]/],
    ["cpu usage", /\[a-zA-Z_:\]/],
    ["cpu{x}", /\[a-zA-Z_:\]/],
    ["cpu/usage", /\[a-zA-Z_:\]/],
    ["é", /\[a-zA-Z_:\]/],
    ["A".repeat(201), /at most 200 characters/],
  ])("rejects %j", (name, message) => {
    expect(metricNameProblem(name)).toMatch(message);
  });

  it("rejects what is not a string", () => {
    for (const name of [undefined, null, 42, {}, ["cpu"]]) expect(metricNameProblem(name)).toMatch(/non-empty string/);
  });
});

describe("validatePoints", () => {
  it("normalises valid points: sorted labels, canonical key, index, type", () => {
    const ts = new Date(NOW - 1_000);
    const [p0, p1] = validate([
      { name: "system.cpu.usage", value: 0.5, timestamp: ts, labels: { host: "a", dc: "eu" } },
      { name: "requests_total", value: 3, type: MetricType.COUNTER },
    ]);
    expect(p0).toEqual({ index: 0, key: 'system.cpu.usage{dc="eu",host="a"}', name: "system.cpu.usage", labels: { dc: "eu", host: "a" }, ts: NOW - 1_000, value: 0.5, type: null });
    expect(Object.keys(p0!.labels)).toEqual(["dc", "host"]);
    expect(p1).toEqual({ index: 1, key: "requests_total{}", name: "requests_total", labels: {}, ts: NOW, value: 3, type: MetricType.COUNTER });
  });

  it("defaults a missing or null timestamp to now", () => {
    const points = validate([ok(), ok({ timestamp: null }), ok({ timestamp: undefined })]);
    expect(points.map((p) => p.ts)).toEqual([NOW, NOW, NOW]);
  });

  it("accepts an empty batch and exactly 10,000 points, and rejects 10,001 before looking at any point", () => {
    expect(validate([])).toEqual([]);
    const many = Array.from({ length: 10_000 }, (_, i) => ok({ value: i }));
    expect(validate(many)).toHaveLength(10_000);
    const tooMany = [...many, { name: "", value: Number.NaN }];
    const err = badInput(() => validate(tooMany));
    expect(err.field).toBe("points");
    expect(err.message).toMatch(/at most 10000 points per call, got 10001/);
    expect(err.message).toMatch(/split the batch/);
  });

  describe("names", () => {
    it("accepts dotted names of up to 200 characters", () => {
      expect(validate([ok({ name: "system.cpu.usage" }), ok({ name: "a".repeat(200) })])).toHaveLength(2);
    });

    it("rejects 201 characters, bad characters and non-strings on points[i].name", () => {
      const long = failAt3({ name: "a".repeat(201) });
      expect(long.field).toBe("points[3].name");
      expect(long.message).toMatch(/at most 200 characters/);

      const bad = failAt3({ name: "cpu usage" });
      expect(bad.field).toBe("points[3].name");
      expect(bad.message).toMatch(/must match \[a-zA-Z_:\]\[a-zA-Z0-9_:.-\]\*/);

      const missing = failAt3({ name: undefined as unknown as string });
      expect(missing.field).toBe("points[3].name");
      expect(missing.message).toMatch(/non-empty string/);
    });
  });

  describe("values", () => {
    it("accepts any finite number up to 1e150 in magnitude, negative and zero included", () => {
      expect(validate([ok({ value: -1e150 }), ok({ value: 0 }), ok({ value: 1e150 }), ok({ value: 5e-324 })]).map((p) => p.value)).toEqual([-1e150, 0, 1e150, 5e-324]);
    });

    it.each([1.0000001e150, -1e300, Number.MAX_VALUE])("rejects %p on points[i].value: its square would overflow the rollups' float8 sums", (value) => {
      const err = failAt3({ value });
      expect(err.field).toBe("points[3].value");
      expect(err.message).toBe("points[3].value: must be at most 1e150 in magnitude");
    });

    it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, "1", null, undefined])("rejects %p on points[i].value", (value) => {
      const err = failAt3({ value: value as number });
      expect(err.field).toBe("points[3].value");
      expect(err.message).toMatch(/must be a finite number/);
    });
  });

  describe("timestamps", () => {
    const at = (ms: number) => ok({ timestamp: new Date(ms) });
    const oldest = NOW - RETENTION_DAYS * DAY;
    const newest = NOW + 10 * 60_000;

    it("accepts exactly now − retention and exactly now + 10 minutes", () => {
      expect(validate([at(oldest), at(newest)]).map((p) => p.ts)).toEqual([oldest, newest]);
    });

    it("rejects one millisecond older than the retention", () => {
      const err = failAt3({ timestamp: new Date(oldest - 1) });
      expect(err.field).toBe("points[3].timestamp");
      expect(err.message).toMatch(/older than the tenant's retention of 30 days/);
    });

    it("rejects one millisecond more than 10 minutes ahead", () => {
      const err = badInput(() => validate([at(newest + 1)]));
      expect(err.field).toBe("points[0].timestamp");
      expect(err.message).toMatch(/more than 10 minutes in the future/);
    });

    it("measures the retention in the tenant's days", () => {
      expect(validatePoints([at(NOW - 7 * DAY)], NOW, 7)).toHaveLength(1);
      const err = badInput(() => validatePoints([at(NOW - 7 * DAY - 1)], NOW, 7));
      expect(err.message).toMatch(/retention of 7 days/);
    });
  });

  describe("labels", () => {
    const labels32 = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`l${i}`, `v${i}`]));

    it("accepts up to 32 pairs, 100-character names and 1024-character values", () => {
      const [p] = validate([ok({ labels: { ...labels32 } })]);
      expect(Object.keys(p!.labels)).toHaveLength(32);
      const longName = "k".repeat(100);
      const [q] = validate([ok({ labels: { [longName]: "v".repeat(1024), _x: "", A_9: "y" } })]);
      expect(q!.labels[longName]).toHaveLength(1024);
      expect(q!.labels._x).toBe("");
    });

    it("treats null and missing labels as none", () => {
      expect(validate([ok({ labels: null }), ok({ labels: undefined }), ok({ labels: {} })]).map((p) => p.key)).toEqual([
        "system.cpu.usage{}",
        "system.cpu.usage{}",
        "system.cpu.usage{}",
      ]);
    });

    it("rejects 33 pairs on points[i].labels", () => {
      const err = failAt3({ labels: { ...labels32, l32: "x" } });
      expect(err.field).toBe("points[3].labels");
      expect(err.message).toMatch(/at most 32 labels are allowed, got 33/);
    });

    it("rejects a value of 1025 characters on points[i].labels.<name>", () => {
      const err = failAt3({ labels: { host: "v".repeat(1025) } });
      expect(err.field).toBe("points[3].labels.host");
      expect(err.message).toMatch(/at most 1024 characters/);
    });

    it.each([
      ["a number", 1],
      ["a boolean", true],
      ["null", null],
      ["a nested object", { a: "b" }],
      ["an array", ["a"]],
    ])("rejects %s as a value on points[i].labels.<name>", (_what, value) => {
      const err = failAt3({ labels: { dc: "eu", host: value } });
      expect(err.field).toBe("points[3].labels.host");
      expect(err.message).toMatch(/label values must be strings/);
    });

    it.each([
      ["host-name", /must match \[a-zA-Z_\]\[a-zA-Z0-9_\]\*/],
      ["host.name", /must match/],
      ["9host", /must match/],
      ["", /must match/],
      ["hôst", /must match/],
    ])("rejects the label name %j on points[i].labels.<name>", (name, message) => {
      const err = failAt3({ labels: { [name]: "x" } });
      expect(err.field).toBe(`points[3].labels.${name}`);
      expect(err.message).toMatch(message);
    });

    it("rejects a 101-character label name, naming at most its first 100 characters", () => {
      const name = "k".repeat(101);
      const err = failAt3({ labels: { [name]: "x" } });
      expect(err.field).toBe(`points[3].labels.${"k".repeat(100)}`);
      expect(err.message).toMatch(/label names must be at most 100 characters/);
    });

    it.each([
      ["a string", "host=a"],
      ["an array", ["host", "a"]],
      ["a number", 7],
    ])("rejects %s instead of an object", (_what, labels) => {
      const err = failAt3({ labels: labels as unknown as Record<string, unknown> });
      expect(err.field).toBe("points[3].labels");
      expect(err.message).toMatch(/must be an object of string values/);
    });
  });

  it("reports the first problem of a point in order: name, value, timestamp, labels", () => {
    const bad: PointInput = { name: "", value: Number.NaN, timestamp: new Date(NOW + DAY), labels: { "x-y": "z" } };
    expect(badInput(() => validate([bad])).field).toBe("points[0].name");
    expect(badInput(() => validate([{ ...bad, name: "m" }])).field).toBe("points[0].value");
    expect(badInput(() => validate([{ ...bad, name: "m", value: 1 }])).field).toBe("points[0].timestamp");
    expect(badInput(() => validate([{ ...bad, name: "m", value: 1, timestamp: null }])).field).toBe("points[0].labels.x-y");
  });
});

describe("canonicalSeries", () => {
  it("is independent of label order", () => {
    const a = canonicalSeries("m", { b: "2", a: "1", c: "3" }, "labels");
    const b = canonicalSeries("m", { c: "3", a: "1", b: "2" }, "labels");
    expect(a.key).toBe('m{a="1",b="2",c="3"}');
    expect(b.key).toBe(a.key);
    expect(Object.keys(b.labels)).toEqual(["a", "b", "c"]);
  });

  it("names label problems after the field it is given", () => {
    expect(badInput(() => canonicalSeries("m", { host: 1 }, "input.labels")).field).toBe("input.labels.host");
  });

  it("quotes values so that `,` `\"` `=` and `\\` cannot make different label sets collide", () => {
    // Each pair collides under a naive `k=v` or `k="v"` joining; every key must still differ.
    const sets: Array<Record<string, string>> = [
      { a: "1", b: "2" },
      { a: "1,b=2" }, // a=1,b=2 unquoted
      { a: "x", b: "y" },
      { a: 'x",b="y' }, // a="x",b="y" quoted without escaping
      { a: "", b: "" },
      { a: '",b="' }, // a="",b="" quoted without escaping
      { a: '"' },
      { a: '\\"' },
      { a: "\\", b: "" },
      { a: '\\",b="' },
      { a: "=" },
    ];
    const keys = sets.map((s) => canonicalSeries("m", s, "labels").key);
    expect(new Set(keys).size).toBe(sets.length);
    expect(keys[0]).not.toBe(keys[1]);
    expect(keys[2]).not.toBe(keys[3]);
    expect(keys[4]).not.toBe(keys[5]);
  });

  it("maps different label sets to different keys (random sets over a hostile alphabet)", () => {
    const r = rng(0x5eed);
    const rand = (n: number) => r.int(0, n - 1);
    const chars = ["a", ",", '"', "=", "\\", "{", "}", " ", "b"];
    const seen = new Map<string, string>();
    for (let i = 0; i < 5_000; i++) {
      const labels: Record<string, string> = {};
      for (const k of ["a", "b", "c"]) {
        if (rand(2)) labels[k] = Array.from({ length: rand(4) }, () => chars[rand(chars.length)]).join("");
      }
      // identity of the label set, by a different route than the code under test
      const identity = JSON.stringify(Object.entries(labels).sort(([x], [y]) => (x < y ? -1 : 1)));
      const { key } = canonicalSeries("m", labels, "labels");
      const before = seen.get(key);
      if (before !== undefined) expect(before).toBe(identity);
      seen.set(key, identity);
    }
    expect(seen.size).toBeGreaterThan(1_000);
  });

  // Regression: JSON.parse of GraphQL variables gives `__proto__` as an own key; it passes
  // the name rule and enters the key, but assigning it to a plain object is a prototype write, so the
  // series is keyed with a label that its stored labels do not have.
  it("keeps a label named __proto__ consistently, or rejects it", () => {
    const labels = JSON.parse('{"__proto__":"x"}') as Record<string, unknown>;
    const outcome = (() => {
      try {
        const r = canonicalSeries("m", labels, "labels");
        return { key: r.key, names: Object.keys(r.labels) };
      } catch (err) {
        return { rejected: err instanceof BadUserInputError && err.field === "labels.__proto__" };
      }
    })();
    expect([{ rejected: true }, { key: 'm{__proto__="x"}', names: ["__proto__"] }]).toContainEqual(outcome);
  });

  // Regression: `__name__` passes the label-name rule, and groupBy: null then shows the
  // label instead of the metric name, so cpu{__name__="mem"} and mem{} land in one group.
  // Prometheus reserves names starting with `__`.
  it("rejects the reserved label name __name__", () => {
    const err = badInput(() => canonicalSeries("cpu", { __name__: "mem" }, "labels"));
    expect(err.field).toBe("labels.__name__");
  });
});
