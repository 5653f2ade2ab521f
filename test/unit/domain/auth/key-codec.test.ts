import { generateKey, hashKey, keyMatches, parseKey } from "../../../../src/domain/auth/key-codec";

describe("API key codec", () => {
  it("makes keys with 256 random bits, a findable prefix and a SHA-256 hash", () => {
    const a = generateKey("t");
    const b = generateKey("t");
    expect(a.token).toMatch(/^vgl_t_[0-9a-f]{12}_[0-9a-f]{64}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.token.slice(6, 18)).toBe(a.prefix);
    expect(a.hash).toEqual(hashKey(a.token));
    expect(a.hash).toHaveLength(32);
    expect(generateKey("a").token).toMatch(/^vgl_a_/);
  });

  it("parses only well-formed keys", () => {
    const { token, prefix } = generateKey("a");
    expect(parseKey(token)).toEqual({ kind: "a", prefix, token });
    for (const bad of ["", "vgl_x_000000000000_" + "0".repeat(64), token + "0", token.toUpperCase(), "Bearer " + token]) {
      expect(parseKey(bad)).toBeUndefined();
    }
  });

  it("matches only the exact key", () => {
    const { token, hash } = generateKey("t");
    expect(keyMatches(token, hash)).toBe(true);
    expect(keyMatches(token.slice(0, -1) + (token.endsWith("0") ? "1" : "0"), hash)).toBe(false);
    expect(keyMatches(token, Buffer.alloc(31))).toBe(false);
  });
});
