/**
 * Constants of the FUSE kernel protocol (include/uapi/linux/fuse.h, 7.x):
 * opcodes, INIT capability bits, open/setattr flag bits, and name tables so
 * that logs and errors print flags by name (see internal/sys/flags.ts).
 *
 * All structs on /dev/fuse use the host's byte order; x86_64 and arm64 are
 * little-endian, which codec.ts assumes.
 */
import { formatFlags, type FlagTable } from "../sys/flags.ts";

/** The protocol major version this codec speaks. */
export const FUSE_KERNEL_VERSION = 7;
/**
 * The newest minor version we reply with: 7.31 gives every struct this codec
 * uses its current size, and nothing newer changes what we send.
 */
export const FUSE_KERNEL_MINOR_VERSION = 31;
/** The oldest minor version we accept (Linux 4.2): time_gran and 64-byte init_out. */
export const FUSE_MIN_MINOR_VERSION = 23;
/** The node id of the root directory. */
export const FUSE_ROOT_ID = 1;
/** The kernel refuses a read(2) of /dev/fuse with a smaller buffer. */
export const FUSE_MIN_READ_BUFFER = 8192;
/** Set by the kernel in `unique` on a request re-queued by FUSE_NOTIFY_RESEND. */
export const FUSE_UNIQUE_RESEND = 1n << 63n;

/** Request opcodes (enum fuse_opcode); the ones we serve are in dispatch.ts OPCODES. */
export const OP = {
  LOOKUP: 1, // name -> entry
  FORGET: 2, // drop n lookups of a node; no reply
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18, // last close of an open file
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25, // every close(2) of an open file
  INIT: 26, // first request: version and capability negotiation
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  GETLK: 31,
  SETLK: 32,
  SETLKW: 33,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36, // a signal arrived for an earlier request; no reply needed
  BMAP: 37,
  DESTROY: 38, // the filesystem is going away
  IOCTL: 39,
  POLL: 40,
  NOTIFY_REPLY: 41,
  BATCH_FORGET: 42, // many FORGETs in one; no reply
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  LSEEK: 46,
  COPY_FILE_RANGE: 47,
  SETUPMAPPING: 48,
  REMOVEMAPPING: 49,
  SYNCFS: 50,
  TMPFILE: 51,
  STATX: 52,
} as const;

export const OP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(OP).map(([k, v]) => [v, k]));

/** "LOOKUP", or "opcode 4242" for one this table does not know. */
export function opName(opcode: number): string {
  return OP_NAMES[opcode] ?? `opcode ${opcode}`;
}

/** Notification codes a server writes with unique 0 (enum fuse_notify_code). */
export const NOTIFY = {
  POLL: 1,
  INVAL_INODE: 2,
  INVAL_ENTRY: 3,
  STORE: 4,
  RETRIEVE: 5,
  DELETE: 6,
  /** Re-queue every request a server has read but not answered (kernel 6.9+, FUSE_HAS_RESEND). */
  RESEND: 7,
} as const;

/**
 * INIT capability bits: `flags` holds bits 0..31, `flags2` bits 32..63 (only
 * read when FUSE_INIT_EXT is set). Kept as bigint so one value holds both.
 */
