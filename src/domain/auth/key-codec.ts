import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * API keys look like `vgl_t_<prefix>_<secret>`: kind (t tenant, a platform admin), a 12-hex-digit
 * prefix that finds the stored row, and 256 random bits. Only SHA-256 of the whole key is stored:
 * the key has enough entropy that a slow password hash would add cost and no safety.
 */
export type KeyKind = "t" | "a";

export interface ParsedKey {
  kind: KeyKind;
  prefix: string;
  token: string;
}

const KEY_RE = /^vgl_([ta])_([0-9a-f]{12})_([0-9a-f]{64})$/;

export function generateKey(kind: KeyKind): { token: string; prefix: string; hash: Buffer } {
  const prefix = randomBytes(6).toString("hex");
  const token = `vgl_${kind}_${prefix}_${randomBytes(32).toString("hex")}`;
  return { token, prefix, hash: hashKey(token) };
}

export function parseKey(token: string): ParsedKey | undefined {
  const m = KEY_RE.exec(token);
  return m ? { kind: m[1] as KeyKind, prefix: m[2]!, token } : undefined;
}

export function hashKey(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/** Constant-time comparison of a presented key with a stored hash. */
export function keyMatches(token: string, storedHash: Buffer): boolean {
  const presented = hashKey(token);
  return storedHash.length === presented.length && timingSafeEqual(presented, storedHash);
}

/** The displayable prefix of a key, e.g. `vgl_t_3f9a1c0b2d4e`. */
export function displayPrefix(kind: KeyKind, prefix: string): string {
  return `vgl_${kind}_${prefix}`;
}
