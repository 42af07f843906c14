/**
 * The seam between the cgroup manager and the kernel: cgroupfs is plain file
 * I/O, plus kill(2) and a sleep for the freezer waits. Tests pass a recording
 * or fabricated implementation; errors are always `SysError`s.
 */
import * as fs from "node:fs";
import { errnoNumber, SysError } from "../sys/errno.ts";

export interface DirEntry {
  name: string;
  isDir: boolean;
}

export interface CgroupIo {
  /** Whole file as text; throws `SysError` (ENOENT when the knob is missing). */
  readFile(path: string): string;
  /** One open(O_WRONLY|O_TRUNC) and one write(2), as the kernel wants per value. */
  writeFile(path: string, data: string): void;
  /** mkdir(2); returns false when it already existed. */
  mkdir(path: string): boolean;
  rmdir(path: string): void;
  readdir(path: string): DirEntry[];
  exists(path: string): boolean;
  chown(path: string, uid: number, gid: number): void;
  kill(pid: number, signal: number | NodeJS.Signals): void;
  sleep(ms: number): Promise<void>;
}

/**
 * Turns a node:fs error (or any error with an errno `code`) into the
 * project's `SysError`; anything else is returned as is.
 */
export function toSysError(e: unknown, syscall: string, path: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.errno === "number" && typeof err.code === "string") {
    return new SysError({ syscall, errno: Math.abs(err.errno), path });
  }
  const errno = err && typeof err.code === "string" ? errnoNumber(err.code) : undefined;
  return errno === undefined ? e : new SysError({ syscall, errno, path });
}

/** Runs `fn`, throwing its errors as `toSysError` makes them. */
export function withSysErrors<T>(syscall: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toSysError(e, syscall, path);
  }
}

/** The real implementation over node:fs and process.kill. */
export const realIo: CgroupIo = {
  readFile: (path) => withSysErrors("read", path, () => fs.readFileSync(path, "utf8")),
  writeFile(path, data) {
    // No O_CREAT: a missing knob must surface as ENOENT, as it does on cgroupfs.
    const fd = withSysErrors("open", path, () => fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_TRUNC));
    try {
      withSysErrors("write", path, () => fs.writeSync(fd, data));
    } catch (e) {
      if (e instanceof SysError) e.message += ` (value ${JSON.stringify(data)})`;
      throw e;
    } finally {
      fs.closeSync(fd);
    }
  },
  mkdir(path) {
    try {
      fs.mkdirSync(path, { mode: 0o755 });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw toSysError(e, "mkdir", path);
    }
  },
  rmdir: (path) => withSysErrors("rmdir", path, () => fs.rmdirSync(path)),
  readdir: (path) =>
    withSysErrors("readdir", path, () =>
      fs.readdirSync(path, { withFileTypes: true }).map((d) => ({ name: d.name, isDir: d.isDirectory() })),
    ),
  exists: (path) => fs.existsSync(path),
  chown: (path, uid, gid) => withSysErrors("chown", path, () => fs.chownSync(path, uid, gid)),
  kill(pid, signal) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      throw toSysError(e, "kill", String(pid));
    }
  },
  sleep: (ms) => Bun.sleep(ms),
};

/** Options every manager function accepts. */
export interface IoOptions {
  io?: CgroupIo;
}

export function ioOf(opts?: IoOptions): CgroupIo {
  return opts?.io ?? realIo;
}

/** ENOENT-tolerant read: undefined when the knob does not exist. */
export function readOptional(io: CgroupIo, path: string): string | undefined {
  try {
    return io.readFile(path);
  } catch (e) {
    if (e instanceof SysError && (e.code === "ENOENT" || e.code === "ENODEV")) return undefined;
    throw e;
  }
}
