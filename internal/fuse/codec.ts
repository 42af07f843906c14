/**
 * The FUSE wire codec: pure functions from bytes to typed requests and from
 * typed replies to bytes, for both directions so tests can play the kernel.
 * Layouts follow include/uapi/linux/fuse.h; every integer is little-endian.
 *
 * One read(2) of /dev/fuse yields exactly one request:
 *
 *   +------------------+---------------------------+
 *   | fuse_in_header   | op-specific argument(s)   |   len = whole request
 *   +------------------+---------------------------+
 *
 * and one write(2) carries one reply (or, with unique 0, a notification):
 *
 *   +------------------+---------------------------+
 *   | fuse_out_header  | op-specific reply body    |   len = whole reply
 *   +------------------+---------------------------+
 */
import { defineStruct, viewOf } from "./_struct.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// ---------------------------------------------------------------- headers

/**
 * struct fuse_in_header, 40 bytes:
 *
 *   0        4        8                16               24
 *   +--------+--------+----------------+----------------+
 *   | len    | opcode | unique         | nodeid         |
 *   +--------+--------+--------+-------+--------+-------+
 *   | uid    | gid    | pid    |extlen |pad     |
 *   +--------+--------+--------+-------+--------+
 *   24       28       32       36      38       40
 *
 * uid/gid/pid are the caller's, translated into the namespaces of whoever
 * mounted the filesystem (for sysbox-fs: the host's). extlen counts 8-byte
 * units of extensions after the arguments (only with SECURITY_CTX and
 * friends, which we never negotiate).
 */
export const InHeader = defineStruct("fuse_in_header", [
  ["len", "u32"],
  ["opcode", "u32"],
  ["unique", "u64n"],
  ["nodeid", "u64"],
  ["uid", "u32"],
  ["gid", "u32"],
  ["pid", "u32"],
  ["totalExtlen", "u16"],
  ["padding", "pad16"],
] as const);
export const IN_HEADER_SIZE = InHeader.size;

/**
 * struct fuse_out_header, 16 bytes:
 *
 *   0        4        8                16
 *   +--------+--------+----------------+
 *   | len    | error  | unique         |
 *   +--------+--------+----------------+
 *
 * error is 0 or a negated errno; an error reply has no body. unique 0 marks
 * a notification, whose code then sits in `error`.
 */
export const OutHeader = defineStruct("fuse_out_header", [
  ["len", "u32"],
  ["error", "i32"],
  ["unique", "u64n"],
] as const);
export const OUT_HEADER_SIZE = OutHeader.size;

// ---------------------------------------------------------------- attributes

/**
 * struct fuse_attr, 88 bytes:
 *
 *   0        8        16       24       32       40       48
 *   +--------+--------+--------+--------+--------+--------+
 *   | ino    | size   | blocks | atime  | mtime  | ctime  |   u64 each
 *   +----+----+----+----+----+----+----+----+----+----+
 *   |ans |mns |cns |mode|nlnk|uid |gid |rdev|blks|flgs|     u32 each
 *   +----+----+----+----+----+----+----+----+----+----+
 *   48   52   56   60   64   68   72   76   80   84   88
 */
export const Attr = defineStruct("fuse_attr", [
  ["ino", "u64"],
  ["size", "u64"],
  ["blocks", "u64"],
  ["atime", "u64"],
  ["mtime", "u64"],
  ["ctime", "u64"],
  ["atimensec", "u32"],
  ["mtimensec", "u32"],
  ["ctimensec", "u32"],
  ["mode", "u32"],
  ["nlink", "u32"],
  ["uid", "u32"],
  ["gid", "u32"],
  ["rdev", "u32"],
  ["blksize", "u32"],
  ["flags", "u32"],
] as const);
export type AttrValue = ReturnType<typeof Attr.decode>;

