import { describe, expect, test } from "bun:test";
import { DBusProtocolError } from "./errors.ts";
import { marshal, unmarshal, Variant, type DBusValue } from "./marshal.ts";
import { parseSignature } from "./signature.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));

describe("signatures", () => {
  test("complete types", () => {
    expect(parseSignature("ssa(sv)a(sa(sv))").map((t) => t.sig)).toEqual(["s", "s", "a(sv)", "a(sa(sv))"]);
    expect(parseSignature("a{oa{sa{sv}}}").map((t) => t.sig)).toEqual(["a{oa{sa{sv}}}"]);
    expect(parseSignature("")).toEqual([]);
  });

  test.each([
    ["a", /ends inside a container/],
    ["(", /ends inside a container|unclosed/],
    ["()", /empty struct/],
    ["a{vs}", /key must be a basic type/],
    ["a{sss}", /exactly two types/],
    ["{ss}", /unexpected/],
    ["z", /unexpected/],
    ["a".repeat(33) + "y", /nests arrays deeper than 32/],
    ["(".repeat(33) + "y" + ")".repeat(33), /nests structs deeper than 32/],
    ["y".repeat(256), /longer than 255/],
  ])("%s is refused", (sig, why) => {
    expect(() => parseSignature(sig)).toThrow(why);
  });

  test("32 levels of arrays and structs are allowed", () => {
    expect(() => parseSignature("a".repeat(32) + "y")).not.toThrow();
    expect(() => parseSignature("(".repeat(32) + "y" + ")".repeat(32))).not.toThrow();
  });
});

describe("alignment: a leading byte, then each type padded to its boundary", () => {
  test.each<[string, DBusValue, string]>([
    ["y", 0xab, "01 ab"],
    ["b", true, "01 000000 01000000"],
    ["n", -2, "01 00 feff"],
    ["q", 0xbeef, "01 00 efbe"],
    ["i", -1, "01 000000 ffffffff"],
    ["u", 0x01020304, "01 000000 04030201"],
    ["h", 3, "01 000000 03000000"],
    ["x", -2n, "01 00000000000000 feffffffffffffff"],
    ["t", 0x0102030405060708n, "01 00000000000000 0807060504030201"],
    ["d", 1.5, "01 00000000000000 000000000000f83f"],
    ["s", "hi", "01 000000 02000000 6869 00"],
    ["o", "/a", "01 000000 02000000 2f61 00"],
    ["g", "as", "01 02 6173 00"],
    ["v", new Variant("t", 7n), "01 017400 00000000 0700000000000000"],
    ["at", [], "01 000000 00000000"],
    ["at", [1n], "01 000000 08000000 0100000000000000"],
    ["ay", [1, 2, 3], "01 000000 03000000 010203"],
    ["(yy)", [1, 2], "01 00000000000000 0102"],
  ])("y then %s", (sig, value, expected) => {
    const out = marshal(`y${sig}`, [1, value]);
    expect(hex(out)).toBe(expected.replace(/\s+/g, ""));
    expect(unmarshal(`y${sig}`, out)).toEqual([1, value]);
  });

  test("a variant's value aligns to the message, not to the variant", () => {
    // y at 0, signature "t" at 1..3, pad 4..7, the uint64 at 8.
    expect(hex(marshal("yv", [1, new Variant("t", 7n)]))).toBe("01" + "017400" + "00000000" + "0700000000000000");
    // Same value one byte later: signature at 2..4, pad 5..7, value at 8.
    expect(hex(marshal("yyv", [1, 2, new Variant("t", 7n)]))).toBe("0102" + "017400" + "000000" + "0700000000000000");
  });

  test("an empty array still pads to its element alignment; the pad is not in its length", () => {
    // u32 length at 0, pad 4..7 to the struct boundary, no elements.
    expect(hex(marshal("a(sv)", [[]]))).toBe("00000000" + "00000000");
    expect(hex(marshal("a(sv)u", [[], 9]))).toBe("00000000" + "00000000" + "09000000");
  });

  test("array length counts the padding between elements but not after the last", () => {
    // at offset 0: len; elements (y,t) structs at 8 and 24: y + 7 pad + t = 16 each, last one has no trailing pad.
    const out = marshal("a(yt)", [[[1, 2n], [3, 4n]]]);
    expect(hex(out.subarray(0, 4))).toBe("20000000");
    expect(out.length).toBe(8 + 32);
    const odd = marshal("a(ty)", [[[2n, 1], [4n, 3]]]);
    // (t,y) = 9 bytes, 7 pad, 9 bytes: 25, not 32.
    expect(hex(odd.subarray(0, 4))).toBe("19000000");
  });

  test("every offset 0..8 before a uint64 and a struct", () => {
    for (let lead = 0; lead <= 8; lead++) {
      const sig = "y".repeat(lead) + "t(yu)";
      const vals: DBusValue[] = [...Array.from({ length: lead }, (_, i) => i), 0x1122334455667788n, [9, 10]];
      const out = marshal(sig, vals);
      const tAt = Math.ceil(lead / 8) * 8;
      expect(hex(out.subarray(tAt, tAt + 8))).toBe("8877665544332211");
      expect(out.length).toBe(tAt + 8 + 8);
      expect(unmarshal(sig, out)).toEqual(vals);
    }
  });
});

