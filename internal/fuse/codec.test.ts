import { describe, expect, test } from "bun:test";
import {
  AccessIn, Attr, ATTR_OUT_SIZE, BatchForgetIn, decodeAttrOut, decodeBatchForget, decodeDirents, decodeEntryOut,
  decodeInitIn, decodeInitOut, decodeName, decodeReply, decodeRequest, decodeWriteIn, direntSize, encodeAttrOut,
  encodeBatchForget, encodeDirents, encodeEntryOut, encodeErrorReply, encodeInitIn, encodeInitOut, encodeName,
  encodeNotify, encodeReply, encodeRequest, encodeWriteIn, ENTRY_OUT_SIZE, FlushIn, ForgetIn, ForgetOne, GetattrIn,
  GetxattrIn, GetxattrOut, IN_HEADER_SIZE, InHeader, InitIn, InitOut, InterruptIn, Kstatfs, OpenIn, OpenOut,
  OUT_HEADER_SIZE, OutHeader, ReadIn, ReleaseIn, SetattrIn, splitRequests, WriteIn, WriteOut, type Dirent,
} from "./codec.ts";
import { INIT } from "./proto.ts";

const U32 = 0xffff_ffff;
const U64N = 0xffff_ffff_ffff_ffffn;
const SAFE = Number.MAX_SAFE_INTEGER;

describe("struct sizes and offsets match include/uapi/linux/fuse.h", () => {
  test.each([
    [InHeader, 40], [OutHeader, 16], [Attr, 88], [InitOut, 64], [OpenIn, 8], [OpenOut, 16], [ReadIn, 40],
    [WriteIn, 40], [WriteOut, 8], [ReleaseIn, 24], [FlushIn, 24], [SetattrIn, 88], [GetattrIn, 16], [Kstatfs, 80],
    [AccessIn, 8], [GetxattrIn, 8], [GetxattrOut, 8], [ForgetIn, 8], [BatchForgetIn, 8], [ForgetOne, 16],
    [InterruptIn, 8],
  ] as const)("%#: %p", (s, size) => {
    expect({ name: s.name, size: s.size }).toEqual({ name: s.name, size });
  });

  test("composite replies", () => {
    expect(ENTRY_OUT_SIZE).toBe(128);
    expect(ATTR_OUT_SIZE).toBe(104);
    expect(IN_HEADER_SIZE).toBe(40);
    expect(OUT_HEADER_SIZE).toBe(16);
  });

  test("offsets the kernel relies on", () => {
    expect(InHeader.offsets).toMatchObject({ opcode: 4, unique: 8, nodeid: 16, uid: 24, pid: 32, totalExtlen: 36 });
    expect(Attr.offsets).toMatchObject({ atimensec: 48, mode: 60, uid: 68, blksize: 80, flags: 84 });
    expect(SetattrIn.offsets).toMatchObject({ fh: 8, size: 16, lockOwner: 24, atimensec: 56, mode: 68, uid: 76, gid: 80 });
    expect(InitOut.offsets).toMatchObject({ maxBackground: 16, maxWrite: 20, timeGran: 24, maxPages: 28, flags2: 32, maxStackDepth: 36 });
    expect(ReadIn.offsets).toMatchObject({ size: 16, lockOwner: 24, flags: 32 });
    expect(ReleaseIn.offsets).toMatchObject({ flags: 8, releaseFlags: 12, lockOwner: 16 });
  });
});