/**
 * struct fuse_entry_out, 128 bytes (the LOOKUP reply):
 *
 *   0          8            16            24           32       36       40
 *   +----------+------------+-------------+------------+--------+--------+
 *   | nodeid   | generation | entry_valid | attr_valid | e_nsec | a_nsec |
 *   +----------+------------+-------------+------------+--------+--------+
 *   | fuse_attr (88 bytes)                                               |
 *   +--------------------------------------------------------------------+
 *   40                                                                  128
 *
 * entry_valid/attr_valid are how long (s + ns) the kernel may cache the
 * name and the attributes without asking again.
 */
const EntryOutHead = defineStruct("fuse_entry_out(head)", [
  ["nodeid", "u64"],
  ["generation", "u64"],
  ["entryValid", "u64"],
  ["attrValid", "u64"],
  ["entryValidNsec", "u32"],
  ["attrValidNsec", "u32"],
] as const);
export const ENTRY_OUT_SIZE = EntryOutHead.size + Attr.size;

export interface EntryOut {
  nodeid: number;
  generation: number;
  entryValid: number;
  entryValidNsec: number;
  attrValid: number;
  attrValidNsec: number;
  attr: Partial<AttrValue>;
}

export function encodeEntryOut(e: EntryOut): Uint8Array {
  const out = new Uint8Array(ENTRY_OUT_SIZE);
  const v = viewOf(out);
  EntryOutHead.write(v, 0, e);
  Attr.write(v, EntryOutHead.size, e.attr);
  return out;
}

export function decodeEntryOut(bytes: Uint8Array): EntryOut & { attr: AttrValue } {
  const v = viewOf(bytes);
  return { ...EntryOutHead.read(v, 0), attr: Attr.read(v, EntryOutHead.size) };
}

/**
 * struct fuse_attr_out, 104 bytes (the GETATTR and SETATTR reply):
 *
 *   0            8        12       16                               104
 *   +------------+--------+--------+--------------------------------+
 *   | attr_valid | a_nsec | dummy  | fuse_attr (88 bytes)           |
 *   +------------+--------+--------+--------------------------------+
 */
const AttrOutHead = defineStruct("fuse_attr_out(head)", [
  ["attrValid", "u64"],
  ["attrValidNsec", "u32"],
  ["dummy", "pad32"],
] as const);
export const ATTR_OUT_SIZE = AttrOutHead.size + Attr.size;

export interface AttrOut {
  attrValid: number;
  attrValidNsec: number;
  attr: Partial<AttrValue>;
}

export function encodeAttrOut(a: AttrOut): Uint8Array {
  const out = new Uint8Array(ATTR_OUT_SIZE);
  const v = viewOf(out);
  AttrOutHead.write(v, 0, a);
  Attr.write(v, AttrOutHead.size, a.attr);
  return out;
}

export function decodeAttrOut(bytes: Uint8Array): AttrOut & { attr: AttrValue } {
  const v = viewOf(bytes);
  return { ...AttrOutHead.read(v, 0), attr: Attr.read(v, AttrOutHead.size) };
}

// ---------------------------------------------------------------- INIT

/**
 * struct fuse_init_in, 64 bytes (kernels before 7.36 send only the first 16):
 *
 *   0       4       8              12      16      20                  64
 *   +-------+-------+--------------+-------+-------+-------------------+
 *   | major | minor | max_readahead| flags | flags2| unused[11]        |
 *   +-------+-------+--------------+-------+-------+-------------------+
 *
 * flags2 carries capability bits 32..63 and is meaningful only when flags
 * has FUSE_INIT_EXT.
 */
export const InitIn = defineStruct("fuse_init_in", [
  ["major", "u32"],
  ["minor", "u32"],
  ["maxReadahead", "u32"],
  ["flags", "u32"],
  ["flags2", "u32"],
] as const);
const INIT_IN_COMPAT_SIZE = 16;
const INIT_IN_FULL_SIZE = 64;
const INIT_EXT = 1 << 30;

export interface InitRequest {
  major: number;
  minor: number;
  maxReadahead: number;
  /** flags | flags2 << 32, flags2 only when FUSE_INIT_EXT was set. */
  flags: bigint;
}