export const INIT = {
  ASYNC_READ: 1n << 0n,
  POSIX_LOCKS: 1n << 1n,
  FILE_OPS: 1n << 2n,
  ATOMIC_O_TRUNC: 1n << 3n,
  EXPORT_SUPPORT: 1n << 4n,
  BIG_WRITES: 1n << 5n,
  DONT_MASK: 1n << 6n,
  SPLICE_WRITE: 1n << 7n,
  SPLICE_MOVE: 1n << 8n,
  SPLICE_READ: 1n << 9n,
  FLOCK_LOCKS: 1n << 10n,
  HAS_IOCTL_DIR: 1n << 11n,
  AUTO_INVAL_DATA: 1n << 12n,
  DO_READDIRPLUS: 1n << 13n,
  READDIRPLUS_AUTO: 1n << 14n,
  ASYNC_DIO: 1n << 15n,
  WRITEBACK_CACHE: 1n << 16n,
  NO_OPEN_SUPPORT: 1n << 17n,
  PARALLEL_DIROPS: 1n << 18n,
  HANDLE_KILLPRIV: 1n << 19n,
  POSIX_ACL: 1n << 20n,
  ABORT_ERROR: 1n << 21n,
  MAX_PAGES: 1n << 22n,
  CACHE_SYMLINKS: 1n << 23n,
  NO_OPENDIR_SUPPORT: 1n << 24n,
  EXPLICIT_INVAL_DATA: 1n << 25n,
  MAP_ALIGNMENT: 1n << 26n,
  SUBMOUNTS: 1n << 27n,
  HANDLE_KILLPRIV_V2: 1n << 28n,
  SETXATTR_EXT: 1n << 29n,
  INIT_EXT: 1n << 30n,
  INIT_RESERVED: 1n << 31n,
  SECURITY_CTX: 1n << 32n,
  HAS_INODE_DAX: 1n << 33n,
  CREATE_SUPP_GROUP: 1n << 34n,
  HAS_EXPIRE_ONLY: 1n << 35n,
  DIRECT_IO_ALLOW_MMAP: 1n << 36n,
  PASSTHROUGH: 1n << 37n,
  NO_EXPORT_SUPPORT: 1n << 38n,
  HAS_RESEND: 1n << 39n,
  ALLOW_IDMAP: 1n << 40n,
  OVER_IO_URING: 1n << 41n,
  REQUEST_TIMEOUT: 1n << 42n,
} as const;

/** The capabilities a session asks for, when the kernel offers them. */
export const WANTED_INIT_FLAGS: bigint =
  INIT.ASYNC_READ | INIT.BIG_WRITES | INIT.PARALLEL_DIROPS | INIT.ABORT_ERROR;

/** fuse_open_out.open_flags. */
export const FOPEN = {
  /** Bypass the page cache: every read(2) reaches the server (content is generated per read). */
  DIRECT_IO: 1 << 0,
  KEEP_CACHE: 1 << 1,
  NONSEEKABLE: 1 << 2,
  CACHE_DIR: 1 << 3,
  STREAM: 1 << 4,
  NOFLUSH: 1 << 5,
  PARALLEL_DIRECT_WRITES: 1 << 6,
} as const;

/** fuse_setattr_in.valid: which fields of the request are meaningful. */
export const FATTR = {
  MODE: 1 << 0,
  UID: 1 << 1,
  GID: 1 << 2,
  SIZE: 1 << 3,
  ATIME: 1 << 4,
  MTIME: 1 << 5,
  FH: 1 << 6,
  ATIME_NOW: 1 << 7,
  MTIME_NOW: 1 << 8,
  LOCKOWNER: 1 << 9,
  CTIME: 1 << 10,
  KILL_SUIDGID: 1 << 11,
} as const;

/** access(2) mask bits in fuse_access_in. */
export const ACCESS = { F_OK: 0, X_OK: 1, W_OK: 2, R_OK: 4 } as const;

/** File type bits of st_mode, and the d_type values READDIR carries. */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const DT = { UNKNOWN: 0, DIR: 4, REG: 8, LNK: 10 } as const;

/** d_type for a mode: what READDIR puts in fuse_dirent.type. */
export function dtypeOf(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return DT.DIR;
    case S_IFREG:
      return DT.REG;
    case S_IFLNK:
      return DT.LNK;
    default:
      return DT.UNKNOWN;
  }
}

export function formatInitFlags(flags: bigint): string {
  return formatFlags(INIT as unknown as FlagTable, flags, "FUSE_");
}

export function formatOpenFlags(flags: number): string {
  return formatFlags(FOPEN, flags, "FOPEN_");
}

export function formatSetattrValid(valid: number): string {
  return formatFlags(FATTR, valid, "FATTR_");
}
