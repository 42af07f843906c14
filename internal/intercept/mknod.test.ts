import { describe, expect, test } from "bun:test";
import { decideMknod, MKNOD_ALLOW, S_IFBLK, S_IFCHR } from "./mknod.ts";
import { AT_FDCWD, decodeDev, decodeDeviceCall } from "./syscalls_devices.ts";

const mknod = (mode: number, major: number, minor: number) =>
  decideMknod({ syscall: "mknod", dirfd: AT_FDCWD, path: 1n, mode, dev: { major, minor } }, "/tmp/n");

describe("decodeDev", () => {
  test("the kernel's new_encode_dev layout", () => {
    expect(decodeDev(0x0103)).toEqual({ major: 1, minor: 3 });
    expect(decodeDev(0x0ae5)).toEqual({ major: 10, minor: 229 });
    // minor 0x12345: low byte in bits 0-7, the rest from bit 20.
    expect(decodeDev(0x1230_0845)).toEqual({ major: 8, minor: 0x12345 });
  });
});

describe("decodeDeviceCall", () => {
  test("mknod, mknodat and sysinfo arguments; 32-bit ABIs drop the upper halves", () => {
    expect(decodeDeviceCall({ name: "mknod", arch: "x86_64", narrow: false }, [0x7000n, BigInt(S_IFCHR | 0o666), 0x0103n]))
      .toEqual({ syscall: "mknod", dirfd: AT_FDCWD, path: 0x7000n, mode: S_IFCHR | 0o666, dev: { major: 1, minor: 3 } });
    expect(decodeDeviceCall({ name: "mknodat", arch: "aarch64", narrow: false }, [0xffff_ffff_ffff_ff9cn, 0x8000n, BigInt(S_IFCHR), 0n]))
      .toEqual({ syscall: "mknodat", dirfd: AT_FDCWD, path: 0x8000n, mode: S_IFCHR, dev: { major: 0, minor: 0 } });
    expect(decodeDeviceCall({ name: "mknodat", arch: "i386", narrow: true }, [5n, 0xdead_0000_0000_9000n, BigInt(S_IFBLK), 0x0800n]))
      .toEqual({ syscall: "mknodat", dirfd: 5, path: 0x9000n, mode: S_IFBLK, dev: { major: 8, minor: 0 } });
    expect(decodeDeviceCall({ name: "sysinfo", arch: "x86_64", narrow: false }, [0x1234n])).toEqual({ syscall: "sysinfo", info: 0x1234n });
  });
});

describe("decideMknod", () => {
  test.each(MKNOD_ALLOW.map((n) => [n.name, n.major, n.minor] as const))("%s (%i:%i) is made as a bind", (name, major, minor) => {
    const v = mknod(S_IFCHR | 0o666, major, minor);
    expect(v).toMatchObject({ action: "mknod-bind", path: "/tmp/n", node: { name } });
  });
  test("whiteouts, files and fifos go to the kernel; fuse and tun come from the caller's root, checked", () => {
    expect(mknod(S_IFCHR, 0, 0)).toMatchObject({ action: "continue", reason: expect.stringContaining("whiteout") });
    expect(mknod(0o010644, 0, 0)).toMatchObject({ action: "continue", reason: "not a device node" });
    expect(mknod(0o100644, 0, 0)).toMatchObject({ action: "continue", reason: "not a device node" });
    const fuse = mknod(S_IFCHR | 0o600, 10, 229);
    expect(fuse.action === "mknod-bind" && fuse.node.source).toEqual({ inRoot: "/dev/fuse", rdev: { major: 10, minor: 229 } });
    const nul = mknod(S_IFCHR | 0o666, 1, 3);
    expect(nul.action === "mknod-bind" && nul.node.source).toEqual({ inRoot: "/dev/null", rdev: { major: 1, minor: 3 }, host: "/dev/null" });
  });
  test("block devices and other char devices are left to the kernel, which refuses them", () => {
    expect(mknod(S_IFBLK | 0o660, 8, 0)).toEqual({ action: "continue", reason: "block 8:0 is not allowed" });
    expect(mknod(S_IFCHR | 0o660, 10, 232)).toEqual({ action: "continue", reason: "char 10:232 is not allowed" });
    expect(mknod(S_IFCHR | 0o660, 1, 1)).toEqual({ action: "continue", reason: "char 1:1 is not allowed" });
  });
});
