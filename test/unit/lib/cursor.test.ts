import { decodeCursor, encodeCursor, pageSize } from "../../../src/lib/cursor";

describe("cursors and page sizes", () => {
  it("round-trips a sequence number and rejects anything else", () => {
    expect(decodeCursor(encodeCursor("12345"))).toBe("12345");
    for (const bad of ["", "abc", Buffer.from("s:-1").toString("base64url"), Buffer.from("s:1 OR 1=1").toString("base64url")]) {
      expect(() => decodeCursor(bad)).toThrow(expect.objectContaining({ code: "BAD_USER_INPUT" }));
    }
  });

  it("defaults to 50 and bounds page sizes to 1..500", () => {
    expect(pageSize(undefined)).toBe(50);
    expect(pageSize(null)).toBe(50);
    expect(pageSize(500)).toBe(500);
    expect(() => pageSize(0)).toThrow(/first: must be from 1 to 500/);
    expect(() => pageSize(501)).toThrow(/first/);
  });
});
