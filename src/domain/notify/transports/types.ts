import type { AlertNotice, ChannelKind } from "../types";

/** What a payload is built from: the notice (state, labels, times) and where it goes. */
export interface PayloadContext {
  notice: Omit<AlertNotice, "silenced">;
  channelName: string;
  repeatIntervalSeconds: number;
  /** Vigil's external base URL, without a trailing slash (config PUBLIC_URL) */
  publicUrl: string;
  /** when the outbox row is written */
  now: Date;
}

/** One HTTP attempt: where to POST the stored payload, and with which headers. */
export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * One channel kind. `payload` runs when the outbox row is written (inside the state change's
 * transaction), `request` at each attempt with the channel's current URL and secret, so fixing a
 * channel's URL lets its pending deliveries through.
 */
export interface Transport {
  readonly kind: ChannelKind;
  payload(ctx: PayloadContext): unknown;
  request(channel: { url: string; secret: string | null }, payload: unknown): OutgoingRequest;
}
