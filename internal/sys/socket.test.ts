import { describe, expect, test } from "bun:test";
import {
  CMSG_LEN, CMSG_SPACE, UNIX_PATH_MAX, decodeCreds, decodeRights, encodeIovec, encodeMsghdr, encodeRights, encodeSockaddrUn,
} from "./socket.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("cmsg sizes", () => {
  test.each([
    [0, 16, 16],
    [4, 20, 24],
    [8, 24, 24],
    [12, 28, 32],
  ])("%d data bytes: CMSG_LEN %d, CMSG_SPACE %d", (n, len, space) => {
    expect([CMSG_LEN(n), CMSG_SPACE(n)]).toEqual([len, space]);
  });
});

describe("SCM_RIGHTS control messages", () => {
  test("one fd: header, fd, then padding to 8", () => {
    expect(hex(encodeRights([7]))).toBe(
      "1400000000000000" + "01000000" + "01000000" + "07000000" + "00000000",
    );
  });

  test("round-trips 0..5 fds", () => {
    for (let n = 0; n <= 5; n++) {
      const fds = Array.from({ length: n }, (_, i) => 100 + i);
      const c = encodeRights(fds);
      expect(c.length).toBe(CMSG_SPACE(4 * n));
      expect(decodeRights(c, c.length)).toEqual(fds);
    }
  });

  test("decodes several messages and stops at the control length", () => {
    const a = encodeRights([3]);
    const b = encodeRights([4, 5]);
    const both = new Uint8Array(a.length + b.length);
    both.set(a);
    both.set(b, a.length);
    expect(decodeRights(both, both.length)).toEqual([3, 4, 5]);
    expect(decodeRights(both, a.length)).toEqual([3]);
    expect(decodeRights(both, a.length + 8)).toEqual([3]);
  });

  test("skips control messages of other types", () => {
    const c = encodeRights([9]);
    new DataView(c.buffer).setInt32(12, 2, true); // SCM_CREDENTIALS
    expect(decodeRights(c, c.length)).toEqual([]);
  });
});

describe("msghdr and iovec", () => {
  test("fields sit at the LP64 offsets", () => {
    const m = encodeMsghdr({ iov: 0x1122, iovlen: 1, control: 0x3344, controllen: 24 });
    expect(m.length).toBe(56);
    const v = new DataView(m.buffer);
    expect([0, 8, 16, 24, 32, 40, 48].map((o) => v.getBigUint64(o, true))).toEqual([0n, 0n, 0x1122n, 1n, 0x3344n, 24n, 0n]);
    expect(hex(encodeIovec(0xabcd, 5))).toBe("cdab000000000000" + "0500000000000000");
  });
});

describe("sockaddr_un", () => {
  test("path sockets count the NUL, abstract ones do not", () => {
    const p = encodeSockaddrUn("/run/x.sock");
    expect(p.len).toBe(2 + 11 + 1);
    expect(hex(p.addr.subarray(0, 4))).toBe("0100" + "2f72");
    expect(encodeSockaddrUn("\0abstract").len).toBe(2 + 9);
  });

  test("the longest path fits; one byte more is a RangeError", () => {
    expect(encodeSockaddrUn("/" + "a".repeat(UNIX_PATH_MAX - 2)).len).toBe(2 + UNIX_PATH_MAX);
    expect(() => encodeSockaddrUn("/" + "a".repeat(UNIX_PATH_MAX - 1))).toThrow(RangeError);
    expect(() => encodeSockaddrUn("")).toThrow(RangeError);
  });
});

describe("SCM_CREDENTIALS", () => {
  test("decodes pid, uid and gid after an SCM_RIGHTS message", () => {
    const rights = encodeRights([5]);
    const creds = new Uint8Array(CMSG_SPACE(12));
    const v = new DataView(creds.buffer);
    v.setBigUint64(0, BigInt(CMSG_LEN(12)), true);
    v.setInt32(8, 1, true); // SOL_SOCKET
    v.setInt32(12, 2, true); // SCM_CREDENTIALS
    v.setInt32(16, 4242, true);
    v.setUint32(20, 100000, true);
    v.setUint32(24, 100001, true);
    const both = new Uint8Array(creds.length + rights.length);
    both.set(creds);
    both.set(rights, creds.length);
    expect(decodeCreds(both, both.length)).toEqual({ pid: 4242, uid: 100000, gid: 100001 });
    expect(decodeRights(both, both.length)).toEqual([5]);
    expect(decodeCreds(rights, rights.length)).toBeUndefined();
  });
});
