import { describe, expect, test } from "bun:test";
import { encodeMountAttr, MOVE_MOUNT, FSCONFIG } from "./mount.ts";
import { MOUNT_ATTR, MS, formatFlags } from "./flags.ts";

describe("encodeMountAttr", () => {
  test("lays out four little-endian u64 fields in 32 bytes", () => {
    const buf = encodeMountAttr({ set: MOUNT_ATTR.IDMAP | MOUNT_ATTR.RDONLY, clr: MOUNT_ATTR.NOSUID, propagation: MS.PRIVATE, userns_fd: 7 });
    expect(buf.length).toBe(32);
    const v = new DataView(buf.buffer);
    expect(v.getBigUint64(0, true)).toBe(0x100001n);
    expect(v.getBigUint64(8, true)).toBe(0x2n);
    expect(v.getBigUint64(16, true)).toBe(0x40000n);
    expect(v.getBigUint64(24, true)).toBe(7n);
  });

  test("omitted fields are zero", () => {
    expect([...encodeMountAttr({})].every((b) => b === 0)).toBe(true);
  });
});

describe("flag tables", () => {
  test("move_mount flags print by name", () => {
    expect(formatFlags(MOVE_MOUNT, MOVE_MOUNT.F_EMPTY_PATH | 0x8000, "MOVE_MOUNT_")).toBe("MOVE_MOUNT_F_EMPTY_PATH|0x8000");
  });

  test("fsconfig commands match include/uapi/linux/mount.h", () => {
    expect(FSCONFIG.SET_STRING).toBe(1);
    expect(FSCONFIG.CMD_CREATE).toBe(6);
  });
});
