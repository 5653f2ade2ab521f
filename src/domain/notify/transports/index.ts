import { ChannelKind } from "../types";
import { alertmanagerTransport } from "./alertmanager";
import { slackTransport } from "./slack";
import type { Transport } from "./types";
import { webhookTransport } from "./webhook";

/** One transport per channel kind; adding a kind means adding a file and a line here. */
export const TRANSPORTS: Readonly<Record<ChannelKind, Transport>> = {
  [ChannelKind.WEBHOOK]: webhookTransport,
  [ChannelKind.SLACK]: slackTransport,
  [ChannelKind.ALERTMANAGER]: alertmanagerTransport,
};

export { FIRING_LEASE_INTERVALS, alertmanagerPayload, alertsEndpoint, promLabels } from "./alertmanager";
export { ZERO_TIME } from "./common";
export { slackEscape, slackPayload } from "./slack";
export type { OutgoingRequest, PayloadContext, Transport } from "./types";
export { SIGNATURE_HEADER, type WebhookMessage, signature, webhookPayload } from "./webhook";
