/**
 * Seccomp user notification (seccomp_unotify(2)): the listener-fd ioctls,
 * poll(2) over many fds, and reading a trapped process's memory. The struct
 * codecs are pure and tested byte by byte; the wrappers stay thin. Deciding
 * what to answer lives in internal/intercept.
 */
import { ptr } from "bun:ffi";
import { openSync, closeSync } from "node:fs";
import { libc, check, errno } from "./libc.ts";
import { SysError } from "./errno.ts";
import { pinned } from "./_pin.ts";

/*
 * Byte layouts (include/uapi/linux/seccomp.h, poll.h, uio.h), little-endian LP64:
 *
 * struct seccomp_notif (80 bytes)          struct seccomp_data (64 bytes)
 *   0  u64 id                                0  i32 nr (syscall number, per arch)
 *   8  u32 pid (tid, in the listener's       4  u32 arch (AUDIT_ARCH_*)
 *             pid namespace)                 8  u64 instruction_pointer
 *  12  u32 flags (none defined)             16  u64 args[6]
 *  16  struct seccomp_data data
 *
 * struct seccomp_notif_resp (24 bytes)     struct pollfd (8 bytes)
 *   0  u64 id                                0  i32 fd
 *   8  i64 val (the syscall's return)        4  i16 events
 *  16  i32 error (0 or a negative errno)     6  i16 revents
 *  20  u32 flags (USER_NOTIF_FLAG_CONTINUE)
 *
 * struct seccomp_notif_addfd (24 bytes)    struct iovec (16 bytes)
 *   0  u64 id                                0  void  *iov_base
 *   8  u32 flags   12  u32 srcfd             8  size_t iov_len
 *  16  u32 newfd   20  u32 newfd_flags
 *
 * RECV wants a zeroed seccomp_notif (EINVAL otherwise, since Linux 5.5).
 */
export const NOTIF_SIZE = 80;
export const NOTIF_RESP_SIZE = 24;
export const NOTIF_ADDFD_SIZE = 24;
export const POLLFD_SIZE = 8;

