/**
 * The daemon pid file: one instance per run dir. A pid file naming a live
 * process that looks like the same daemon stops a second start; any other pid
 * file (dead process, reused pid, garbage) is stale and replaced.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";

export class AlreadyRunningError extends Error {
  readonly daemon: string;
  readonly pid: number;
  readonly pidFile: string;
  constructor(daemon: string, pid: number, pidFile: string) {
    super(`${daemon} is already running (pid ${pid}, pid file ${pidFile})`);
    this.name = "AlreadyRunningError";
    this.daemon = daemon;
    this.pid = pid;
    this.pidFile = pidFile;
  }
}

export interface PidFile {
  readonly path: string;
  readonly pid: number;
  /** Removes the file if it still names us; safe to call more than once. */
  release(): void;
}

/** The pid in a pid file, or undefined if it is missing or not a pid. */
export function readPidFile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  const pid = m ? Number(m[1]) : NaN;
  return pid > 0 ? pid : undefined;
}

/**
 * Whether `pid` is a live process started as `daemon`: some argument has
 * `daemon` as a path segment, which matches both the installed binary
 * (/usr/bin/sysbox-mgr) and a source run (bun cmd/sysbox-mgr/main.ts).
 */
export function isDaemonProcess(pid: number, daemon: string): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") return false;
    // Alive but unreadable (hidepid): assume the worst rather than run twice.
    return true;
  }
  // Zombies and kernel threads have an empty cmdline.
  return cmdline.split("\0").some((arg) => arg.split("/").includes(daemon));
}

/** Creates the pid file for this process, replacing a stale one; throws AlreadyRunningError. */
export function acquirePidFile(path: string, daemon: string, opts: { pid?: number } = {}): PidFile {
  const pid = opts.pid ?? process.pid;
  // Two tries: the second follows removal of a stale file. O_EXCL makes two
  // daemons starting at once see each other rather than both win.
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const other = readPidFile(path);
      if (other !== undefined && other !== pid && isDaemonProcess(other, daemon)) {
        throw new AlreadyRunningError(daemon, other, path);
      }
      removeIfPresent(path);
      continue;
    }
    try {
      writeSync(fd, `${pid}\n`);
    } finally {
      closeSync(fd);
    }
    return pidFileHandle(path, pid);
  }
  throw new Error(`cannot create pid file ${path}: another process keeps recreating it`);
}

function pidFileHandle(path: string, pid: number): PidFile {
  let released = false;
  return {
    path,
    pid,
    release() {
      if (released) return;
      released = true;
      if (readPidFile(path) === pid) removeIfPresent(path);
    },
  };
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
