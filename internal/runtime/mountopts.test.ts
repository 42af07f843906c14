import { describe, expect, test } from "bun:test";
import { parseMountOptions, rootfsPropagation } from "./mountopts.ts";
import { MS } from "../sys/flags.ts";

describe("parseMountOptions", () => {
  const cases: Array<[string[], Partial<ReturnType<typeof parseMountOptions>>]> = [
    [["nosuid", "noexec", "nodev"], { flags: MS.NOSUID | MS.NOEXEC | MS.NODEV, data: "" }],
    [["rbind", "ro", "rprivate"], { bind: true, recursive: true, flags: MS.RDONLY, propagation: [MS.PRIVATE | MS.REC] }],
    [["bind"], { bind: true, recursive: false }],
    [["nosuid", "strictatime", "mode=755", "size=65536k"], { flags: MS.NOSUID | MS.STRICTATIME, data: "mode=755,size=65536k" }],
    [["ro", "rw"], { flags: 0, clear: MS.RDONLY }],
    [["newinstance", "ptmxmode=0666", "gid=5"], { data: "newinstance,ptmxmode=0666,gid=5" }],
    [["tmpcopyup", "rslave"], { data: "", propagation: [MS.SLAVE | MS.REC] }],
  ];
  for (const [opts, want] of cases) {
    test(opts.join(","), () => {
      expect(parseMountOptions(opts)).toMatchObject(want);
    });
  }
});

describe("rootfsPropagation", () => {
  test("defaults to rslave", () => expect(rootfsPropagation(undefined)).toBe(MS.SLAVE | MS.REC));
  test("rprivate", () => expect(rootfsPropagation("rprivate")).toBe(MS.PRIVATE | MS.REC));
  test("rejects unknown values naming the field", () => expect(() => rootfsPropagation("weird")).toThrow(/rootfsPropagation/));
});
