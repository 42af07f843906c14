/**
 * Errno at the FUSE boundary. A handler answers with an error by throwing
 * `FuseError(ERRNO.X)`; a `SysError` travels to the caller only when the
 * handler opts in with `FuseError.from(sysErr)`. Anything else (a bug, a
 * host error nobody chose to expose) becomes EIO, logged once per message,
 * so host details never leak by accident.
 */
import type { Logger } from "../log/mod.ts";
import { ERRNO, errnoName, errnoNumber, isSysError, type ErrnoCode } from "../sys/errno.ts";

export { ERRNO, errnoName };

export class FuseError extends Error {
  readonly errno: number;
  constructor(errno: number, message?: string) {
    super(message ?? errnoName(errno));
    this.name = "FuseError";
    this.errno = errno;
  }

  /** Exposes a syscall's errno to the FUSE caller on purpose. */
  static from(e: unknown): FuseError {
    if (e instanceof FuseError) return e;
    if (isSysError(e)) return new FuseError(e.errno, e.message);
    const code = (e as { code?: unknown } | null)?.code;
    const errno = typeof code === "string" ? errnoNumber(code) : undefined;
    if (errno !== undefined) return new FuseError(errno, (e as Error).message);
    throw e;
  }
}

/** Shorthand: `throw fuseErr("ENOENT")`. */
export function fuseErr(code: ErrnoCode, message?: string): FuseError {
  return new FuseError(ERRNO[code], message);
}


/**
 * The errno to answer with. FuseError keeps its own; everything else is EIO,
 * reported through `log` the first time its message is seen.
 */
export function toErrno(e: unknown, what: string, log?: Logger, seen: Set<string> = defaultSeen): number {
  if (e instanceof FuseError) return e.errno;
  const msg = e instanceof Error ? e.message : String(e);
  const key = `${what}: ${msg}`;
  if (!seen.has(key)) {
    if (seen.size > 1000) seen.clear();
    seen.add(key);
    log?.warn(`${key} (answered EIO)`);
  }
  return ERRNO.EIO;
}

const defaultSeen = new Set<string>();
