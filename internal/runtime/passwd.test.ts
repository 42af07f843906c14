import { describe, expect, test } from "bun:test";
import { homeDir, withHome } from "./passwd.ts";

const PASSWD = [
  "root:x:0:0:root:/root:/bin/bash",
  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
  "# a comment line",
  "nohome:x:5:5:::/bin/sh",
  "dup:x:1:1:second:/elsewhere:/bin/sh",
  "",
].join("\n");

describe("homeDir", () => {
  test.each([
    [0, "/root"],
    [1, "/usr/sbin"], // the first entry wins
    [5, "/"], // an empty home field
    [1000, "/"], // no entry
  ])("uid %d -> %s", (uid, home) => {
    expect(homeDir(PASSWD, uid)).toBe(home);
  });

  test("no passwd file at all", () => {
    expect(homeDir("", 0)).toBe("/");
  });

  test("a malformed line is skipped", () => {
    expect(homeDir("junk\nroot:x::0:root:/nope:/bin/sh\nroot:x:0:0:root:/root:/bin/sh\n", 0)).toBe("/root");
  });
});

describe("withHome", () => {
  test("adds HOME after the spec's entries", () => {
    expect(withHome(["PATH=/bin", "FOO=1"], 0, () => PASSWD)).toEqual(["PATH=/bin", "FOO=1", "HOME=/root"]);
  });

  test("keeps a HOME the spec sets and reads nothing", () => {
    const never = () => { throw new Error("read"); };
    expect(withHome(["HOME=/data", "A=1"], 0, never)).toEqual(["HOME=/data", "A=1"]);
  });

  test("replaces an empty HOME, as runc does", () => {
    expect(withHome(["HOME=", "A=1"], 1, () => PASSWD)).toEqual(["A=1", "HOME=/usr/sbin"]);
  });
});
