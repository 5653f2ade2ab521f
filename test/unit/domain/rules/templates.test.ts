import { BadUserInputError } from "../../../../src/errors";
import { compileTemplate, render, validateRuleTemplates } from "../../../../src/domain/rules/engine";
import { formatG, humanize, humanizeDuration } from "../../../../src/domain/rules/engine/go-format";

const labels = { host: "web-1", env: "prod" };
const r = (text: string, value: number | null = 95.123) => render(compileTemplate(text, "annotations.s"), { value, labels });

describe("templates", () => {
  it.each([
    ["cpu {{ $value }} on {{ $labels.host }}", "cpu 95.123 on web-1"],
    ["{{ $value | printf \"%.1f\" }}", "95.1"],
    ['{{ printf "%.2f%%" $value }}', "95.12%"],
    ["{{ humanize $value }}", "95.12"],
    ['{{ index $labels "env" }}', "prod"],
    ["{{ .Labels.host }} {{ .Value }}", "web-1 95.123"],
    ["[{{ $labels.missing }}]", "[]"],
    ["a  {{- $labels.host -}}  b", "aweb-1b"],
    ["{{/* note */}}x", "x"],
    ["{{ toUpper $labels.env }}", "PROD"],
    ['{{ printf "%s is %5.1f|%-6d|" $labels.host $value 7 }}', "web-1 is  95.1|7     |"],
    ["{{ $labels }}", "map[env:prod host:web-1]"],
    ['{{ humanize (printf "%.0f" $value) }}', "95"],
  ])("%s → %s", (text, want) => {
    expect(r(text)).toBe(want);
  });

  it("formats numbers as Go and Prometheus do (checked against promtool 2.42)", () => {
    expect(r("{{ $value }}", 1234567)).toBe("1.234567e+06");
    expect(r("{{ humanize $value }}", 1234567)).toBe("1.235M");
    expect(r("{{ humanizeDuration $value }}", 1234567)).toBe("14d 6h 56m 7s");
    expect(r("{{ humanizePercentage $value }}", 1234567)).toBe("1.235e+08%");
    expect(r('{{ printf "%g %e %5.1f" $value $value $value }}', 1234567)).toBe("1.234567e+06 1.234567e+06 1234567.0");
    expect(formatG(100000)).toBe("100000");
    expect(formatG(0.0001)).toBe("0.0001");
    expect(formatG(0.00001)).toBe("1e-05");
    expect(formatG(123.4, 4)).toBe("123.4");
    expect(formatG(123, 2)).toBe("1.2e+02");
    expect(humanize(0.0123)).toBe("12.3m");
    expect(humanize(0)).toBe("0");
    expect(humanizeDuration(0.25)).toBe("250ms");
    expect(humanizeDuration(90)).toBe("1m 30s");
    expect(r("{{ $value }}", null)).toBe("NaN");
    expect(r("{{ $value }}", Infinity)).toBe("+Inf");
  });

  it("renders run-time problems as Prometheus does instead of throwing", () => {
    expect(r("{{ humanize $labels.host }}")).toMatch(/^<error expanding template: humanize: cannot convert "web-1"/);
  });

  it.each([
    ["{{ $foo }}", /unknown variable \$foo/],
    ["{{ $value", /unclosed action/],
    ["{{ }}", /empty action/],
    ["{{ nope $value }}", /unknown function "nope"/],
    ["{{ humanize }}", /humanize takes 1 argument, got 0/],
    ['{{ printf "%.2f %s" $value }}', /has 2 verb\(s\) for 1 value/],
    ['{{ printf "%y" $value }}', /unsupported verb "%y"/],
    ["{{ $value $value }}", /is not a function/],
    ['{{ $value | "x" }}', /pipeline stage must be a function/],
    ['{{ printf "unterminated }}', /unterminated string/],
    ["{{ $labels.a.b }}", /cannot read \$labels\.a\.b/],
  ])("rejects %s", (text, message) => {
    expect(() => compileTemplate(text, "input.annotations.summary")).toThrow(message);
    expect(() => compileTemplate(text, "input.annotations.summary")).toThrow(/^input\.annotations\.summary: invalid template/);
  });

  it("validateRuleTemplates throws BadUserInputError naming the annotation", () => {
    expect(() => validateRuleTemplates({ ok: "{{ $value }}", summary: "{{ $nope }}" }, "input.annotations")).toThrow(BadUserInputError);
    try {
      validateRuleTemplates({ summary: "{{ $nope }}" }, "input.annotations");
    } catch (err) {
      expect((err as BadUserInputError).field).toBe("input.annotations.summary");
      expect((err as BadUserInputError).message).toMatch(/^input\.annotations\.summary: invalid template: unknown variable \$nope/);
    }
  });
});
