import type { Severity } from "../rules/types";

/** The notification domain's vocabulary, shared by the outbox, the transports and the GraphQL enums. */

export enum ChannelKind {
  WEBHOOK = "WEBHOOK",
  SLACK = "SLACK",
  ALERTMANAGER = "ALERTMANAGER",
}

export enum DeliveryStatus {
  PENDING = "PENDING",
  DELIVERED = "DELIVERED",
  FAILED = "FAILED",
}

/** Why a delivery exists: an alert transition, a re-send of a firing alert, or testChannel. */
export enum DeliveryReason {
  FIRING = "FIRING",
  RESOLVED = "RESOLVED",
  REPEAT = "REPEAT",
  TEST = "TEST",
}

/**
 * What the alert evaluator hands to `Notifier.enqueue` for each transition it writes: the alert as
 * it is at that transition (a RESOLVED notice carries the value at resolution).
 */
export interface AlertNotice {
  alertId: string;
  ruleId: string;
  ruleName: string;
  fingerprint: string;
  state: "FIRING" | "RESOLVED";
  severity: "INFO" | "WARNING" | "ERROR" | "CRITICAL";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number | null;
  /** when it started firing */
  startsAt: Date;
  /** resolution time for RESOLVED */
  endsAt: Date | null;
  silenced: boolean;
}

/** A channel as the domain hands it out. The secret never leaves the domain: only `hasSecret`. */
export interface ChannelRecord {
  tenantId: string;
  id: string;
  name: string;
  kind: ChannelKind;
  url: string;
  hasSecret: boolean;
  minSeverity: Severity;
  sendResolved: boolean;
  repeatIntervalSeconds: number;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** One outbox row with its channel. `alertId` is for the alerts domain's `Delivery.alert` resolver. */
export interface DeliveryRecord {
  tenantId: string;
  id: string;
  channel: ChannelRecord;
  alertId: string | null;
  reason: DeliveryReason;
  idempotencyKey: string;
  status: DeliveryStatus;
  attempts: number;
  responseCode: number | null;
  error: string | null;
  createdAt: Date;
  lastAttemptAt: Date | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
}
