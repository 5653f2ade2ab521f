import { BadUserInputError } from "../errors";

/** Opaque pagination cursors: base64url of a bigint sequence number. */
export function encodeCursor(seq: string): string {
  return Buffer.from(`s:${seq}`).toString("base64url");
}

export function decodeCursor(cursor: string, field = "after"): string {
  const raw = Buffer.from(cursor, "base64url").toString();
  const m = /^s:(\d{1,19})$/.exec(raw);
  if (!m) throw new BadUserInputError(field, "not a cursor returned by this API");
  return m[1]!;
}

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

export function pageSize(first: number | null | undefined, field = "first"): number {
  if (first === null || first === undefined) return DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
    throw new BadUserInputError(field, `must be from 1 to ${MAX_PAGE}`);
  }
  return first;
}