describe("round trips at the edges of each field", () => {
  test("headers", () => {
    for (const unique of [0n, 1n, 1n << 63n, U64N]) {
      const h = { len: U32, opcode: U32, unique, nodeid: SAFE, uid: U32, gid: 0, pid: U32, totalExtlen: 0xffff };
      expect(InHeader.decode(InHeader.encode(h))).toEqual(h);
      const o = { len: 16, error: -(2 ** 31), unique };
      expect(OutHeader.decode(OutHeader.encode(o))).toEqual(o);
    }
  });

  test("a u64 field above 2^53 is refused, not rounded", () => {
    const bytes = InHeader.encode({ nodeid: 0 });
    new DataView(bytes.buffer).setBigUint64(16, 1n << 53n, true);
    expect(() => InHeader.decode(bytes)).toThrow(RangeError);
  });

  test("short input is a RangeError naming the struct", () => {
    expect(() => ReadIn.decode(new Uint8Array(39))).toThrow("fuse_read_in: need 40 bytes");
    expect(() => OpenIn.decode(new Uint8Array(0))).toThrow(RangeError);
  });

  test("entry_out and attr_out", () => {
    const attr = {
      ino: SAFE, size: 4096, blocks: 0, atime: 1, mtime: 2, ctime: 3, atimensec: 999_999_999, mtimensec: 0,
      ctimensec: 1, mode: 0o100644, nlink: 1, uid: U32, gid: 100000, rdev: 0, blksize: 4096, flags: 0,
    };
    const e = { nodeid: SAFE, generation: 0, entryValid: 1, entryValidNsec: 500_000_000, attrValid: 0, attrValidNsec: 0, attr };
    const eb = encodeEntryOut(e);
    expect(eb.length).toBe(128);
    expect(decodeEntryOut(eb)).toEqual(e);
    const a = { attrValid: 0, attrValidNsec: U32, attr };
    expect(decodeAttrOut(encodeAttrOut(a))).toEqual(a);
    // Fields left out are zero.
    expect(decodeAttrOut(encodeAttrOut({ attrValid: 1, attrValidNsec: 0, attr: { mode: 0o40555 } })).attr.nlink).toBe(0);
  });

  test("every request struct", () => {
    const cases = [
      [GetattrIn, { getattrFlags: 1, fh: SAFE }],
      [SetattrIn, { valid: U32, fh: 7, size: SAFE, lockOwner: U64N, atime: 0, mtime: 1, ctime: 2, atimensec: 3, mtimensec: 4, ctimensec: 5, mode: 0o7777, uid: U32, gid: U32 }],
      [OpenIn, { flags: 0o2101, openFlags: 1 }],
      [OpenOut, { fh: SAFE, openFlags: 1, backingId: -1 }],
      [ReadIn, { fh: 1, offset: SAFE, size: U32, readFlags: 2, lockOwner: U64N, flags: 0o100000 }],
      [ReleaseIn, { fh: 3, flags: 1, releaseFlags: 2, lockOwner: 0n }],
      [FlushIn, { fh: 9, lockOwner: U64N }],
      [AccessIn, { mask: 7 }],
      [GetxattrIn, { size: 65536 }],
      [ForgetIn, { nlookup: SAFE }],
      [InterruptIn, { unique: U64N }],
      [Kstatfs, { blocks: 1, bfree: 2, bavail: 3, files: 4, ffree: 5, bsize: 4096, namelen: 255, frsize: 4096 }],
      [WriteOut, { size: U32 }],
    ] as const;
    for (const [s, v] of cases) expect((s as { decode(b: Uint8Array): unknown }).decode(s.encode(v as never))).toEqual(v);
  });

  test("write_in carries its data, copied out of the read buffer", () => {
    for (const n of [0, 1, 7, 8, 4096, 16384]) {
      const data = new Uint8Array(n).map((_, i) => i & 0xff);
      const body = encodeWriteIn({ fh: 2, offset: 10, data });
      expect(body.length).toBe(40 + n);
      const w = decodeWriteIn(body);
      expect(w).toMatchObject({ fh: 2, offset: 10, size: n });
      expect(w.data).toEqual(data);
      body.fill(0xee, 40);
      expect(w.data).toEqual(data);
    }
    const short = encodeWriteIn({ data: new Uint8Array(8) }).subarray(0, 47);
    expect(() => decodeWriteIn(short)).toThrow("overruns");
  });

  test("batch_forget at 0, 1 and many entries", () => {
    for (const n of [0, 1, 100]) {
      const items = Array.from({ length: n }, (_, i) => ({ nodeid: i + 1, nlookup: SAFE - i }));
      const b = encodeBatchForget(items);
      expect(b.length).toBe(8 + 16 * n);
      expect(decodeBatchForget(b)).toEqual(items);
    }
    const claimsTwo = encodeBatchForget([{ nodeid: 1, nlookup: 1 }]);
    new DataView(claimsTwo.buffer).setUint32(0, 2, true);
    expect(() => decodeBatchForget(claimsTwo)).toThrow(RangeError);
  });
});