export function decodeInitIn(body: Uint8Array): InitRequest {
  const v = viewOf(body);
  const need = (n: number) => {
    if (body.length < n) throw new RangeError(`fuse_init_in: need ${n} bytes, have ${body.length}`);
  };
  need(8);
  const major = v.getUint32(0, true);
  const minor = v.getUint32(4, true);
  // A kernel with a newer major sends only major/minor; the rest is not ours to read.
  if (major !== 7) return { major, minor, maxReadahead: 0, flags: 0n };
  need(INIT_IN_COMPAT_SIZE);
  const low = v.getUint32(12, true);
  const high = (low & INIT_EXT) !== 0 && body.length >= 20 ? v.getUint32(16, true) : 0;
  return { major, minor, maxReadahead: v.getUint32(8, true), flags: BigInt(low) | (BigInt(high) << 32n) };
}

export function encodeInitIn(r: InitRequest): Uint8Array {
  const out = new Uint8Array(INIT_IN_FULL_SIZE);
  InitIn.write(viewOf(out), 0, {
    major: r.major,
    minor: r.minor,
    maxReadahead: r.maxReadahead,
    flags: Number(r.flags & 0xffff_ffffn),
    flags2: Number(r.flags >> 32n),
  });
  return out;
}

/**
 * struct fuse_init_out, 64 bytes (24 for protocol minor < 23):
 *
 *   0       4       8              12      16     18     20          24
 *   +-------+-------+--------------+-------+------+------+-----------+
 *   | major | minor | max_readahead| flags | mxbg | cong | max_write |
 *   +-------+-------+-----+--------+-------+------+------+-----------+
 *   | time_gran     |mxpg | mapal  | flags2| max_stack_depth | unused |
 *   +---------------+-----+--------+-------+-----------------+--------+
 *   24              28    30       32      36                40       64
 *
 * max_background/congestion_threshold bound queued background requests;
 * max_write bounds one WRITE's data (and so the read buffer we need).
 */
export const InitOut = defineStruct("fuse_init_out", [
  ["major", "u32"],
  ["minor", "u32"],
  ["maxReadahead", "u32"],
  ["flags", "u32"],
  ["maxBackground", "u16"],
  ["congestionThreshold", "u16"],
  ["maxWrite", "u32"],
  ["timeGran", "u32"],
  ["maxPages", "u16"],
  ["mapAlignment", "u16"],
  ["flags2", "u32"],
  ["maxStackDepth", "u32"],
  ["unused1", "pad64"],
  ["unused2", "pad64"],
  ["unused3", "pad64"],
] as const);
const INIT_OUT_COMPAT_SIZE = 24;

export interface InitReply {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: bigint;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  timeGran: number;
  maxPages: number;
}

export function encodeInitOut(r: InitReply): Uint8Array {
  const full = InitOut.encode({
    ...r,
    flags: Number(r.flags & 0xffff_ffffn),
    flags2: Number(r.flags >> 32n),
  });
  // Older kernels reject a reply longer than the struct they know.
  return r.minor < 23 ? full.subarray(0, INIT_OUT_COMPAT_SIZE) : full;
}

export function decodeInitOut(bytes: Uint8Array): InitReply {
  const padded = new Uint8Array(InitOut.size);
  padded.set(bytes.subarray(0, InitOut.size));
  const o = InitOut.decode(padded);
  return {
    major: o.major,
    minor: o.minor,
    maxReadahead: o.maxReadahead,
    flags: BigInt(o.flags) | (BigInt(o.flags2) << 32n),
    maxBackground: o.maxBackground,
    congestionThreshold: o.congestionThreshold,
    maxWrite: o.maxWrite,
    timeGran: o.timeGran,
    maxPages: o.maxPages,
  };
}

// ---------------------------------------------------------------- request bodies

/** A NUL-terminated name (LOOKUP, GETXATTR); a missing NUL is a protocol error. */
export function decodeName(body: Uint8Array, offset = 0): string {
  const end = body.indexOf(0, offset);
  if (end === -1) throw new RangeError("name is not NUL-terminated");
  return dec.decode(body.subarray(offset, end));
}

