/**
 * Pass-through for entries the kernel namespaces (most of /proc/sys/net,
 * kernel.hostname, the IPC limits...): the I/O runs in the *caller's*
 * namespaces, user namespace included, so the caller sees and may change
 * exactly what it would natively, with the kernel's own permission checks.
 *
 * Each operation runs a short-lived helper under `nsenter(1)` (a Bun process
 * is multi-threaded and cannot setns into a user namespace itself):
 *
 *   read   nsenter -t PID -U -n -i -u -p -- cat PATH
 *   write  nsenter ... -- sh -c 'cat > "$1"' sh PATH      (data on stdin: one write)
 *   list   nsenter ... -- find DIR -mindepth 1 -maxdepth 1 -printf '%y %m %f\n'
 *   stat   nsenter ... -- find PATH -maxdepth 0 -printf '%y %m\n'
 *
 * Only namespaces that differ from the daemon's are entered (setns into
 * one's own user namespace fails). Errors the helper reports come back as
 * FuseError with the matching errno: they are the caller's own. These
 * tools report an error only as strerror(3) text, which follows the
 * locale, so every helper runs in the C locale (`helperEnv`): whatever LANG
 * the daemon was started with, the text is the C library's own and
 * `errnoFromMessage` maps it back to the number.
 *
 * With `freshSysfs`, a caller in another network namespace gets helpers
 * that first mount a sysfs of their own over /sys in a private mount
 * namespace (`unshare -m sh -c 'mount -t sysfs ...'`): sysfs shows the
 * network devices of the namespace that mounts it, so
 * /sys/devices/virtual/net is the caller's, not the daemon's.
 */
import { readlinkSync } from "node:fs";
import { FuseError } from "../fuse/mod.ts";
import { ERRNO } from "../sys/errno.ts";
import type { HostEntry, HostStat, NodeKind } from "./host.ts";

export interface PassThrough {
  read(pid: number, path: string): Promise<string>;
  write(pid: number, path: string, data: Uint8Array): Promise<void>;
  /** Entries of `dir`; symbolic links come with `symlink: true` (and kind "file"). */
  list(pid: number, dir: string): Promise<(HostEntry & { mode: number; symlink?: boolean })[]>;
  stat(pid: number, path: string): Promise<Omit<HostStat, "uid" | "gid"> | undefined>;
}

/** Namespaces entered, with nsenter's flag for each. Never mnt: paths are the host's /proc. */
const NAMESPACES = [
  { ns: "user", flag: "-U" },
  { ns: "net", flag: "-n" },
  { ns: "ipc", flag: "-i" },
  { ns: "uts", flag: "-u" },
  { ns: "pid", flag: "-p" },
] as const;

/** strerror(3) texts in the C locale (glibc), to errno; the helpers run in that locale. */
const STRERROR = new Map<string, number>([
  ["Permission denied", ERRNO.EACCES],
  ["Operation not permitted", ERRNO.EPERM],
  ["No such file or directory", ERRNO.ENOENT],
  ["Invalid argument", ERRNO.EINVAL],
  ["Numerical result out of range", ERRNO.ERANGE],
  ["Device or resource busy", ERRNO.EBUSY],
  ["Not a directory", ERRNO.ENOTDIR],
  ["Is a directory", ERRNO.EISDIR],
  ["No such process", ERRNO.ESRCH],
  ["Read-only file system", ERRNO.EROFS],
  ["Operation not supported", ERRNO.EOPNOTSUPP],
  ["Input/output error", ERRNO.EIO],
]);

/**
 * Runs a pass-through operation as the calling process, or as the
 * container's init when the caller is gone (ESRCH) by the time it runs.
 */
export async function asCaller<T>(callerPid: number, initPid: number, fn: (pid: number) => Promise<T>): Promise<T> {
  try {
    return await fn(callerPid);
  } catch (e) {
    if (e instanceof FuseError && e.errno === ERRNO.ESRCH && callerPid !== initPid) return fn(initPid);
    throw e;
  }
}

/**
 * The helpers' environment: the daemon's without any locale setting
 * (LANG, LANGUAGE, LC_*), and LC_ALL=C, so their messages are never translated.
 */
export function helperEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !/^(LANG|LANGUAGE|LC_\w+)$/.test(k)) out[k] = v;
  out["LC_ALL"] = "C";
  return out;
}

/**
 * The errno of a helper's C-locale error message (`tool: [context: ]strerror`,
 * the first line that ends in one we know), or undefined.
 */
