import { ChannelKind } from "../types";
import { alertLabels, generatorUrl, isResolved, jsonHeaders, resolvedAt } from "./common";
import type { PayloadContext, Transport } from "./types";

/** A firing alert stays active in Alertmanager for this many repeat intervals without a re-send. */
export const FIRING_LEASE_INTERVALS = 4;

/**
 * Alertmanager 0.25 rejects the whole POST (400 "invalid label set") for a name outside
 * [a-zA-Z_][a-zA-Z0-9_]*; Prometheus treats an empty value as an absent label. Names are mapped the
 * way Prometheus's relabelling would (`_` for other characters), empty values dropped.
 */
export function promLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) {
    if (value === "") continue;
    let safe = name.replace(/[^a-zA-Z0-9_]/g, "_");
    if (!/^[a-zA-Z_]/.test(safe)) safe = `_${safe}`;
    out[safe] = value;
  }
  return out;
}

/**
 * The body of `POST /api/v2/alerts`: one postable alert.
 * - FIRING (and REPEAT): endsAt = now + 4 × the channel's repeat interval, as Prometheus sends
 *   now + 4 × its resend delay. Each re-send moves it on; if Vigil stops sending, Alertmanager
 *   resolves the alert by itself then, instead of after its resolve_timeout (5 m by default),
 *   which would otherwise close an alert Vigil re-sends less often than that.
 * - RESOLVED: endsAt = the resolution time (≤ now), which resolves it at once.
 */
export function alertmanagerPayload(ctx: PayloadContext): unknown {
  const resolved = isResolved(ctx);
  const endsAt = resolved ? resolvedAt(ctx) : new Date(ctx.now.getTime() + FIRING_LEASE_INTERVALS * ctx.repeatIntervalSeconds * 1000);
  return [
    {
      labels: promLabels(alertLabels(ctx)),
      annotations: promLabels(ctx.notice.annotations),
      startsAt: ctx.notice.startsAt.toISOString(),
      endsAt: endsAt.toISOString(),
      generatorURL: generatorUrl(ctx),
    },
  ];
}

/** The channel's URL is Alertmanager's base URL (http://alertmanager:9093, or with a path prefix). */
export function alertsEndpoint(baseUrl: string): string {
  const u = new URL(baseUrl);
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/api/v2/alerts`;
  return u.href;
}

export const alertmanagerTransport: Transport = {
  kind: ChannelKind.ALERTMANAGER,
  payload: alertmanagerPayload,
  request(channel, payload) {
    return { url: alertsEndpoint(channel.url), headers: jsonHeaders(), body: JSON.stringify(payload) };
  },
};