/** `_IOC(dir, type, nr, size)` of asm-generic/ioctl.h (x86_64 and arm64 share it). */
export function ioc(dir: "none" | "w" | "r" | "wr", type: number, nr: number, size: number): number {
  const d = { none: 0, w: 1, r: 2, wr: 3 }[dir];
  return ((d << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}

const SECCOMP_IOC_MAGIC = 0x21; // '!'

/** The listener ioctls; ID_VALID uses the corrected _IOW number (the kernel also takes the old _IOR one). */
export const SECCOMP_IOCTL_NOTIF = {
  RECV: ioc("wr", SECCOMP_IOC_MAGIC, 0, NOTIF_SIZE),
  SEND: ioc("wr", SECCOMP_IOC_MAGIC, 1, NOTIF_RESP_SIZE),
  ID_VALID: ioc("w", SECCOMP_IOC_MAGIC, 2, 8),
  ADDFD: ioc("w", SECCOMP_IOC_MAGIC, 3, NOTIF_ADDFD_SIZE),
  SET_FLAGS: ioc("w", SECCOMP_IOC_MAGIC, 4, 8),
} as const;

/** seccomp_notif_resp.flags: let the syscall run in the kernel as if never trapped. */
export const SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1;
/** SET_FLAGS (Linux 6.6+): wake the target on the supervisor's CPU, for synchronous handlers. */
export const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP = 1;

/** poll(2) event bits. */
export const POLL = { IN: 0x1, PRI: 0x2, OUT: 0x4, ERR: 0x8, HUP: 0x10, NVAL: 0x20 } as const;

export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer: bigint;
  args: [bigint, bigint, bigint, bigint, bigint, bigint];
}

export interface SeccompNotif {
  id: bigint;
  pid: number;
  flags: number;
  data: SeccompData;
}

export type SeccompResponse =
  | { id: bigint; continue: true }
  | { id: bigint; error: number }
  | { id: bigint; val: bigint };

export function decodeNotif(buf: Uint8Array): SeccompNotif {
  if (buf.length < NOTIF_SIZE) throw new RangeError(`seccomp_notif needs ${NOTIF_SIZE} bytes, got ${buf.length}`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const args = [0, 1, 2, 3, 4, 5].map((i) => v.getBigUint64(32 + 8 * i, true)) as SeccompData["args"];
  return {
    id: v.getBigUint64(0, true),
    pid: v.getUint32(8, true),
    flags: v.getUint32(12, true),
    data: { nr: v.getInt32(16, true), arch: v.getUint32(20, true), instructionPointer: v.getBigUint64(24, true), args },
  };
}

/** The inverse of decodeNotif, for tests and fakes. */
export function encodeNotif(n: SeccompNotif): Uint8Array {
  const buf = new Uint8Array(NOTIF_SIZE);
  const v = new DataView(buf.buffer);
  v.setBigUint64(0, n.id, true);
  v.setUint32(8, n.pid, true);
  v.setUint32(12, n.flags, true);
  v.setInt32(16, n.data.nr, true);
  v.setUint32(20, n.data.arch >>> 0, true);
  v.setBigUint64(24, n.data.instructionPointer, true);
  n.data.args.forEach((a, i) => v.setBigUint64(32 + 8 * i, BigInt.asUintN(64, a), true));
  return buf;
}

/** A seccomp_notif_resp: CONTINUE, a failure with `error` (a positive errno), or a faked return value. */
export function encodeResponse(r: SeccompResponse): Uint8Array {
  const buf = new Uint8Array(NOTIF_RESP_SIZE);
  const v = new DataView(buf.buffer);
  v.setBigUint64(0, r.id, true);
  if ("continue" in r) {
    v.setUint32(20, SECCOMP_USER_NOTIF_FLAG_CONTINUE, true);
  } else if ("error" in r) {
    if (!Number.isInteger(r.error) || r.error <= 0 || r.error > 4095) throw new RangeError(`errno must be 1..4095, got ${r.error}`);
    v.setInt32(16, -r.error, true);
  } else {
    v.setBigInt64(8, r.val, true);
  }
  return buf;
}

export interface PollEntry {
  fd: number;
  events: number;
}

/** An array of struct pollfd with revents cleared. */
export function encodePollfds(entries: readonly PollEntry[]): Uint8Array {
  const buf = new Uint8Array(entries.length * POLLFD_SIZE);
  const v = new DataView(buf.buffer);
  entries.forEach((e, i) => {
    v.setInt32(i * POLLFD_SIZE, e.fd, true);
    v.setInt16(i * POLLFD_SIZE + 4, e.events, true);
  });
  return buf;
}

/** revents of entry `i` after poll(). */
export function pollRevents(buf: Uint8Array, i: number): number {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint16(i * POLLFD_SIZE + 6, true);
}

const fdDesc = (fd: number) => `fd ${fd}`;
const ENOENT = 2;
const EINTR = 4;

/**
 * poll(2) over a pollfd array from encodePollfds; returns how many entries
 * have revents set (0 on timeout). `timeoutMs` < 0 waits forever. EINTR is
 * retried with the same timeout.
 */
export function poll(fds: Uint8Array, timeoutMs: number): number {
  return check({ syscall: "poll" }, () => libc.symbols.poll(fds, BigInt(fds.length / POLLFD_SIZE), timeoutMs));
}

/**
 * SECCOMP_IOCTL_NOTIF_RECV into `buf` (zeroed here). Returns null when the
 * notification vanished between poll and recv (ENOENT: the target was
 * interrupted or killed). Blocks if nothing is pending, so poll first.
 */
export function notifRecv(fd: number, buf: Uint8Array = new Uint8Array(NOTIF_SIZE)): SeccompNotif | null {
  buf.fill(0);
  for (;;) {
    if (libc.symbols.ioctl(fd, SECCOMP_IOCTL_NOTIF.RECV, buf) >= 0) return decodeNotif(buf);
    const e = errno();
    if (e === EINTR) continue;
    if (e === ENOENT) return null;
    throw new SysError({ syscall: "ioctl(SECCOMP_IOCTL_NOTIF_RECV)", path: fdDesc(fd), errno: e });
  }
}

/**
 * SECCOMP_IOCTL_NOTIF_SEND. Returns false when the notification is no longer
 * valid (ENOENT: the target was interrupted by a signal or died); the kernel
 * restarts or drops the syscall itself then.
 */
export function notifSend(fd: number, resp: SeccompResponse): boolean {
  return ioctlUnlessGone(fd, SECCOMP_IOCTL_NOTIF.SEND, encodeResponse(resp), "SECCOMP_IOCTL_NOTIF_SEND");
}

/**
 * SECCOMP_IOCTL_NOTIF_ID_VALID: true while the target still waits in the
 * syscall of notification `id`. Checked after reading the target's memory or
 * /proc files and before acting on them, so a pid that was reused in between
 * is never trusted (the TOCTOU check of seccomp_unotify(2)).
 */
export function notifIdValid(fd: number, id: bigint): boolean {
  return ioctlUnlessGone(fd, SECCOMP_IOCTL_NOTIF.ID_VALID, new BigUint64Array([id]), "SECCOMP_IOCTL_NOTIF_ID_VALID");
}

/** A notify ioctl, retried on EINTR: true when done, false on ENOENT (the target left its syscall). */
function ioctlUnlessGone(fd: number, request: number | bigint, buf: NodeJS.TypedArray, name: string): boolean {
  for (;;) {
    if (libc.symbols.ioctl(fd, request, buf) >= 0) return true;
    const e = errno();
    if (e === EINTR) continue;
    if (e === ENOENT) return false;
    throw new SysError({ syscall: `ioctl(${name})`, path: fdDesc(fd), errno: e });
  }
}

/** SECCOMP_IOCTL_NOTIF_SET_FLAGS (Linux 6.6+; EINVAL or ENOTTY before). */
export function notifSetFlags(fd: number, flags: number): void {
  const buf = new BigUint64Array([BigInt(flags)]);
  check({ syscall: "ioctl(SECCOMP_IOCTL_NOTIF_SET_FLAGS)", path: fdDesc(fd) }, () =>
    libc.symbols.ioctl(fd, SECCOMP_IOCTL_NOTIF.SET_FLAGS, buf));
}

// ---- reading the target's memory ----

/** Remote reads are split at this boundary, the smallest page size Linux uses. */
const PAGE = 4096;

/**
 * One iovec per page-bounded piece of [addr, addr+len): process_vm_readv
 * never splits an iovec, so a string that ends just before an unmapped page
 * is still read up to that page.
 */
export function splitRemote(addr: bigint, len: number): Array<{ base: bigint; len: number }> {
  const out: Array<{ base: bigint; len: number }> = [];
  let a = addr;
  let left = len;
  while (left > 0) {
    const room = PAGE - Number(a % BigInt(PAGE));
    const n = Math.min(room, left);
    out.push({ base: a, len: n });
    a += BigInt(n);
    left -= n;
  }
  return out;
}

function encodeIovecs(list: ReadonlyArray<{ base: bigint; len: number }>, into?: Uint8Array): Uint8Array {
  const buf = into && into.length >= 16 * list.length ? into : new Uint8Array(16 * list.length);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  list.forEach((e, i) => {
    v.setBigUint64(16 * i, e.base, true);
    v.setBigUint64(16 * i + 8, BigInt(e.len), true);
  });
  return buf;
}

/** Errors that mean "process_vm_readv is unavailable here", not "bad address". */
const VM_READV_UNAVAILABLE = new Set([1 /* EPERM */, 13 /* EACCES */, 38 /* ENOSYS */]);

// Scratch iovecs, reused: allocating typed arrays costs more than the syscall.
const localIov = new Uint8Array(16);
const remoteIov = new Uint8Array(16 * 8);

/**
 * Reads up to `len` bytes at `addr` in process `pid` into `into` (a new
 * buffer by default) and returns the part read, which stops early at the
 * first unreadable page. Uses process_vm_readv(2), then /proc/PID/mem where
 * that syscall is unavailable. Throws SysError (ESRCH: the process is gone;
 * EFAULT: nothing readable at `addr`).
 */
export function readProcessMemory(pid: number, addr: bigint, len: number, into?: Uint8Array): Uint8Array {
  const out = into && into.length >= len ? into : new Uint8Array(len);
  if (len === 0) return out.subarray(0, 0);
  const local = encodeIovecs([{ base: BigInt(ptr(out)), len }], localIov);
  const remoteList = splitRemote(addr, len);
  const remote = encodeIovecs(remoteList, remoteIov);
  const n = BigInt(pinned([out, local, remote], () =>
    libc.symbols.process_vm_readv(pid, local, 1n, remote, BigInt(remoteList.length), 0n)));
  if (n >= 0n) {
    if (n === 0n) throw new SysError({ syscall: "process_vm_readv", path: `pid ${pid}`, errno: 14 /* EFAULT */ });
    return out.subarray(0, Number(n));
  }
  const e = errno();
  if (!VM_READV_UNAVAILABLE.has(e)) throw new SysError({ syscall: "process_vm_readv", path: `pid ${pid}`, errno: e });
  return readProcMem(pid, remoteList, out);
}

/**
 * Writes all of `data` at `addr` in process `pid` (a trapped caller's out
 * argument): process_vm_writev(2), then /proc/PID/mem where that syscall is
 * unavailable. Throws SysError (ESRCH: gone; EFAULT: not all of it writable).
 */
export function writeProcessMemory(pid: number, addr: bigint, data: Uint8Array): void {
  if (data.length === 0) return;
  const local = encodeIovecs([{ base: BigInt(ptr(data)), len: data.length }]);
  const remoteList = splitRemote(addr, data.length);
  const remote = encodeIovecs(remoteList);
  const n = BigInt(pinned([data, local, remote], () =>
    libc.symbols.process_vm_writev(pid, local, 1n, remote, BigInt(remoteList.length), 0n)));
  if (n === BigInt(data.length)) return;
  if (n >= 0n) throw new SysError({ syscall: "process_vm_writev", path: `pid ${pid}`, errno: 14 /* EFAULT */ });
  const e = errno();
  if (!VM_READV_UNAVAILABLE.has(e)) throw new SysError({ syscall: "process_vm_writev", path: `pid ${pid}`, errno: e });
  const path = `/proc/${pid}/mem`;
  let fd: number;
  try {
    fd = openSync(path, "r+");
  } catch (err) {
    const code = (err as { errno?: number }).errno;
    throw new SysError({ syscall: "open", path, errno: code ? Math.abs(code) : 3 });
  }
  try {
    const w = Number(pinned([data], () => libc.symbols.pwrite(fd, ptr(data), BigInt(data.length), BigInt.asIntN(64, addr))));
    if (w !== data.length) throw new SysError({ syscall: "pwrite", path, errno: w < 0 ? errno() : 14 });
  } finally {
    closeSync(fd);
  }
}

/** The /proc/PID/mem fallback: one pread per page piece, stopping at the first failure. */
function readProcMem(pid: number, pieces: ReadonlyArray<{ base: bigint; len: number }>, out: Uint8Array): Uint8Array {
  const path = `/proc/${pid}/mem`;
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    const code = (e as { errno?: number }).errno;
    throw new SysError({ syscall: "open", path, errno: code ? Math.abs(code) : 3 });
  }
  let got = 0;
  try {
    for (const p of pieces) {
      const n = Number(libc.symbols.pread(fd, ptr(out, got), BigInt(p.len), p.base));
      if (n <= 0) {
        if (got === 0) throw new SysError({ syscall: "pread", path, errno: n < 0 ? errno() : 14 });
        break;
      }
      got += n;
      if (n < p.len) break;
    }
  } finally {
    closeSync(fd);
  }
  return out.subarray(0, got);
}

const stringBuf = new Uint8Array(4096);
const decoder = new TextDecoder();

/**
 * A NUL-terminated string at `addr` in process `pid`, of at most `max` bytes
 * including the NUL (PATH_MAX by default). Reads to the end of `addr`'s
 * page first, where nearly every string ends. Throws SysError ENAMETOOLONG
 * when no NUL comes within `max` bytes, EFAULT when the string runs into
 * unreadable memory, as the kernel would for a path argument.
 */
export function readProcessString(pid: number, addr: bigint, max = 4096): string {
  if (addr === 0n) throw new SysError({ syscall: "process_vm_readv", path: `pid ${pid}`, errno: 14 });
  const buf = max <= stringBuf.length ? stringBuf : new Uint8Array(max);
  const first = Math.min(max, PAGE - Number(addr % BigInt(PAGE)));
  let bytes = readProcessMemory(pid, addr, first, buf);
  let nul = bytes.indexOf(0);
  if (nul < 0 && bytes.length === first && first < max) {
    bytes = readProcessMemory(pid, addr, max, buf);
    nul = bytes.indexOf(0);
  }
  if (nul < 0) {
    throw new SysError({ syscall: "process_vm_readv", path: `pid ${pid}`, errno: bytes.length < max ? 14 : 36 /* ENAMETOOLONG */ });
  }
  return decoder.decode(bytes.subarray(0, nul));
}