export function errnoFromMessage(stderr: string): number | undefined {
  for (const line of stderr.split("\n")) {
    const errno = STRERROR.get(line.slice(line.lastIndexOf(": ") + 2).trim());
    if (errno !== undefined) return errno;
  }
  return undefined;
}

function nsLink(pid: number | "self", ns: string): string {
  return readlinkSync(`/proc/${pid}/ns/${ns}`);
}

/** nsenter flags for the namespaces of `pid` that differ from ours; throws ESRCH when pid is gone. */
export function nsenterFlags(pid: number): string[] {
  const flags: string[] = [];
  for (const { ns, flag } of NAMESPACES) {
    let theirs: string;
    try {
      theirs = nsLink(pid, ns);
    } catch {
      throw new FuseError(ERRNO.ESRCH, `process ${pid} is gone`);
    }
    if (theirs !== nsLink("self", ns)) flags.push(flag);
  }
  return flags;
}

export interface NsenterOptions {
  /** A helper that runs longer is killed and the request fails EIO; default 5000 ms. */
  timeoutMs?: number;
  /** The nsenter binary; default "nsenter" from PATH. */
  nsenter?: string;
  /** Run each helper over a sysfs mounted afresh in the caller's namespaces. */
  freshSysfs?: boolean;
  /** The daemon's environment, passed to helpers as `helperEnv` makes it; default process.env. */
  env?: Record<string, string | undefined>;
}

/** Mounts sysfs over /sys in a mount namespace of its own, then runs its arguments. */
const FRESH_SYSFS = ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount -t sysfs sysfs /sys && exec "$@"', "sh"];

function parseFind(line: string): { kind: NodeKind; mode: number; name: string; symlink?: boolean } | undefined {
  const m = /^(\S) (\d+)(?: (.*))?$/.exec(line);
  if (!m) return undefined;
  const e = { kind: m[1] === "d" ? ("dir" as const) : ("file" as const), mode: parseInt(m[2]!, 8), name: m[3] ?? "" };
  return m[1] === "l" ? { ...e, symlink: true } : e;
}

export function nsenterPassThrough(opts: NsenterOptions = {}): PassThrough {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const nsenter = opts.nsenter ?? "nsenter";
  const env = helperEnv(opts.env ?? process.env);

  async function run(pid: number, helper: string[], stdin?: Uint8Array): Promise<Uint8Array> {
    const flags = nsenterFlags(pid);
    // In our own network namespace our /sys is the caller's (and the kernel refuses that same sysfs on top of itself).
    const argv = opts.freshSysfs && flags.includes("-n") ? [...FRESH_SYSFS, ...helper] : helper;
    const cmd = flags.length ? [nsenter, "-t", String(pid), ...flags, "--", ...argv] : argv;
    const p = Bun.spawn(cmd, { stdin: stdin ?? "ignore", stdout: "pipe", stderr: "pipe", env });
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    try {
      const [out, err, code] = await Promise.all([new Response(p.stdout).bytes(), new Response(p.stderr).text(), p.exited]);
      if (code === 0) return out;
      const errno = errnoFromMessage(err);
      if (errno !== undefined) throw new FuseError(errno, err.trim());
      throw new Error(`${helper[0]} in the namespaces of pid ${pid} exited ${code}: ${err.trim()}`);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async read(pid, path) {
      return new TextDecoder().decode(await run(pid, ["cat", "--", path]));
    },
    async write(pid, path, data) {
      await run(pid, ["sh", "-c", 'cat > "$1"', "sh", path], data);
    },
    async list(pid, dir) {
      const out = new TextDecoder().decode(await run(pid, ["find", dir, "-mindepth", "1", "-maxdepth", "1", "-printf", "%y %m %f\\n"]));
      return out.split("\n").flatMap((l) => {
        const e = parseFind(l);
        return e ? [e] : [];
      });
    },
    async stat(pid, path) {
      try {
        const out = new TextDecoder().decode(await run(pid, ["find", path, "-maxdepth", "0", "-printf", "%y %m\\n"]));
        const e = parseFind(out.trim());
        if (!e) return undefined;
        return e.symlink ? { kind: e.kind, mode: e.mode, symlink: true } : { kind: e.kind, mode: e.mode };
      } catch (e) {
        if (e instanceof FuseError && e.errno === ERRNO.ENOENT) return undefined;
        throw e;
      }
    },
  };
}