export function encodeName(name: string): Uint8Array {
  const b = enc.encode(name);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/**
 * struct fuse_forget_in, 8 bytes: | nlookup u64 |
 */
export const ForgetIn = defineStruct("fuse_forget_in", [["nlookup", "u64"]] as const);

/**
 * struct fuse_batch_forget_in, 8 bytes, then `count` fuse_forget_one:
 *
 *   0       4       8                 24                 40
 *   +-------+-------+--------+--------+--------+--------+---
 *   | count | dummy | nodeid | nlookup| nodeid | nlookup| ...
 *   +-------+-------+--------+--------+--------+--------+---
 */
export const BatchForgetIn = defineStruct("fuse_batch_forget_in", [
  ["count", "u32"],
  ["dummy", "pad32"],
] as const);
export const ForgetOne = defineStruct("fuse_forget_one", [
  ["nodeid", "u64"],
  ["nlookup", "u64"],
] as const);

export interface ForgetItem {
  nodeid: number;
  nlookup: number;
}

export function decodeBatchForget(body: Uint8Array): ForgetItem[] {
  const v = viewOf(body);
  const { count } = BatchForgetIn.read(v, 0);
  const items: ForgetItem[] = [];
  for (let i = 0; i < count; i++) items.push(ForgetOne.read(v, BatchForgetIn.size + i * ForgetOne.size));
  return items;
}

export function encodeBatchForget(items: readonly ForgetItem[]): Uint8Array {
  const out = new Uint8Array(BatchForgetIn.size + items.length * ForgetOne.size);
  const v = viewOf(out);
  BatchForgetIn.write(v, 0, { count: items.length });
  items.forEach((it, i) => ForgetOne.write(v, BatchForgetIn.size + i * ForgetOne.size, it));
  return out;
}

/**
 * struct fuse_getattr_in, 16 bytes:
 *
 *   0               4       8                16
 *   +---------------+-------+----------------+
 *   | getattr_flags | dummy | fh             |   fh valid with FUSE_GETATTR_FH
 *   +---------------+-------+----------------+
 */
export const GetattrIn = defineStruct("fuse_getattr_in", [
  ["getattrFlags", "u32"],
  ["dummy", "pad32"],
  ["fh", "u64"],
] as const);
export const GETATTR_FH = 1;

/**
 * struct fuse_setattr_in, 88 bytes:
 *
 *   0       4       8      16     24           32      40      48      56
 *   +-------+-------+------+------+------------+-------+-------+-------+
 *   | valid | pad   | fh   | size | lock_owner | atime | mtime | ctime |
 *   +----+----+----+----+----+----+----+----+--+-------+-------+-------+
 *   |ans |mns |cns |mode|unu4|uid |gid |unu5|
 *   +----+----+----+----+----+----+----+----+
 *   56   60   64   68   72   76   80   84   88
 *
 * `valid` (FATTR_*) says which of the fields to apply.
 */
export const SetattrIn = defineStruct("fuse_setattr_in", [
  ["valid", "u32"],
  ["padding", "pad32"],
  ["fh", "u64"],
  ["size", "u64"],
  ["lockOwner", "u64n"],
  ["atime", "u64"],
  ["mtime", "u64"],
  ["ctime", "u64"],
  ["atimensec", "u32"],
  ["mtimensec", "u32"],
  ["ctimensec", "u32"],
  ["mode", "u32"],
  ["unused4", "pad32"],
  ["uid", "u32"],
  ["gid", "u32"],
  ["unused5", "pad32"],
] as const);

/**
 * struct fuse_open_in, 8 bytes (OPEN and OPENDIR):
 *
 *   0       4            8
 *   +-------+------------+
 *   | flags | open_flags |   flags = the open(2) flags, minus O_CREAT/O_EXCL/O_NOCTTY
 *   +-------+------------+
 */
export const OpenIn = defineStruct("fuse_open_in", [
  ["flags", "u32"],
  ["openFlags", "u32"],
] as const);

/**
 * struct fuse_open_out, 16 bytes:
 *
 *   0                8            12           16
 *   +----------------+------------+------------+
 *   | fh             | open_flags | backing_id |   open_flags = FOPEN_*
 *   +----------------+------------+------------+
 */
export const OpenOut = defineStruct("fuse_open_out", [
  ["fh", "u64"],
  ["openFlags", "u32"],
  ["backingId", "i32"],
] as const);

/**
 * struct fuse_read_in, 40 bytes (READ and READDIR):
 *
 *   0      8        16     20          24           32      36      40
 *   +------+--------+------+-----------+------------+-------+-------+
 *   | fh   | offset | size | read_flgs | lock_owner | flags | pad   |
 *   +------+--------+------+-----------+------------+-------+-------+
 */
export const ReadIn = defineStruct("fuse_read_in", [
  ["fh", "u64"],
  ["offset", "u64"],
  ["size", "u32"],
  ["readFlags", "u32"],
  ["lockOwner", "u64n"],
  ["flags", "u32"],
  ["padding", "pad32"],
] as const);

/**
 * struct fuse_write_in, 40 bytes, followed by `size` bytes of data:
 *
 *   0      8        16     20          24           32      36      40
 *   +------+--------+------+-----------+------------+-------+-------+=====+
 *   | fh   | offset | size | write_flgs| lock_owner | flags | pad   | data|
 *   +------+--------+------+-----------+------------+-------+-------+=====+
 */
export const WriteIn = defineStruct("fuse_write_in", [
  ["fh", "u64"],
  ["offset", "u64"],
  ["size", "u32"],
  ["writeFlags", "u32"],
  ["lockOwner", "u64n"],
  ["flags", "u32"],
  ["padding", "pad32"],
] as const);

export type WriteRequest = ReturnType<typeof WriteIn.decode> & { data: Uint8Array };

export function decodeWriteIn(body: Uint8Array): WriteRequest {
  const w = WriteIn.decode(body);
  const end = WriteIn.size + w.size;
  if (end > body.length) throw new RangeError(`fuse_write_in: size ${w.size} overruns the ${body.length}-byte request`);
  // A copy: the handler may run after the read buffer is reused.
  return { ...w, data: body.slice(WriteIn.size, end) };
}

export function encodeWriteIn(w: Omit<Partial<WriteRequest>, "size"> & { data: Uint8Array }): Uint8Array {
  const out = new Uint8Array(WriteIn.size + w.data.length);
  WriteIn.write(viewOf(out), 0, { ...w, size: w.data.length });
  out.set(w.data, WriteIn.size);
  return out;
}

/**
 * struct fuse_write_out, 8 bytes: | size u32 | padding u32 |  (bytes accepted)
 */
export const WriteOut = defineStruct("fuse_write_out", [
  ["size", "u32"],
  ["padding", "pad32"],
] as const);

/**
 * struct fuse_release_in, 24 bytes (RELEASE and RELEASEDIR):
 *
 *   0      8       12              16           24
 *   +------+-------+---------------+------------+
 *   | fh   | flags | release_flags | lock_owner |
 *   +------+-------+---------------+------------+
 */
export const ReleaseIn = defineStruct("fuse_release_in", [
  ["fh", "u64"],
  ["flags", "u32"],
  ["releaseFlags", "u32"],
  ["lockOwner", "u64n"],
] as const);

/**
 * struct fuse_flush_in, 24 bytes:
 *
 *   0      8        12      16           24
 *   +------+--------+-------+------------+
 *   | fh   | unused | pad   | lock_owner |
 *   +------+--------+-------+------------+
 */
export const FlushIn = defineStruct("fuse_flush_in", [
  ["fh", "u64"],
  ["unused", "pad32"],
  ["padding", "pad32"],
  ["lockOwner", "u64n"],
] as const);

/**
 * struct fuse_access_in, 8 bytes: | mask u32 | padding u32 |  (R_OK|W_OK|X_OK)
 */
export const AccessIn = defineStruct("fuse_access_in", [
  ["mask", "u32"],
  ["padding", "pad32"],
] as const);

/**
 * struct fuse_getxattr_in, 8 bytes; GETXATTR appends the NUL-terminated name:
 *
 *   0      4       8
 *   +------+-------+=========+
 *   | size | pad   | name\0  |   size 0 asks only for the value's length
 *   +------+-------+=========+
 */
export const GetxattrIn = defineStruct("fuse_getxattr_in", [
  ["size", "u32"],
  ["padding", "pad32"],
] as const);

/**
 * struct fuse_getxattr_out, 8 bytes: | size u32 | padding u32 |
 * (the reply to a GETXATTR/LISTXATTR with size 0)
 */
export const GetxattrOut = defineStruct("fuse_getxattr_out", [
  ["size", "u32"],
  ["padding", "pad32"],
] as const);

/**
 * struct fuse_interrupt_in, 8 bytes: | unique u64 |  (the request to interrupt)
 */
export const InterruptIn = defineStruct("fuse_interrupt_in", [["unique", "u64n"]] as const);

/**
 * struct fuse_kstatfs, 80 bytes (the STATFS reply, as fuse_statfs_out):
 *
 *   0        8       16       24      32      40
 *   +--------+-------+--------+-------+-------+
 *   | blocks | bfree | bavail | files | ffree |   u64 each
 *   +-------+---------+--------+-----+--------+
 *   | bsize | namelen | frsize | pad | spare[6] (24 bytes)
 *   +-------+---------+--------+-----+--------------------+
 *   40      44        48       52    56                   80
 */
export const Kstatfs = defineStruct("fuse_kstatfs", [
  ["blocks", "u64"],
  ["bfree", "u64"],
  ["bavail", "u64"],
  ["files", "u64"],
  ["ffree", "u64"],
  ["bsize", "u32"],
  ["namelen", "u32"],
  ["frsize", "u32"],
  ["padding", "pad32"],
  ["spare0", "pad64"],
  ["spare1", "pad64"],
  ["spare2", "pad64"],
] as const);
export type KstatfsValue = ReturnType<typeof Kstatfs.decode>;

// ---------------------------------------------------------------- READDIR

/**
 * struct fuse_dirent, 24 bytes plus the name, padded to a multiple of 8:
 *
 *   0      8      16        20     24
 *   +------+------+---------+------+===========+~~~~~~~~~+
 *   | ino  | off  | namelen | type | name      | pad to 8|
 *   +------+------+---------+------+===========+~~~~~~~~~+
 *
 * `off` is the cookie of the *next* entry: the kernel passes it back as the
 * offset of the following READDIR. `type` is a d_type (DT_DIR, DT_REG...).
 */
export const DIRENT_HEAD_SIZE = 24;

export interface Dirent {
  ino: number;
  /** Offset of the entry after this one. */
  off: number;
  type: number;
  name: string;
}

/** Size on the wire of one dirent with `nameLength` bytes of name. */
export function direntSize(nameLength: number): number {
  return (DIRENT_HEAD_SIZE + nameLength + 7) & ~7;
}

/**
 * Packs as many entries as fit in `maxSize` bytes, in order, never a partial
 * one. Returns the bytes and how many entries went in.
 */
export function encodeDirents(entries: readonly Dirent[], maxSize: number): { bytes: Uint8Array; count: number } {
  const names = entries.map((e) => enc.encode(e.name));
  let total = 0;
  let count = 0;
  for (const n of names) {
    const s = direntSize(n.length);
    if (total + s > maxSize) break;
    total += s;
    count++;
  }
  const out = new Uint8Array(total);
  const v = viewOf(out);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const e = entries[i]!;
    const n = names[i]!;
    v.setBigUint64(at, BigInt(e.ino), true);
    v.setBigUint64(at + 8, BigInt(e.off), true);
    v.setUint32(at + 16, n.length, true);
    v.setUint32(at + 20, e.type, true);
    out.set(n, at + DIRENT_HEAD_SIZE);
    at += direntSize(n.length);
  }
  return { bytes: out, count };
}

