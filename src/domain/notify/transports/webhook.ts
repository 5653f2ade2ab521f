import { createHmac } from "node:crypto";
import { ChannelKind } from "../types";
import { ZERO_TIME, alertLabels, generatorUrl, isResolved, jsonHeaders, resolvedAt } from "./common";
import type { PayloadContext, Transport } from "./types";

export const SIGNATURE_HEADER = "X-Vigil-Signature";

/** `sha256=<hex HMAC-SHA256(secret, body)>`, over the exact bytes sent. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

/** Alertmanager's webhook body (version "4"), one alert per delivery. */
export interface WebhookMessage {
  receiver: string;
  status: "firing" | "resolved";
  alerts: Array<{
    status: "firing" | "resolved";
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }>;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  version: "4";
  groupKey: string;
  truncatedAlerts: number;
}

export function webhookPayload(ctx: PayloadContext): WebhookMessage {
  const status = isResolved(ctx) ? "resolved" : "firing";
  const labels = alertLabels(ctx);
  const annotations = { ...ctx.notice.annotations };
  return {
    receiver: ctx.channelName,
    status,
    alerts: [
      {
        status,
        labels,
        annotations,
        startsAt: ctx.notice.startsAt.toISOString(),
        endsAt: status === "resolved" ? resolvedAt(ctx).toISOString() : ZERO_TIME,
        generatorURL: generatorUrl(ctx),
        fingerprint: ctx.notice.fingerprint,
      },
    ],
    groupLabels: { alertname: labels.alertname! },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: ctx.publicUrl,
    version: "4",
    groupKey: `{}/{rule_id=${JSON.stringify(ctx.notice.ruleId)}}:{alertname=${JSON.stringify(labels.alertname)}}`,
    truncatedAlerts: 0,
  };
}

export const webhookTransport: Transport = {
  kind: ChannelKind.WEBHOOK,
  payload: webhookPayload,
  request(channel, payload) {
    const body = JSON.stringify(payload);
    const headers = jsonHeaders();
    if (channel.secret) headers[SIGNATURE_HEADER] = signature(channel.secret, body);
    return { url: channel.url, headers, body };
  },
};
