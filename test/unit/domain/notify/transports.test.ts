import { createHmac } from "node:crypto";
import { ChannelKind } from "../../../../src/domain/notify";
import { TRANSPORTS, type PayloadContext, ZERO_TIME, alertsEndpoint, promLabels, signature, slackEscape } from "../../../../src/domain/notify/transports";

const firedAt = new Date("2026-03-01T10:00:00.000Z");
const now = new Date("2026-03-01T10:05:00.000Z");

function ctx(overrides: Partial<PayloadContext["notice"]> = {}, repeatIntervalSeconds = 300): PayloadContext {
  return {
    notice: {
      alertId: "a1",
      ruleId: "r1",
      ruleName: "HighCPU",
      fingerprint: "f00d",
      state: "FIRING",
      severity: "WARNING",
      labels: { alertname: "HighCPU", host: "web-1" },
      annotations: { summary: "CPU at 93%", description: "for 5 minutes" },
      value: 93,
      startsAt: firedAt,
      endsAt: null,
      ...overrides,
    },
    channelName: "ops",
    repeatIntervalSeconds,
    publicUrl: "https://vigil.example.com",
    now,
  };
}

describe("WEBHOOK (Alertmanager webhook v4)", () => {
  const t = TRANSPORTS[ChannelKind.WEBHOOK];

  it("builds a firing message", () => {
    expect(t.payload(ctx())).toEqual({
      receiver: "ops",
      status: "firing",
      alerts: [
        {
          status: "firing",
          labels: { alertname: "HighCPU", host: "web-1", severity: "warning" },
          annotations: { summary: "CPU at 93%", description: "for 5 minutes" },
          startsAt: "2026-03-01T10:00:00.000Z",
          endsAt: ZERO_TIME,
          generatorURL: "https://vigil.example.com/graphql?rule=r1&alert=a1",
          fingerprint: "f00d",
        },
      ],
      groupLabels: { alertname: "HighCPU" },
      commonLabels: { alertname: "HighCPU", host: "web-1", severity: "warning" },
      commonAnnotations: { summary: "CPU at 93%", description: "for 5 minutes" },
      externalURL: "https://vigil.example.com",
      version: "4",
      groupKey: '{}/{rule_id="r1"}:{alertname="HighCPU"}',
      truncatedAlerts: 0,
    });
  });

  it("builds a resolved message with the resolution time, and keeps the evaluator's own severity label", () => {
    const resolvedAt = new Date("2026-03-01T10:04:00.000Z");
    const body = t.payload(ctx({ state: "RESOLVED", endsAt: resolvedAt, labels: { severity: "page" } })) as { status: string; alerts: Array<Record<string, unknown>> };
    expect(body.status).toBe("resolved");
    expect(body.alerts[0]).toMatchObject({ status: "resolved", endsAt: "2026-03-01T10:04:00.000Z", labels: { alertname: "HighCPU", severity: "page" } });
  });

  it("signs the exact body with HMAC-SHA256 when a secret is set", () => {
    const payload = t.payload(ctx());
    const signed = t.request({ url: "https://h.example/x", secret: "k3y" }, payload);
    expect(signed.body).toBe(JSON.stringify(payload));
    expect(signed.headers["X-Vigil-Signature"]).toBe(`sha256=${createHmac("sha256", "k3y").update(signed.body).digest("hex")}`);
    expect(signature("key", "The quick brown fox jumps over the lazy dog")).toBe("sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    expect(t.request({ url: "https://h.example/x", secret: null }, payload).headers).not.toHaveProperty("X-Vigil-Signature");
  });
});

describe("SLACK", () => {
  const t = TRANSPORTS[ChannelKind.SLACK];
  it("escapes mrkdwn and colours by state and severity", () => {
    const firing = t.payload(ctx({ annotations: { summary: "<b> & co" }, severity: "CRITICAL" })) as { text: string; attachments: Array<Record<string, unknown>> };
    expect(firing.text).toBe("[FIRING] HighCPU (CRITICAL): &lt;b&gt; &amp; co");
    expect(firing.attachments[0]).toMatchObject({ color: "#e01e5a", title_link: "https://vigil.example.com/graphql?rule=r1&alert=a1", ts: firedAt.getTime() / 1000 });
    expect((t.payload(ctx()) as { attachments: Array<{ color: string }> }).attachments[0]!.color).toBe("#ecb22e");
    const resolved = t.payload(ctx({ state: "RESOLVED", endsAt: now, value: null })) as { text: string; attachments: Array<{ color: string; fields: unknown[] }> };
    expect(resolved.text.startsWith("[RESOLVED] HighCPU")).toBe(true);
    expect(resolved.attachments[0]!.color).toBe("#2eb67d");
    expect(resolved.attachments[0]!.fields).toContainEqual({ title: "Value", value: "n/a", short: true });
    expect(slackEscape("a<b>&c")).toBe("a&lt;b&gt;&amp;c");
  });
});

describe("ALERTMANAGER", () => {
  const t = TRANSPORTS[ChannelKind.ALERTMANAGER];
  it("keeps a firing alert for 4 repeat intervals and resolves with the resolution time", () => {
    expect(t.payload(ctx({}, 60))).toEqual([
      {
        labels: { alertname: "HighCPU", host: "web-1", severity: "warning" },
        annotations: { summary: "CPU at 93%", description: "for 5 minutes" },
        startsAt: "2026-03-01T10:00:00.000Z",
        endsAt: "2026-03-01T10:09:00.000Z",
        generatorURL: "https://vigil.example.com/graphql?rule=r1&alert=a1",
      },
    ]);
    const resolved = t.payload(ctx({ state: "RESOLVED", endsAt: new Date("2026-03-01T10:04:00Z") })) as Array<{ endsAt: string }>;
    expect(resolved[0]!.endsAt).toBe("2026-03-01T10:04:00.000Z");
  });

  it("posts to <base>/api/v2/alerts and maps label names Alertmanager refuses", () => {
    expect(alertsEndpoint("http://am:9093")).toBe("http://am:9093/api/v2/alerts");
    expect(alertsEndpoint("http://am:9093/")).toBe("http://am:9093/api/v2/alerts");
    expect(alertsEndpoint("https://gw.example/alertmanager/?x=1")).toBe("https://gw.example/alertmanager/api/v2/alerts?x=1");
    expect(promLabels({ "team-name": "sre", "1st": "a", "a.b": "c", empty: "", ok_1: "v" })).toEqual({ team_name: "sre", _1st: "a", a_b: "c", ok_1: "v" });
    expect(t.request({ url: "http://am:9093", secret: null }, []).url).toBe("http://am:9093/api/v2/alerts");
  });
});
