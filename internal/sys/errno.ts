/** The one typed error of the syscall layer, and the errno name table. */

/** Linux errno numbers (asm-generic; identical on x86_64 and arm64). */
export const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG",
  8: "ENOEXEC", 9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES",
  14: "EFAULT", 15: "ENOTBLK", 16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV",
  20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 25: "ENOTTY",
  26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE", 30: "EROFS", 31: "EMLINK",
  32: "EPIPE", 33: "EDOM", 34: "ERANGE", 35: "EDEADLK", 36: "ENAMETOOLONG", 37: "ENOLCK",
  38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 61: "ENODATA", 62: "ETIME", 71: "EPROTO",
  75: "EOVERFLOW", 84: "EILSEQ", 88: "ENOTSOCK", 90: "EMSGSIZE", 91: "EPROTOTYPE",
  92: "ENOPROTOOPT", 93: "EPROTONOSUPPORT", 95: "EOPNOTSUPP", 97: "EAFNOSUPPORT",
  98: "EADDRINUSE", 99: "EADDRNOTAVAIL", 104: "ECONNRESET", 105: "ENOBUFS", 107: "ENOTCONN",
  110: "ETIMEDOUT", 111: "ECONNREFUSED", 114: "EALREADY", 115: "EINPROGRESS", 116: "ESTALE",
  122: "EDQUOT", 125: "ECANCELED",
};

export const ERRNO: Record<string, number> = Object.fromEntries(
  Object.entries(ERRNO_NAMES).map(([n, name]) => [name, Number(n)]),
);

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

export interface SysErrorInfo {
  syscall: string;
  errno: number;
  path?: string;
  flags?: string;
}

/**
 * A failed system call. The message keeps crun's shape,
 * ``mount_setattr `/x`: EPERM``; callers branch on `code`, never on the text.
 */
export class SysError extends Error {
  readonly syscall: string;
  readonly errno: number;
  readonly code: string;
  readonly path?: string;
  readonly flags?: string;

  constructor(info: SysErrorInfo) {
    const code = errnoName(info.errno);
    const where = info.path !== undefined ? ` \`${info.path}\`` : "";
    const flags = info.flags ? ` (${info.flags})` : "";
    super(`${info.syscall}${where}${flags}: ${code}`);
    this.name = "SysError";
    this.syscall = info.syscall;
    this.errno = info.errno;
    this.code = code;
    if (info.path !== undefined) this.path = info.path;
    if (info.flags !== undefined) this.flags = info.flags;
  }
}

export function isSysError(e: unknown, code?: string): e is SysError {
  return e instanceof SysError && (code === undefined || e.code === code);
}
