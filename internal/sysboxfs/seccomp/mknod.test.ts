import { describe, expect, test } from "bun:test";
import { callerCreds, pathInRoot } from "./mknod.ts";

describe("callerCreds", () => {
  test("effective capabilities and the fs ids (fourth column) of /proc/TID/status", () => {
    const status = "Name:\tsh\nUid:\t165536\t165536\t165536\t165537\nGid:\t165536\t165536\t165536\t165538\nCapEff:\t000001ffffffffff\n";
    expect(callerCreds(status)).toEqual({ capEff: 0x1ffffffffffn, fsuid: 165537, fsgid: 165538 });
    expect(() => callerCreds("Name:\tsh\n")).toThrow(/unparsable/);
  });
});

describe("pathInRoot", () => {
  const links = (root: string, base: string | null) => ({ root, base: () => base });
  test("absolute paths are the caller's own, normalized", () => {
    expect(pathInRoot("/tmp//x/../n", -100, links("/var/lib/r", null))).toBe("/tmp/n");
  });
  test("relative paths go from the cwd or dirfd the kernel names, made relative to the caller's root", () => {
    expect(pathInRoot("n", -100, links("/var/lib/r", "/var/lib/r/tmp"))).toBe("/tmp/n");
    expect(pathInRoot("n", 3, links("/", "/work"))).toBe("/work/n");
    expect(pathInRoot("n", -100, links("/var/lib/r", "/var/lib/r"))).toBe("/n");
  });
  test("a directory outside the caller's root, or gone, resolves to nothing", () => {
    expect(pathInRoot("n", -100, links("/var/lib/r", "/etc"))).toBeNull();
    expect(pathInRoot("n", 7, links("/", null))).toBeNull();
    expect(pathInRoot("n", 7, links("/", "/old (deleted)"))).toBeNull();
  });
});