describe("round trips", () => {
  const cases: Array<[string, DBusValue[]]> = [
    ["a{sv}", [[["a", new Variant("s", "x")], ["b", new Variant("au", [1, 2])], ["c", new Variant("a{sv}", [["n", new Variant("b", false)]])]]]],
    ["a(sa(sv))", [[["x.service", [["Type", new Variant("s", "oneshot")]]]]]],
    ["aay", [[[1], [], [2, 3]]]],
    ["a{oa{sa{sv}}}", [[["/o", [["i.f", [["p", new Variant("x", -5n)]]]]]]]],
    ["(ybnqiuxtd)", [[255, true, -32768, 65535, -2147483648, 4294967295, -(1n << 63n), (1n << 64n) - 1n, -0.25]]],
    ["vv", [new Variant("v", new Variant("g", "a{sv}")), new Variant("(so)", ["s", "/"])]],
    ["s", ["ünïcødé ✓"]],
  ];
  test.each(cases)("%s", (sig, values) => {
    expect(unmarshal(sig, marshal(sig, values))).toEqual(values);
  });

  test("big-endian input decodes", () => {
    expect(unmarshal("yuq", bytes("01 000000 01020304 0506"), { littleEndian: false })).toEqual([1, 0x01020304, 0x0506]);
  });

  test("ay accepts a Uint8Array when sending", () => {
    expect(hex(marshal("ay", [new Uint8Array([7, 8])]))).toBe("02000000" + "0708");
  });
});

describe("refusals", () => {
  test.each<[string, DBusValue]>([
    ["y", 256], ["y", -1], ["y", 1.5], ["n", 40000], ["q", -1], ["i", 2 ** 31], ["u", -1], ["u", "1"],
    ["x", 1n << 63n], ["t", -1n], ["t", 2 ** 60], ["b", 1], ["s", 3], ["s", "a\0b"],
    ["o", "relative"], ["o", "/trailing/"], ["o", "/a//b"], ["o", "/bad-char"], ["g", "a"],
    ["v", "not a variant"], ["as", "x"], ["(ss)", ["only one"]], ["a{sv}", [["k", "not a variant"]]],
  ])("%s from %p", (sig, value) => {
    expect(() => marshal(sig, [value])).toThrow(DBusProtocolError);
  });

  test("wrong number of values", () => {
    expect(() => marshal("ss", ["a"])).toThrow(/needs 2 values, got 1/);
  });

  test.each([
    ["truncated uint32", "u", "010203"],
    ["non-zero padding", "yu", "01 000100 01000000"],
    ["boolean 2", "b", "02000000"],
    ["string without NUL", "s", "01000000 6161"],
    ["NUL inside a string", "s", "02000000 610000"],
    ["invalid UTF-8", "s", "01000000 ff00"],
    ["bad object path", "o", "01000000 6100"],
    ["array longer than 64 MiB", "ay", "01000004"],
    ["array overrunning the buffer", "ay", "05000000 0102"],
    ["elements overrunning the length", "aq", "03000000 01000200"],
    ["bytes left over", "y", "0102"],
    ["variant with two types", "v", "027373 00"],
  ])("%s", (_name, sig, h) => {
    expect(() => unmarshal(sig, bytes(h))).toThrow(DBusProtocolError);
  });

  test("variants nested past 64 levels", () => {
    let v: DBusValue = 1;
    for (let i = 0; i < 70; i++) v = new Variant(i === 0 ? "y" : "v", v);
    expect(() => marshal("v", [v])).toThrow(/nested deeper than 64/);
  });
});
