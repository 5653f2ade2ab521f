import { BadUserInputError } from "../../errors";
import { Severity } from "../rules/types";
import { ChannelKind } from "./types";

/**
 * Input rules of the channel mutations, in plain code (the same rules serve in-process callers).
 * Every problem is BAD_USER_INPUT naming the argument path; nothing is written before they pass.
 */

export const CHANNEL_LIMITS = {
  nameLength: 100,
  urlLength: 2048,
  secretLength: 256,
  minRepeatSeconds: 60,
  maxRepeatSeconds: 7 * 86_400,
} as const;

/**
 * Repeat interval defaults: Alertmanager's repeat_interval (4 h) for messages people read; for an
 * Alertmanager, which deduplicates and runs its own repeat_interval, a re-send every 5 minutes
 * keeps the alert active there (see transports/alertmanager.ts on endsAt).
 */
export const DEFAULT_REPEAT_SECONDS: Readonly<Record<ChannelKind, number>> = {
  [ChannelKind.WEBHOOK]: 4 * 3_600,
  [ChannelKind.SLACK]: 4 * 3_600,
  [ChannelKind.ALERTMANAGER]: 300,
};

export interface ChannelInput {
  name: string;
  kind: ChannelKind;
  url: string;
  /** omitted or null: keep (none on create); "": clear */
  secret?: string | null;
  minSeverity?: Severity | null;
  sendResolved?: boolean | null;
  repeatIntervalSeconds?: number | null;
  enabled?: boolean | null;
}

/** The stored values a create or update writes. `secret`: undefined keeps the stored one. */
export interface ChannelValues {
  name: string;
  kind: ChannelKind;
  url: string;
  secret: string | null | undefined;
  minSeverity: Severity;
  sendResolved: boolean;
  repeatIntervalSeconds: number;
  enabled: boolean;
}

/** Absolute http(s) URL, no credentials (they would be shown and logged), at most 2048 characters. */
export function checkChannelUrl(field: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) throw new BadUserInputError(field, "must be an absolute http:// or https:// URL");
  if (value.length > CHANNEL_LIMITS.urlLength) throw new BadUserInputError(field, `must be at most ${CHANNEL_LIMITS.urlLength} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new BadUserInputError(field, "must be an absolute http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new BadUserInputError(field, `must use http or https, not ${url.protocol.replace(/:$/, "")}`);
  }
  if (url.username || url.password) throw new BadUserInputError(field, "must not carry credentials (user:password@)");
  if (url.hash) throw new BadUserInputError(field, "must not have a #fragment");
  return url.href;
}

function int(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new BadUserInputError(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function bool(field: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new BadUserInputError(field, "must be a boolean");
  return value;
}

/**
 * Checks an input against the stored channel (`current`, for updates) or the defaults (create).
 * Optional fields that are omitted or null keep their stored value; a secret only belongs to a
 * WEBHOOK channel, and turning a channel into another kind drops it.
 */
export function validateChannel(input: ChannelInput, current?: ChannelValues): ChannelValues {
  if (typeof input.name !== "string" || input.name.trim().length === 0 || input.name.length > CHANNEL_LIMITS.nameLength) {
    throw new BadUserInputError("input.name", `must be 1 to ${CHANNEL_LIMITS.nameLength} characters, not only spaces`);
  }
  if (!Object.values(ChannelKind).includes(input.kind)) throw new BadUserInputError("input.kind", "unknown channel kind");
  const url = checkChannelUrl("input.url", input.url);
  let secret: string | null | undefined;
  if (input.secret === undefined || input.secret === null) secret = current ? undefined : null;
  else if (typeof input.secret !== "string" || input.secret.length > CHANNEL_LIMITS.secretLength) {
    throw new BadUserInputError("input.secret", `must be at most ${CHANNEL_LIMITS.secretLength} characters`);
  } else secret = input.secret === "" ? null : input.secret;
  if (input.kind !== ChannelKind.WEBHOOK) {
    if (typeof secret === "string") throw new BadUserInputError("input.secret", "only WEBHOOK channels sign their payloads");
    secret = current?.kind === ChannelKind.WEBHOOK ? null : secret;
  }
  const minSeverity = input.minSeverity ?? current?.minSeverity ?? Severity.INFO;
  if (!Object.values(Severity).includes(minSeverity)) throw new BadUserInputError("input.minSeverity", "unknown severity");
  return {
    name: input.name,
    kind: input.kind,
    url,
    secret,
    minSeverity,
    sendResolved: input.sendResolved == null ? (current?.sendResolved ?? true) : bool("input.sendResolved", input.sendResolved),
    repeatIntervalSeconds:
      input.repeatIntervalSeconds == null
        ? (current?.repeatIntervalSeconds ?? DEFAULT_REPEAT_SECONDS[input.kind])
        : int("input.repeatIntervalSeconds", input.repeatIntervalSeconds, CHANNEL_LIMITS.minRepeatSeconds, CHANNEL_LIMITS.maxRepeatSeconds),
    enabled: input.enabled == null ? (current?.enabled ?? true) : bool("input.enabled", input.enabled),
  };
}
