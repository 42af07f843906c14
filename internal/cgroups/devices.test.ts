import { expect, test } from "bun:test";
import { deviceRuleLine, v1DeviceWrites } from "./devices.ts";

test.each([
  [{ allow: false }, "a *:* rwm"],
  [{ allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, "c 1:3 rwm"],
  [{ allow: true, type: "c", major: 136, minor: null, access: "rw" }, "c 136:* rw"],
  [{ allow: true, type: "b", major: -1, minor: -1, access: "m" }, "b *:* m"],
  [{ allow: true, type: "", access: "" }, "a *:* rwm"],
])("deviceRuleLine(%j) = %p", (rule, line) => {
  expect(deviceRuleLine(rule)).toBe(line);
});

test("invalid rules", () => {
  expect(() => deviceRuleLine({ allow: true, type: "p" })).toThrow(/type/);
  expect(() => deviceRuleLine({ allow: true, major: 1.5 })).toThrow(RangeError);
});

test("v1DeviceWrites keeps order and picks the file", () => {
  expect(v1DeviceWrites([{ allow: false }, { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }])).toEqual([
    { file: "devices.deny", line: "a *:* rwm" },
    { file: "devices.allow", line: "c 5:2 rwm" },
  ]);
});

test("access strings as runc reads them: the r, w and m letters; others grant nothing", () => {
  expect(deviceRuleLine({ allow: true, type: "c", major: 1, minor: 3, access: "rwa" })).toBe("c 1:3 rw");
  expect(deviceRuleLine({ allow: true, type: "c", major: 1, minor: 3, access: "mrr" })).toBe("c 1:3 rm");
  expect(deviceRuleLine({ allow: true, access: "x" })).toBeNull();
  expect(v1DeviceWrites([{ allow: true, access: "x" }, { allow: false, access: "wa" }])).toEqual([{ file: "devices.deny", line: "a *:* w" }]);
});
