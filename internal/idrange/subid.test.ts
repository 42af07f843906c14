import { describe, expect, test } from "bun:test";
import { parseDefNumber, parseLoginDefs, DEFAULT_LIMITS } from "./logindefs.ts";
import { appendLines, firstFit, freeHoles, overlaps, parseSubid, spanText } from "./subid.ts";

describe("parseSubid", () => {
  test.each([
    ["empty", "", [], []],
    ["blank lines and comments", "\n  \n# sysbox:1:2\n", [], []],
    ["entries", "alice:100000:65536\nsysbox:231072:65536\n", [
      { name: "alice", start: 100000, size: 65536, line: 1 },
      { name: "sysbox", start: 231072, size: 65536, line: 2 },
    ], []],
    ["no trailing newline, spaces trimmed", " bob:1:2 ", [{ name: "bob", start: 1, size: 2, line: 1 }], []],
    ["malformed lines are reported", "x:1\ny:a:1\n:1:2\nz:1:2:3\nok:5:6", [{ name: "ok", start: 5, size: 6, line: 5 }], [1, 2, 3, 4]],
  ] as const)("%s", (_, text, entries, invalidLines) => {
    const f = parseSubid(text);
    expect(f.entries).toEqual(entries as never);
    expect(f.invalid.map((i) => i.line)).toEqual([...invalidLines]);
  });
});

test("appendLines keeps the text and adds a newline where missing", () => {
  expect(appendLines("", ["a:1:2"])).toBe("a:1:2\n");
  expect(appendLines("x:1:2", ["a:1:2"])).toBe("x:1:2\na:1:2\n");
  expect(appendLines("x:1:2\n", ["a:1:2", "b:3:4"])).toBe("x:1:2\na:1:2\nb:3:4\n");
  expect(appendLines("x:1:2", [])).toBe("x:1:2");
});

test("overlaps and spanText", () => {
  expect(overlaps({ start: 0, size: 10 }, { start: 10, size: 5 })).toBe(false);
  expect(overlaps({ start: 0, size: 11 }, { start: 10, size: 5 })).toBe(true);
  expect(overlaps({ start: 12, size: 1 }, { start: 10, size: 5 })).toBe(true);
  expect(overlaps({ start: 12, size: 0 }, { start: 10, size: 5 })).toBe(false);
  expect(spanText({ start: 131072, size: 65536 })).toBe("131072-196607");
});

describe("freeHoles", () => {
  const q = { min: 100000, end: 1_000_000, align: 65536 };
  test.each([
    ["nothing taken", [], [{ start: 131072, size: 851968 }]],
    ["an entry below min is ignored", [{ start: 0, size: 100 }], [{ start: 131072, size: 851968 }]],
    ["a typical user range", [{ start: 100000, size: 65536 }], [{ start: 196608, size: 786432 }]],
    ["overlapping and unsorted entries", [{ start: 300000, size: 100000 }, { start: 100000, size: 65536 }, { start: 350000, size: 10 }], [
      { start: 196608, size: 65536 },
      { start: 458752, size: 524288 },
    ]],
    ["a hole too small after alignment", [{ start: 100000, size: 65536 }, { start: 200000, size: 800000 }], []],
    ["full", [{ start: 0, size: 2_000_000 }], []],
  ] as const)("%s", (_, taken, holes) => {
    expect(freeHoles(taken, q)).toEqual(holes as never);
  });

  test("never passes the end", () => {
    expect(freeHoles([], { min: 65536, end: 65536 * 3 + 5, align: 65536 })).toEqual([{ start: 65536, size: 131072 }]);
  });
});

test("firstFit takes the first hole big enough, else the largest", () => {
  const holes = [{ start: 0, size: 10 }, { start: 100, size: 30 }, { start: 200, size: 50 }];
  expect(firstFit(holes, 20)).toEqual({ start: 100, size: 20 });
  expect(firstFit(holes, 50)).toEqual({ start: 200, size: 50 });
  expect(firstFit(holes, 60)).toEqual({ start: 200, size: 50 });
  expect(firstFit([], 1)).toBeUndefined();
});

describe("login.defs", () => {
  test("numbers as shadow reads them", () => {
    expect(parseDefNumber("100000")).toBe(100000);
    expect(parseDefNumber("0x10")).toBe(16);
    expect(parseDefNumber("010")).toBe(8);
    expect(parseDefNumber("0")).toBe(0);
    expect(parseDefNumber("12abc")).toBeUndefined();
    expect(parseDefNumber("-1")).toBeUndefined();
  });

  test("reads the SUB_ limits and keeps defaults for the rest", () => {
    const text = [
      "# comment SUB_UID_MIN 5",
      "SUB_UID_MIN\t\t   200000",
      "SUB_UID_MAX  600100000",
      "SUB_UID_COUNT 65536",
      "SUB_GID_MIN bogus",
      "UID_MIN 1000",
    ].join("\n");
    expect(parseLoginDefs(text)).toEqual({ uidMin: 200000, uidMax: 600100000, gidMin: DEFAULT_LIMITS.gidMin, gidMax: DEFAULT_LIMITS.gidMax });
    expect(parseLoginDefs("")).toEqual(DEFAULT_LIMITS);
  });
});