describe("INIT", () => {
  test("init_in: flags2 only counts with FUSE_INIT_EXT", () => {
    const flags = INIT.ASYNC_READ | INIT.INIT_EXT | INIT.HAS_RESEND;
    expect(decodeInitIn(encodeInitIn({ major: 7, minor: 45, maxReadahead: 131072, flags }))).toEqual({ major: 7, minor: 45, maxReadahead: 131072, flags });
    const noExt = encodeInitIn({ major: 7, minor: 45, maxReadahead: 0, flags: INIT.ASYNC_READ | INIT.HAS_RESEND });
    expect(decodeInitIn(noExt).flags).toBe(INIT.ASYNC_READ);
  });

  test("init_in: the 16-byte form of kernels before 7.36, and a future major", () => {
    const full = encodeInitIn({ major: 7, minor: 31, maxReadahead: 4096, flags: INIT.BIG_WRITES });
    expect(decodeInitIn(full.subarray(0, 16))).toEqual({ major: 7, minor: 31, maxReadahead: 4096, flags: INIT.BIG_WRITES });
    expect(() => decodeInitIn(full.subarray(0, 12))).toThrow(RangeError);
    const future = new Uint8Array(8);
    new DataView(future.buffer).setUint32(0, 8, true);
    expect(decodeInitIn(future)).toEqual({ major: 8, minor: 0, maxReadahead: 0, flags: 0n });
  });

  test("init_out: 64 bytes, 24 for minor < 23, flags split over flags/flags2", () => {
    const r = { major: 7, minor: 31, maxReadahead: 131072, flags: INIT.ASYNC_READ | INIT.HAS_RESEND, maxBackground: 0xffff, congestionThreshold: 1, maxWrite: 16384, timeGran: 1, maxPages: 256 };
    const b = encodeInitOut(r);
    expect(b.length).toBe(64);
    expect(decodeInitOut(b)).toEqual(r);
    expect(new DataView(b.buffer).getUint32(32, true)).toBe(1 << 7);
    const old = encodeInitOut({ ...r, minor: 22 });
    expect(old.length).toBe(24);
    expect(decodeInitOut(old)).toMatchObject({ minor: 22, maxWrite: 16384, timeGran: 0 });
  });
});

describe("READDIR packing", () => {
  const entry = (name: string, i: number): Dirent => ({ ino: 1000 + i, off: i + 1, type: 8, name });

  test("each dirent is 24 bytes plus the name, rounded up to 8", () => {
    expect([0, 1, 7, 8, 9, 15, 16, 255].map(direntSize)).toEqual([24, 32, 32, 32, 40, 40, 40, 280]);
  });

  test("names of every length from 1 to 17 round-trip with 8-byte alignment", () => {
    const entries = Array.from({ length: 17 }, (_, i) => entry("x".repeat(i + 1), i));
    const { bytes, count } = encodeDirents(entries, 1 << 20);
    expect(count).toBe(17);
    expect(bytes.length % 8).toBe(0);
    expect(bytes.length).toBe(entries.reduce((n, e) => n + direntSize(e.name.length), 0));
    expect(decodeDirents(bytes)).toEqual(entries);
  });

  test("fills exactly up to the buffer size, never a partial entry", () => {
    const entries = ["a", "bb", "ccccccccc", "d"].map(entry);
    const sizes = entries.map((e) => direntSize(e.name.length));
    const all = sizes.reduce((a, b) => a + b);
    expect(encodeDirents(entries, all).count).toBe(4);
    expect(encodeDirents(entries, all - 1).count).toBe(3);
    expect(encodeDirents(entries, sizes[0]!).count).toBe(1);
    expect(encodeDirents(entries, sizes[0]! - 1)).toEqual({ bytes: new Uint8Array(0), count: 0 });
  });

  test("multi-byte names count bytes, not characters", () => {
    const [e] = [entry("héllo-ü", 0)];
    const { bytes } = encodeDirents([e!], 100);
    expect(new DataView(bytes.buffer).getUint32(16, true)).toBe(9);
    expect(decodeDirents(bytes)).toEqual([e!]);
  });
});

