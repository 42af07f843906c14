import { describe, expect, test } from "bun:test";
import { authRequest, hexUid, parseAuthReply, takeLine } from "./auth.ts";

describe("SASL EXTERNAL", () => {
  test.each([
    [0, "30"],
    [1000, "31303030"],
    [4294967294, "34323934393637323934"],
  ])("uid %d is sent as %s", (uid, hex) => {
    expect(hexUid(uid)).toBe(hex);
  });

  test("the first bytes: NUL, then the AUTH line", () => {
    expect(new TextDecoder().decode(authRequest(1000))).toBe("\0AUTH EXTERNAL 31303030\r\n");
    expect(() => authRequest(-1)).toThrow(RangeError);
  });

  test("server replies", () => {
    expect(parseAuthReply("OK 1234deadbeef")).toEqual({ kind: "ok", guid: "1234deadbeef" });
    expect(parseAuthReply("REJECTED EXTERNAL DBUS_COOKIE_SHA1")).toEqual({ kind: "rejected", mechanisms: ["EXTERNAL", "DBUS_COOKIE_SHA1"] });
    expect(parseAuthReply("REJECTED")).toEqual({ kind: "rejected", mechanisms: [] });
    expect(parseAuthReply("ERROR \"bad\"")).toEqual({ kind: "error", text: "\"bad\"" });
    expect(parseAuthReply("DATA")).toEqual({ kind: "other", line: "DATA" });
  });

  test("lines split anywhere, and the bytes after one are kept", () => {
    const enc = new TextEncoder();
    expect(takeLine(enc.encode("OK abc\r"))).toBeUndefined();
    const got = takeLine(enc.encode("OK abc\r\nlB"));
    expect(got?.line).toBe("OK abc");
    expect(new TextDecoder().decode(got?.rest)).toBe("lB");
    expect(() => takeLine(new Uint8Array(20000).fill(0x41))).toThrow(/longer than/);
  });
});