export function decodeDirents(bytes: Uint8Array): Dirent[] {
  const v = viewOf(bytes);
  const out: Dirent[] = [];
  let at = 0;
  while (at + DIRENT_HEAD_SIZE <= bytes.length) {
    const namelen = v.getUint32(at + 16, true);
    if (at + DIRENT_HEAD_SIZE + namelen > bytes.length) throw new RangeError("fuse_dirent: name overruns the buffer");
    out.push({
      ino: Number(v.getBigUint64(at, true)),
      off: Number(v.getBigUint64(at + 8, true)),
      type: v.getUint32(at + 20, true),
      name: dec.decode(bytes.subarray(at + DIRENT_HEAD_SIZE, at + DIRENT_HEAD_SIZE + namelen)),
    });
    at += direntSize(namelen);
  }
  return out;
}

// ---------------------------------------------------------------- framing

export interface RequestHeader {
  len: number;
  opcode: number;
  unique: bigint;
  nodeid: number;
  uid: number;
  gid: number;
  pid: number;
  totalExtlen: number;
}

/** A request split into its header and its argument bytes (extensions dropped). */
export interface RawRequest {
  header: RequestHeader;
  body: Uint8Array;
}

/** Parses one request; throws RangeError when `len` disagrees with the bytes. */
export function decodeRequest(bytes: Uint8Array): RawRequest {
  const header: RequestHeader = InHeader.decode(bytes);
  if (header.len < IN_HEADER_SIZE || header.len > bytes.length) {
    throw new RangeError(`fuse_in_header.len ${header.len} does not fit a ${bytes.length}-byte read`);
  }
  const ext = header.totalExtlen * 8;
  return { header, body: bytes.subarray(IN_HEADER_SIZE, header.len - ext) };
}

