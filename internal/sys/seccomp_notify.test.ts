import { describe, expect, test } from "bun:test";
import { ptr } from "bun:ffi";
import {
  NOTIF_SIZE, POLL, SECCOMP_IOCTL_NOTIF, decodeNotif, encodeNotif, encodePollfds, encodeResponse, ioc, pollRevents,
  readProcessMemory, readProcessString, splitRemote, writeProcessMemory, type SeccompNotif,
} from "./seccomp_notify.ts";
import { isSysError } from "./errno.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("ioctl numbers", () => {
  test("match <linux/seccomp.h> on x86_64 and arm64", () => {
    expect(SECCOMP_IOCTL_NOTIF).toEqual({ RECV: 0xc0502100, SEND: 0xc0182101, ID_VALID: 0x40082102, ADDFD: 0x40182103, SET_FLAGS: 0x40082104 });
    expect(ioc("r", 0x21, 2, 8)).toBe(0x80082102); // the old ID_VALID, still accepted by the kernel
  });
});

describe("struct seccomp_notif", () => {
  const n: SeccompNotif = {
    id: 0x1122334455667788n, pid: 4242, flags: 0,
    data: { nr: 165, arch: 0xc000003e, instructionPointer: 0x7fff0000n, args: [1n, 2n, 3n, 0xffffffffffffffffn, 5n, 6n] },
  };

  test("fields sit at their offsets", () => {
    const b = encodeNotif(n);
    expect(b.length).toBe(NOTIF_SIZE);
    expect(hex(b.subarray(0, 32))).toBe("8877665544332211" + "92100000" + "00000000" + "a5000000" + "3e0000c0" + "0000ff7f00000000");
    expect(hex(b.subarray(32 + 24, 32 + 32))).toBe("ffffffffffffffff");
  });

  test("decodes what it encodes; a short buffer is a RangeError", () => {
    expect(decodeNotif(encodeNotif(n))).toEqual(n);
    expect(() => decodeNotif(new Uint8Array(79))).toThrow(RangeError);
  });
});

describe("struct seccomp_notif_resp", () => {
  test("CONTINUE sets only the flag", () => {
    expect(hex(encodeResponse({ id: 7n, continue: true }))).toBe("0700000000000000" + "0000000000000000" + "00000000" + "01000000");
  });

  test("an error is a negative errno with val 0", () => {
    expect(hex(encodeResponse({ id: 7n, error: 16 }))).toBe("0700000000000000" + "0000000000000000" + "f0ffffff" + "00000000");
    expect(() => encodeResponse({ id: 7n, error: 0 })).toThrow(RangeError);
    expect(() => encodeResponse({ id: 7n, error: -1 })).toThrow(RangeError);
  });

  test("a faked return value", () => {
    expect(hex(encodeResponse({ id: 1n, val: -2n }).subarray(8, 16))).toBe("feffffffffffffff");
  });
});

describe("struct pollfd", () => {
  test("fd, events, then revents", () => {
    const b = encodePollfds([{ fd: 3, events: POLL.IN }, { fd: 9, events: POLL.IN | POLL.OUT }]);
    expect(hex(b)).toBe("03000000" + "0100" + "0000" + "09000000" + "0500" + "0000");
    b[14] = 0x11;
    expect(pollRevents(b, 1)).toBe(POLL.IN | POLL.HUP);
  });
});

describe("reading a process's memory", () => {
  test("remote reads split at 4 KiB boundaries", () => {
    expect(splitRemote(0x1ff0n, 0x30)).toEqual([{ base: 0x1ff0n, len: 0x10 }, { base: 0x2000n, len: 0x20 }]);
    expect(splitRemote(0x3000n, 4096)).toEqual([{ base: 0x3000n, len: 4096 }]);
  });

  test("reads a string in this process, and reports a bad address", () => {
    const s = new TextEncoder().encode("/data/ro\0garbage");
    expect(readProcessString(process.pid, BigInt(ptr(s)))).toBe("/data/ro");
    expect(readProcessMemory(process.pid, BigInt(ptr(s)), 4)).toEqual(s.subarray(0, 4));
    let err: unknown;
    try { readProcessString(process.pid, 8n); } catch (e) { err = e; }
    expect(isSysError(err, "EFAULT")).toBe(true);
    try { readProcessString(process.pid, 0n); } catch (e) { err = e; }
    expect(isSysError(err, "EFAULT")).toBe(true);
  });

  test("writes into this process, and reports a bad address", () => {
    const target = new Uint8Array(8);
    writeProcessMemory(process.pid, BigInt(ptr(target)) + 2n, new Uint8Array([1, 2, 3]));
    expect([...target]).toEqual([0, 0, 1, 2, 3, 0, 0, 0]);
    let err: unknown;
    try { writeProcessMemory(process.pid, 8n, new Uint8Array([1])); } catch (e) { err = e; }
    expect(isSysError(err, "EFAULT") || isSysError(err, "EIO")).toBe(true);
  });

  test("a string longer than the limit is ENAMETOOLONG", () => {
    const s = new Uint8Array(64).fill(0x61);
    let err: unknown;
    try { readProcessString(process.pid, BigInt(ptr(s)), 16); } catch (e) { err = e; }
    expect(isSysError(err, "ENAMETOOLONG")).toBe(true);
  });
});
