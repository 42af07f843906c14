import { describe, expect, test } from "bun:test";
import { O_FLAGS, makedev, major, minor } from "./fs.ts";
import { O } from "./flags.ts";

describe("makedev", () => {
  test.each([
    [1, 3, 0x103n], // /dev/null
    [5, 2, 0x502n], // /dev/ptmx
    [136, 0, 0x8800n], // /dev/pts/0
    [0xfff, 0xff, 0xfffffn],
    [0x1000, 0x100, (0x1n << 44n) | (0x1n << 20n)],
    [0xffffffff, 0xffffffff, 0xffffffffffffffffn],
  ])("makedev(%d, %d) matches glibc and round-trips", (ma, mi, dev) => {
    const d = makedev(ma, mi);
    expect(d).toBe(dev);
    expect(major(d)).toBe(ma);
    expect(minor(d)).toBe(mi);
  });
});

describe("O_FLAGS", () => {
  test("matches flags.ts except where arm64 differs", () => {
    if (process.arch === "arm64") {
      expect(O_FLAGS.DIRECTORY).toBe(0o40000);
      expect(O_FLAGS.NOFOLLOW).toBe(0o100000);
    } else {
      expect(O_FLAGS.DIRECTORY).toBe(O.DIRECTORY);
      expect(O_FLAGS.NOFOLLOW).toBe(O.NOFOLLOW);
    }
    expect(O_FLAGS.CLOEXEC).toBe(O.CLOEXEC);
    expect(O_FLAGS.PATH).toBe(O.PATH);
  });
});