/**
 * Splits what one read returned into requests by each header's `len`. The
 * kernel returns one request per read, but a reader that coalesces reads
 * still gets every request out whole.
 */
export function* splitRequests(chunk: Uint8Array): Generator<Uint8Array> {
  let at = 0;
  while (at + IN_HEADER_SIZE <= chunk.length) {
    const len = viewOf(chunk).getUint32(at, true);
    if (len < IN_HEADER_SIZE || at + len > chunk.length) {
      throw new RangeError(`request at byte ${at} claims ${len} bytes, ${chunk.length - at} left`);
    }
    yield chunk.subarray(at, at + len);
    at += len;
  }
  if (at !== chunk.length) throw new RangeError(`${chunk.length - at} trailing bytes after the last request`);
}

/** A whole request as the kernel would send it (for tests and fakes). */
export function encodeRequest(h: Omit<RequestHeader, "len" | "totalExtlen">, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(IN_HEADER_SIZE + body.length);
  InHeader.write(viewOf(out), 0, { ...h, len: out.length, totalExtlen: 0 });
  out.set(body, IN_HEADER_SIZE);
  return out;
}

/** A success reply: header plus the body parts, concatenated. */
export function encodeReply(unique: bigint, ...parts: Uint8Array[]): Uint8Array {
  const len = OUT_HEADER_SIZE + parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(len);
  OutHeader.write(viewOf(out), 0, { len, error: 0, unique });
  let at = OUT_HEADER_SIZE;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An error reply: a bare header with -errno. */
export function encodeErrorReply(unique: bigint, errno: number): Uint8Array {
  if (!Number.isInteger(errno) || errno <= 0) throw new RangeError(`errno must be a positive integer, got ${errno}`);
  return OutHeader.encode({ len: OUT_HEADER_SIZE, error: -errno, unique });
}

/** A notification (unique 0, the code in `error`) with its body. */
export function encodeNotify(code: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(OUT_HEADER_SIZE + body.length);
  OutHeader.write(viewOf(out), 0, { len: out.length, error: code, unique: 0n });
  out.set(body, OUT_HEADER_SIZE);
  return out;
}

export interface Reply {
  unique: bigint;
  /** 0 or a positive errno. */
  errno: number;
  body: Uint8Array;
}

export function decodeReply(bytes: Uint8Array): Reply {
  const h = OutHeader.decode(bytes);
  if (h.len !== bytes.length) throw new RangeError(`fuse_out_header.len ${h.len} but ${bytes.length} bytes`);
  return { unique: h.unique, errno: h.error === 0 ? 0 : -h.error, body: bytes.subarray(OUT_HEADER_SIZE) };
}