describe("framing", () => {
  const hdr = { opcode: 1, unique: 42n, nodeid: 1, uid: 100000, gid: 100000, pid: 4242 };

  test("a request splits into header and body", () => {
    const req = encodeRequest(hdr, encodeName("uptime"));
    const { header, body } = decodeRequest(req);
    expect(header).toEqual({ ...hdr, len: 47, totalExtlen: 0 });
    expect(decodeName(body)).toBe("uptime");
  });

  test("extensions (total_extlen) are cut off the body", () => {
    const req = encodeRequest(hdr, new Uint8Array(24).fill(1));
    new DataView(req.buffer).setUint16(36, 2, true);
    expect(decodeRequest(req).body.length).toBe(8);
  });

  test("a len that disagrees with the bytes read is refused", () => {
    const req = encodeRequest(hdr, encodeName("x"));
    expect(() => decodeRequest(req.subarray(0, req.length - 1))).toThrow(RangeError);
    new DataView(req.buffer).setUint32(0, 39, true);
    expect(() => decodeRequest(req)).toThrow(RangeError);
  });

  test("coalesced reads split into whole requests; a torn one is an error", () => {
    const a = encodeRequest(hdr, encodeName("a"));
    const b = encodeRequest({ ...hdr, unique: 43n }, new Uint8Array(0));
    const c = encodeRequest({ ...hdr, unique: 44n }, encodeWriteIn({ data: new Uint8Array(5) }));
    const chunk = new Uint8Array([...a, ...b, ...c]);
    expect([...splitRequests(chunk)].map((r) => decodeRequest(r).header.unique)).toEqual([42n, 43n, 44n]);
    for (let cut = 1; cut < chunk.length; cut++) {
      if (cut === a.length || cut === a.length + b.length) continue;
      expect(() => [...splitRequests(chunk.subarray(0, cut))]).toThrow(RangeError);
    }
  });

  test("names must be NUL-terminated; UTF-8 decodes", () => {
    expect(() => decodeName(new Uint8Array([0x61, 0x62]))).toThrow("NUL");
    expect(decodeName(encodeName("nf_conntrack_max"))).toBe("nf_conntrack_max");
    expect(decodeName(encodeName("ü"))).toBe("ü");
    expect(decodeName(encodeName(""))).toBe("");
  });

  test("replies, errors and notifications", () => {
    const ok = encodeReply(7n, new Uint8Array([1, 2]), new Uint8Array([3]));
    expect(decodeReply(ok)).toEqual({ unique: 7n, errno: 0, body: new Uint8Array([1, 2, 3]) });
    expect(decodeReply(encodeReply(8n))).toEqual({ unique: 8n, errno: 0, body: new Uint8Array(0) });
    expect(decodeReply(encodeErrorReply(9n | (1n << 63n), 38))).toEqual({ unique: 9n | (1n << 63n), errno: 38, body: new Uint8Array(0) });
    expect(() => encodeErrorReply(1n, 0)).toThrow(RangeError);
    expect(() => encodeErrorReply(1n, -2)).toThrow(RangeError);
    const n = encodeNotify(7);
    expect(OutHeader.decode(n)).toEqual({ len: 16, error: 7, unique: 0n });
  });
});
