/**
 * File-descriptor and path syscalls: synchronous, buffer-based, thin. Every
 * wrapper throws `SysError` naming the call and the path or fd it acted on.
 */
import { ptr } from "bun:ffi";
import { libc, check, errno, rawSyscall } from "./libc.ts";
import { ERRNO, SysError } from "./errno.ts";
import { pinned } from "./_pin.ts";
import { SYS } from "./arch.ts";
import { cstr } from "./cstr.ts";
import { formatFlags, type FlagTable } from "./flags.ts";

const O_X86_64 = {
  RDONLY: 0, WRONLY: 1, RDWR: 2, CREAT: 0o100, EXCL: 0o200, NOCTTY: 0o400, TRUNC: 0o1000,
  APPEND: 0o2000, NONBLOCK: 0o4000, DSYNC: 0o10000, DIRECT: 0o40000, LARGEFILE: 0o100000,
  DIRECTORY: 0o200000, NOFOLLOW: 0o400000, NOATIME: 0o1000000, CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

// arm64 swaps DIRECTORY/NOFOLLOW with DIRECT/LARGEFILE (arch/arm64/include/uapi/asm/fcntl.h).
const O_ARM64: Record<keyof typeof O_X86_64, number> = {
  ...O_X86_64, DIRECTORY: 0o40000, NOFOLLOW: 0o100000, DIRECT: 0o200000, LARGEFILE: 0o400000,
};

/** open(2) flags for the running architecture (flags.ts `O` holds x86_64 values). */
export const O_FLAGS: Record<keyof typeof O_X86_64, number> = process.arch === "arm64" ? O_ARM64 : O_X86_64;

/** The *at() family's dirfd sentinel and flags. */
export const AT_FDCWD = -100;
export const AT = {
  SYMLINK_NOFOLLOW: 0x100, REMOVEDIR: 0x200, SYMLINK_FOLLOW: 0x400, NO_AUTOMOUNT: 0x800,
  EMPTY_PATH: 0x1000, RECURSIVE: 0x8000,
} as const;

export const CLOSE_RANGE = { UNSHARE: 2, CLOEXEC: 4 } as const;
export const MFD = { CLOEXEC: 1, ALLOW_SEALING: 2, NOEXEC_SEAL: 8, EXEC: 0x10 } as const;

/** mknod(2) file-type bits, to OR into the mode. */
export const S_IF = { FIFO: 0o010000, CHR: 0o020000, DIR: 0o040000, BLK: 0o060000, REG: 0o100000 } as const;

const EINTR = 4;
const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

function oflags(flags: number): string {
  return formatFlags(O_FLAGS as FlagTable, flags, "O_");
}

export function open(path: string, flags: number, mode = 0): number {
  return check({ syscall: "open", path, flags: oflags(flags) }, () => libc.symbols.open(cstr(path), flags, mode));
}

export function openat(dirfd: number, path: string, flags: number, mode = 0): number {
  return check({ syscall: "openat", path, flags: oflags(flags) }, () =>
    libc.symbols.openat(dirfd, cstr(path), flags, mode),
  );
}

export function close(fd: number): void {
  // No EINTR retry for close: on Linux the fd is released even when close reports EINTR.
  if (libc.symbols.close(fd) < 0) {
    const e = errno();
    if (e !== EINTR) throw new SysError({ syscall: "close", path: `fd ${fd}`, errno: e });
  }
}

/** flock(2) operations. */
export const LOCK = { SH: 1, EX: 2, NB: 4, UN: 8 } as const;

/** flock(2); with LOCK.NB a held lock throws SysError EWOULDBLOCK (code "EAGAIN"). */
export function flock(fd: number, op: number): void {
  check({ syscall: "flock", path: `fd ${fd}`, flags: formatFlags(LOCK, op, "LOCK_") }, () => libc.symbols.flock(fd, op));
}

/** Closes each fd, ignoring ones already closed (EBADF). */
export function closeAll(fds: Iterable<number>): void {
  for (const fd of fds) {
    try {
      close(fd);
    } catch (e) {
      if (!(e instanceof SysError && e.code === "EBADF")) throw e;
    }
  }
}

/** Reads at most `buf.length` bytes; 0 means end of file. */
export function read(fd: number, buf: Uint8Array): number {
  return Number(check({ syscall: "read", path: `fd ${fd}` }, () => libc.symbols.read(fd, buf, buf.length)));
}

/**
 * A read of a non-blocking fd: the bytes read, or -1 when nothing waits
 * (EAGAIN), the common case of a poll for more, which then builds no error.
 */
export function readIfReady(fd: number, buf: Uint8Array): number {
  for (;;) {
    const r = Number(libc.symbols.read(fd, buf, buf.length));
    if (r >= 0) return r;
    const e = errno();
    if (e === ERRNO.EAGAIN) return -1;
    if (e !== ERRNO.EINTR) throw new SysError({ syscall: "read", path: `fd ${fd}`, errno: e });
  }
}

/** Writes at most `buf.length` bytes and returns how many were written. */
export function write(fd: number, buf: Uint8Array): number {
  return Number(check({ syscall: "write", path: `fd ${fd}` }, () => libc.symbols.write(fd, buf, buf.length)));
}

/** Writes all of `buf`, looping over short writes. */
export function writeAll(fd: number, buf: Uint8Array): void {
  for (let off = 0; off < buf.length; ) off += write(fd, buf.subarray(off));
}

/** Returns `[readEnd, writeEnd]`. */
export function pipe2(flags = O_FLAGS.CLOEXEC): [number, number] {
  const fds = new Int32Array(2);
  check({ syscall: "pipe2", flags: oflags(flags) }, () => libc.symbols.pipe2(fds, flags));
  return [fds[0]!, fds[1]!];
}

export function dup3(oldfd: number, newfd: number, flags = 0): number {
  return check({ syscall: "dup3", path: `fd ${oldfd} -> ${newfd}`, flags: oflags(flags) }, () =>
    libc.symbols.dup3(oldfd, newfd, flags),
  );
}

/** A new fd (>= 3, close-on-exec) for the same open file as `fd`. */
export function dupCloexec(fd: number): number {
  const F_DUPFD_CLOEXEC = 1030;
  return check({ syscall: "fcntl(F_DUPFD_CLOEXEC)", path: `fd ${fd}` }, () => libc.symbols.fcntl(fd, F_DUPFD_CLOEXEC, 3n));
}

export function getCloexec(fd: number): boolean {
  const r = check({ syscall: "fcntl(F_GETFD)", path: `fd ${fd}` }, () => libc.symbols.fcntl(fd, F_GETFD, 0));
  return (r & FD_CLOEXEC) !== 0;
}

export function setCloexec(fd: number, on: boolean): void {
  const cur = check({ syscall: "fcntl(F_GETFD)", path: `fd ${fd}` }, () => libc.symbols.fcntl(fd, F_GETFD, 0));
  const next = on ? cur | FD_CLOEXEC : cur & ~FD_CLOEXEC;
  check({ syscall: "fcntl(F_SETFD)", path: `fd ${fd}` }, () => libc.symbols.fcntl(fd, F_SETFD, next));
}

export function mkfifo(path: string, mode: number): void {
  check({ syscall: "mkfifo", path }, () => libc.symbols.mkfifo(cstr(path), mode));
}

/** `mode` carries the file type (S_IF.CHR, S_IF.BLK, ...) as well as permissions. */
export function mknod(path: string, mode: number, dev: bigint = 0n): void {
  check({ syscall: "mknod", path }, () => libc.symbols.mknod(cstr(path), mode, dev));
}

/** glibc's encoding of dev_t (sys/sysmacros.h): 12+20 bits of major, 8+24 of minor. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

export function major(dev: bigint): number {
  return Number(((dev >> 32n) & 0xfffff000n) | ((dev >> 8n) & 0xfffn));
}

export function minor(dev: bigint): number {
  return Number(((dev >> 12n) & 0xffffff00n) | (dev & 0xffn));
}

export function symlink(target: string, linkpath: string): void {
  check({ syscall: "symlink", path: linkpath }, () => libc.symbols.symlink(cstr(target), cstr(linkpath)));
}

export function chown(path: string, uid: number, gid: number): void {
  check({ syscall: "chown", path }, () => libc.symbols.chown(cstr(path), uid, gid));
}

export function lchown(path: string, uid: number, gid: number): void {
  check({ syscall: "lchown", path }, () => libc.symbols.lchown(cstr(path), uid, gid));
}

export function fchown(fd: number, uid: number, gid: number): void {
  check({ syscall: "fchown", path: `fd ${fd}` }, () => libc.symbols.fchown(fd, uid, gid));
}

export function chmod(path: string, mode: number): void {
  check({ syscall: "chmod", path }, () => libc.symbols.chmod(cstr(path), mode));
}

/** Sets the process umask and returns the previous one (umask cannot fail). */
export function umask(mask: number): number {
  return libc.symbols.umask(mask);
}

export function chdir(path: string): void {
  check({ syscall: "chdir", path }, () => libc.symbols.chdir(cstr(path)));
}

export function fchdir(fd: number): void {
  check({ syscall: "fchdir", path: `fd ${fd}` }, () => libc.symbols.fchdir(fd));
}

export function chroot(path: string): void {
  check({ syscall: "chroot", path }, () => libc.symbols.chroot(cstr(path)));
}

/** close_range(2); `last` defaults to the highest possible fd. */
export function closeRange(first: number, last = 0xffffffff, flags = 0): void {
  rawSyscall("close_range", SYS.close_range, [first, last, flags], `fds ${first}..${last}`);
}

export function memfdCreate(name: string, flags: number = MFD.CLOEXEC): number {
  const nameBuf = cstr(name);
  return Number(pinned([nameBuf], () => rawSyscall("memfd_create", SYS.memfd_create, [BigInt(ptr(nameBuf)), flags], name)));
}

const linkBuf = new Uint8Array(4096);
const linkDecoder = new TextDecoder();

/**
 * readlink(2) that returns null instead of throwing when `path` is not a
 * symlink or cannot be read: for hot paths that probe many components,
 * where an exception per plain directory would cost more than the syscall.
 */
export function tryReadlink(path: string): string | null {
  const n = Number(libc.symbols.readlink(cstr(path), linkBuf, BigInt(linkBuf.length)));
  if (n < 0 || n >= linkBuf.length) return null;
  return linkDecoder.decode(linkBuf.subarray(0, n));
}
