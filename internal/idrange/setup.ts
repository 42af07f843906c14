/**
 * Makes sure the host's subordinate id files give sysbox a range: reads
 * login.defs, /etc/subuid and /etc/subgid, and when plan.ts says so, appends
 * sysbox's entry. Files are changed the way shadow's tools change them: under
 * `<file>.lock` (holding the locker's pid), with the old file kept as
 * `<file>-`, through a temp file renamed over the original.
 */
import { closeSync, constants, copyFileSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync, fchownSync } from "node:fs";
import { dirname } from "node:path";
import { DEFAULT_LIMITS, parseLoginDefs, type SubidLimits } from "./logindefs.ts";
import { planSysboxRanges, SYSBOX_USER, type Plan } from "./plan.ts";

export interface SubidPaths {
  subuid: string;
  subgid: string;
  loginDefs: string;
}

export const HOST_SUBID_PATHS: SubidPaths = { subuid: "/etc/subuid", subgid: "/etc/subgid", loginDefs: "/etc/login.defs" };

export interface SetupOptions {
  user?: string;
  /** Size of a range to add; see plan.ts. */
  wanted?: number;
  /** How long to wait for another tool's lock; default 2000 ms. */
  lockTimeoutMs?: number;
}

export interface SetupResult extends Plan {
  limits: SubidLimits;
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw e;
  }
}

/** Reads the files, adds sysbox's entries if needed, and returns its ranges. */
export function ensureSysboxRanges(paths: SubidPaths = HOST_SUBID_PATHS, opts: SetupOptions = {}): SetupResult {
  const limits = existsSync(paths.loginDefs) ? parseLoginDefs(readFileSync(paths.loginDefs, "utf8")) : { ...DEFAULT_LIMITS };
  const input = () => ({
    subuid: readOptional(paths.subuid),
    subgid: readOptional(paths.subgid),
    limits,
    subuidPath: paths.subuid,
    subgidPath: paths.subgid,
    user: opts.user ?? SYSBOX_USER,
    ...(opts.wanted !== undefined ? { wanted: opts.wanted } : {}),
  });
  // Most starts change nothing: decide without locks first.
  const first = planSysboxRanges(input());
  if (first.subuid === undefined && first.subgid === undefined) return { ...first, limits };

  const timeout = opts.lockTimeoutMs ?? 2000;
  using _uidLock = lockFile(paths.subuid, timeout);
  using _gidLock = lockFile(paths.subgid, timeout);
  const plan = planSysboxRanges(input());
  if (plan.subuid !== undefined) replaceFile(paths.subuid, plan.subuid);
  if (plan.subgid !== undefined) replaceFile(paths.subgid, plan.subgid);
  return { ...plan, limits };
}

/** Writes `text` over `path` atomically, keeping the old file as `path-` and the old mode and owner. */
export function replaceFile(path: string, text: string): void {
  let mode = 0o644;
  let owner: { uid: number; gid: number } | undefined;
  if (existsSync(path)) {
    const st = statSync(path);
    mode = st.mode & 0o7777;
    owner = { uid: st.uid, gid: st.gid };
    copyFileSync(path, `${path}-`);
  }
  const tmp = `${path}+`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  try {
    writeSync(fd, text);
    if (owner) fchownSync(fd, owner.uid, owner.gid);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dirname(path));
}

export function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes shadow's `<path>.lock`; a lock whose pid is gone is taken over. */
export function lockFile(path: string, timeoutMs: number): Disposable {
  const lock = `${path}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx", mode: 0o600 });
      return { [Symbol.dispose]: () => unlinkSync(lock) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = Number.parseInt(readOptional(lock).trim(), 10);
    if (!Number.isInteger(holder) || holder <= 0 || !pidAlive(holder)) {
      // Stale: its writer died (or wrote garbage). Remove and try again.
      try {
        unlinkSync(lock);
      } catch {
        // Another process removed it first.
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new Error(`${path} is locked by pid ${holder} (lock file ${lock}); try again when that process is done`);
    }
    Bun.sleepSync(20);
  }
}
