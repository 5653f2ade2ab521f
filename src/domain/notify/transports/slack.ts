import { ChannelKind } from "../types";
import { alertLabels, generatorUrl, isResolved, jsonHeaders, resolvedAt } from "./common";
import type { PayloadContext, Transport } from "./types";

const COLOURS = { RESOLVED: "#2eb67d", CRITICAL: "#e01e5a", ERROR: "#e01e5a", WARNING: "#ecb22e", INFO: "#36c5f0" } as const;

/** Slack's mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
export function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** An incoming-webhook message: a one-line `text` (also the notification's preview) and a coloured attachment. */
export function slackPayload(ctx: PayloadContext): unknown {
  const n = ctx.notice;
  const resolved = isResolved(ctx);
  const state = resolved ? "RESOLVED" : "FIRING";
  const labels = alertLabels(ctx);
  const { summary, description } = n.annotations;
  const body = [summary, description].filter((s): s is string => typeof s === "string" && s.length > 0).map(slackEscape).join("\n");
  const labelText = Object.entries(labels)
    .map(([k, v]) => `\`${slackEscape(k)}=${slackEscape(v)}\``)
    .join(" ");
  return {
    text: `[${state}] ${slackEscape(n.ruleName)} (${n.severity})${summary ? `: ${slackEscape(summary)}` : ""}`,
    attachments: [
      {
        color: resolved ? COLOURS.RESOLVED : COLOURS[n.severity],
        title: `[${state}] ${slackEscape(n.ruleName)}`,
        title_link: generatorUrl(ctx),
        text: body,
        fields: [
          { title: "Severity", value: n.severity, short: true },
          { title: "Value", value: n.value === null ? "n/a" : String(n.value), short: true },
          { title: resolved ? "Resolved at" : "Firing since", value: (resolved ? resolvedAt(ctx) : n.startsAt).toISOString(), short: true },
          { title: "Labels", value: labelText, short: false },
        ],
        footer: "Vigil",
        ts: Math.floor((resolved ? resolvedAt(ctx) : n.startsAt).getTime() / 1000),
      },
    ],
  };
}

export const slackTransport: Transport = {
  kind: ChannelKind.SLACK,
  payload: slackPayload,
  request(channel, payload) {
    return { url: channel.url, headers: jsonHeaders(), body: JSON.stringify(payload) };
  },
};
