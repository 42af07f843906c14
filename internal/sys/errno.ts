/** The one typed error of the syscall layer, and the errno name table. */

/** Linux errno numbers (asm-generic; identical on x86_64 and arm64). */
export const ERRNO = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9,
  ECHILD: 10, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, ENOTBLK: 15, EBUSY: 16, EEXIST: 17,
  EXDEV: 18, ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25,
  ETXTBSY: 26, EFBIG: 27, ENOSPC: 28, ESPIPE: 29, EROFS: 30, EMLINK: 31, EPIPE: 32, EDOM: 33,
  ERANGE: 34, EDEADLK: 35, ENAMETOOLONG: 36, ENOLCK: 37, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40,
  ENODATA: 61, ETIME: 62, EPROTO: 71, EOVERFLOW: 75, EILSEQ: 84, ENOTSOCK: 88, EMSGSIZE: 90,
  EPROTOTYPE: 91, ENOPROTOOPT: 92, EPROTONOSUPPORT: 93, EOPNOTSUPP: 95, EAFNOSUPPORT: 97,
  EADDRINUSE: 98, EADDRNOTAVAIL: 99, ECONNRESET: 104, ENOBUFS: 105, ENOTCONN: 107, ETIMEDOUT: 110,
  ECONNREFUSED: 111, EALREADY: 114, EINPROGRESS: 115, ESTALE: 116, EDQUOT: 122, ECANCELED: 125,
} as const;

export type ErrnoCode = keyof typeof ERRNO;

export const ERRNO_NAMES: Readonly<Record<number, ErrnoCode>> = Object.fromEntries(
  Object.entries(ERRNO).map(([name, n]) => [n, name]),
) as Record<number, ErrnoCode>;

/** The number of an errno name such as a Node error's `code`; undefined when it is not one. */
export function errnoNumber(code: string): number | undefined {
  return Object.hasOwn(ERRNO, code) ? ERRNO[code as ErrnoCode] : undefined;
}

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

/**
 * A Node fs error (`ENOENT: no such file or directory, open '/x'`) as the
 * SysError it stands for (``open `/x`: ENOENT``); anything else unchanged.
 * `path` names the file when Node's error does not (a read of a directory).
 */
export function fromNodeError(e: unknown, path?: string): unknown {
  if (!(e instanceof Error) || e instanceof SysError) return e;
  const { code, syscall, path: nodePath } = e as NodeJS.ErrnoException;
  const errno = code === undefined ? undefined : errnoNumber(code);
  if (errno === undefined || typeof syscall !== "string") return e;
  const where = typeof nodePath === "string" ? nodePath : path;
  return new SysError({ syscall, errno, ...(where !== undefined ? { path: where } : {}) });
}
