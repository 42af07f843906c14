/**
 * The fds and files `create` and `exec` hand to the init stage or leave for
 * the caller: the pid file, the console socket, /dev/null for a terminal
 * process, and the connection to sysbox-fs's syscall interceptor. The
 * interceptor client is imported lazily: only containers with sysbox-fs
 * need it, and sysbox-runc's start-up runs once per container operation.
 */
import { resolve } from "node:path";
import { writeFileAtomic } from "../statefile/mod.ts";
import { fromNodeError } from "../sys/errno.ts";
import { O_FLAGS } from "../sys/fs.ts";
import { unixConnect } from "../sys/socket.ts";
import type { Sys } from "../sys/linux.ts";

/** Written whole or not at all: the shim reads it as soon as we exit. */
export function writePidFile(path: string, pid: number): void {
  try {
    writeFileAtomic(resolve(path), String(pid), 0o644);
  } catch (e) {
    throw fromNodeError(e);
  }
}

/** A connected, inheritable socket to sysbox-fs's syscall interceptor. */
export async function connectInterceptorFd(): Promise<number> {
  const { connectInterceptor } = await import("../intercept/mod.ts");
  return connectInterceptor();
}

/** A terminal process gets the pty as stdio; until then it holds /dev/null, never our pipes. */
export function openDevNull(sys: Sys): number {
  return sys.open("/dev/null", O_FLAGS.RDWR | O_FLAGS.CLOEXEC);
}

/** Connects to the console socket; the fd is left inheritable for the init stage. */
export function connectConsole(path: string, sys: Sys): number {
  const fd = unixConnect(path);
  sys.setCloexec(fd, false);
  return fd;
}

/** fds opened along the way, closed exactly once: on success by the caller, on failure by the undo. */
export class FdSet {
  #open = new Set<number>();
  readonly #sys: Sys;
  constructor(sys: Sys) {
    this.#sys = sys;
  }
  /** Records `fd` (ignoring -1) and returns it. */
  add(fd: number): number {
    if (fd >= 0) this.#open.add(fd);
    return fd;
  }
  close(fd: number): void {
    if (!this.#open.delete(fd)) return;
    this.#sys.close(fd);
  }
  /** Closes every fd, newest first; a failure does not stop the rest, and the first is thrown at the end. */
  closeAll(): void {
    let first: unknown;
    for (const fd of [...this.#open].reverse()) {
      try {
        this.close(fd);
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }
}
