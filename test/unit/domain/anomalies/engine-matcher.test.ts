import { selectorMatcher } from "../../../../src/domain/metrics/selector";
import { validateMonitorInput } from "../../../../src/domain/anomalies/validation";
import { MatchOp } from "../../../../src/domain/metrics";

/** The engine decides in memory which monitors watch a series: the same answers as the SQL selection. */
describe("selectorMatcher", () => {
  const cases: Array<[string, Parameters<typeof selectorMatcher>[0], string, Record<string, string>, boolean]> = [
    ["exact name", { name: "cpu" }, "cpu", {}, true],
    ["another name", { name: "cpu" }, "cpu2", {}, false],
    ["glob", { name: "system.cpu.*" }, "system.cpu.user", { host: "a" }, true],
    ["glob is anchored", { name: "cpu.*" }, "x.cpu.user", {}, false],
    ["glob dots are literal", { name: "a.b*" }, "axb", {}, false],
    ["match-all glob", { name: "*" }, "anything", {}, true],
    ["EQ", { name: "cpu", matchers: [{ label: "host", value: "a" }] }, "cpu", { host: "a" }, true],
    ["EQ mismatch", { name: "cpu", matchers: [{ label: "host", value: "a" }] }, "cpu", { host: "b" }, false],
    ["EQ on a missing label", { name: "cpu", matchers: [{ label: "host", value: "a" }] }, "cpu", {}, false],
    ["EQ on a prototype name", { name: "cpu", matchers: [{ label: "constructor", value: "a" }] }, "cpu", {}, false],
    ["EQ empty = absent", { name: "cpu", matchers: [{ label: "zone", value: "" }] }, "cpu", { host: "a" }, true],
    ["NEQ", { name: "cpu", matchers: [{ label: "host", op: MatchOp.NEQ, value: "a" }] }, "cpu", { host: "b" }, true],
    ["REGEX is anchored", { name: "cpu", matchers: [{ label: "host", op: MatchOp.REGEX, value: "web" }] }, "cpu", { host: "web-1" }, false],
    ["REGEX", { name: "cpu", matchers: [{ label: "host", op: MatchOp.REGEX, value: "web-\\d+" }] }, "cpu", { host: "web-1" }, true],
    ["NOT_REGEX", { name: "cpu", matchers: [{ label: "host", op: MatchOp.NOT_REGEX, value: "web-.*" }] }, "cpu", { host: "db-1" }, true],
    ["__name__ matcher", { name: "*", matchers: [{ label: "__name__", op: MatchOp.REGEX, value: "cpu|mem" }] }, "mem", {}, true],
  ];
  it.each(cases)("%s", (_what, selector, name, labels, expected) => {
    expect(selectorMatcher(selector)(name, labels)).toBe(expected);
  });
});

describe("validateMonitorInput", () => {
  it("fills in the defaults and normalises the selector", () => {
    expect(validateMonitorInput({ name: " m ", selector: { name: "cpu", matchers: [{ label: "host", value: "a" }] } }, 0.5)).toEqual({
      name: "m",
      selector: { name: "cpu", matchers: [{ label: "host", op: "EQ", value: "a" }] },
      algorithm: "AUTO",
      threshold: 0.5,
      direction: "BOTH",
      enabled: true,
    });
  });

  it.each([
    [{ threshold: 1.01 }, "input.threshold"],
    [{ threshold: Number.NaN }, "input.threshold"],
    [{ selector: { name: "" } }, "input.selector.name"],
    [{ algorithm: "PROPHET" }, "input.algorithm"],
    [{ direction: "SIDEWAYS" }, "input.direction"],
    [{ name: "" }, "input.name"],
  ])("rejects %j naming %s", (overrides, field) => {
    expect(() => validateMonitorInput({ name: "m", selector: { name: "cpu" }, ...(overrides as object) }, 0.5)).toThrow(expect.objectContaining({ field }));
  });
});
