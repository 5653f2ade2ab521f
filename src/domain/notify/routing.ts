import { createHash } from "node:crypto";
import { SEVERITY_RANK, type Severity } from "../rules/types";
import type { AlertNotice, DeliveryReason } from "./types";

/** What routing needs to know of a channel. */
export interface RouteTarget {
  enabled: boolean;
  minSeverity: Severity;
  sendResolved: boolean;
}

/**
 * Whether a notice goes to one of its rule's channels: not silenced, the channel enabled, the
 * alert's severity at least the channel's minSeverity, and a RESOLVED notice only where
 * sendResolved is on.
 */
export function routes(notice: Pick<AlertNotice, "silenced" | "severity" | "state">, channel: RouteTarget): boolean {
  if (notice.silenced || !channel.enabled) return false;
  if (SEVERITY_RANK[notice.severity as Severity] < SEVERITY_RANK[channel.minSeverity]) return false;
  return notice.state !== "RESOLVED" || channel.sendResolved;
}

/**
 * The Idempotency-Key of a delivery, the same on every attempt. A transition's key is derived from
 * (alert, transition, channel), so the same transition enqueued twice carries one key and a
 * receiver that deduplicates drops the second; a repeat's key adds its time, a test's is its id.
 */
export function idempotencyKey(parts: { alertId: string; reason: DeliveryReason; channelId: string; at?: Date }): string {
  const text = [parts.alertId, parts.reason, parts.channelId, parts.at?.toISOString() ?? ""].join("/");
  return `vigil-${createHash("sha256").update(text).digest("hex").slice(0, 40)}`;
}
