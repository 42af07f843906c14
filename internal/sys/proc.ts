/**
 * Process syscalls: signals, wait status decoding, pidfds, rlimits, ids,
 * exec and prctl. Identity and prctl changes act on the calling thread, and
 * an execve() from that thread carries them into the new program.
 */
import { ptr } from "bun:ffi";
import { libc, check, rawSyscall } from "./libc.ts";
import { SYS } from "./arch.ts";
import { cstr } from "./cstr.ts";
import { CLONE, formatFlags } from "./flags.ts";
import { AT } from "./fs.ts";
import { pinned } from "./_pin.ts";
import { SysError } from "./errno.ts";

/** Signal numbers (same on x86_64 and arm64). */
export const SIG = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
  SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22,
  SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29,
  SIGPWR: 30, SIGSYS: 31,
} as const;

const SIG_NAMES: Record<number, string> = Object.fromEntries(Object.entries(SIG).map(([k, v]) => [v, k]));

/** "SIGKILL" for 9, "SIGRTMIN+2" for 36, the number as text otherwise. */
export function signalName(sig: number): string {
  if (SIG_NAMES[sig]) return SIG_NAMES[sig];
  if (sig >= 34 && sig <= 64) return `SIGRTMIN+${sig - 34}`;
  return String(sig);
}

/**
 * Accepts "SIGTERM", "TERM", "term", "15" and the real-time forms systemd
 * images use as STOPSIGNAL ("SIGRTMIN+3", "RTMAX-1"), as OCI configs and
 * `kill` arguments do.
 */
export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    // 0 probes the process, as kill(2) and runc allow.
    if (n > 64) throw new RangeError(`Invalid signal "${s}"`);
    return n;
  }
  const up = s.toUpperCase();
  const name = up.startsWith("SIG") ? up : `SIG${up}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
  if (rt) return 34 + Number(rt[1] ?? 0);
  const rtmax = /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rtmax) return 64 - Number(rtmax[1] ?? 0);
  const n = (SIG as Record<string, number>)[name];
  if (n === undefined) throw new RangeError(`unknown signal "${s}"`);
  return n;
}

export function kill(pid: number, sig: number): void {
  check({ syscall: "kill", path: `pid ${pid}`, flags: signalName(sig) }, () => libc.symbols.kill(pid, sig));
}

export function getpid(): number {
  return libc.symbols.getpid();
}

/** sysinfo(2)'s struct as this process's ABI lays it out (intercept/sysinfo.ts decodes it). */
export function sysinfoRaw(): Uint8Array {
  const buf = new Uint8Array(128);
  check({ syscall: "sysinfo" }, () => pinned([buf], () => libc.symbols.sysinfo(ptr(buf))));
  return buf;
}

// ---- wait status (bits/waitstatus.h) ----

export const WAIT = { WNOHANG: 1, WUNTRACED: 2, WCONTINUED: 8, __WALL: 0x40000000 } as const;

export const WIFEXITED = (s: number): boolean => (s & 0x7f) === 0;
export const WEXITSTATUS = (s: number): number => (s >> 8) & 0xff;
export const WIFSIGNALED = (s: number): boolean => (s & 0x7f) !== 0 && (s & 0x7f) !== 0x7f;
export const WTERMSIG = (s: number): number => s & 0x7f;
export const WCOREDUMP = (s: number): boolean => (s & 0x80) !== 0;
export const WIFSTOPPED = (s: number): boolean => (s & 0xff) === 0x7f;
export const WSTOPSIG = (s: number): number => (s >> 8) & 0xff;
export const WIFCONTINUED = (s: number): boolean => s === 0xffff;

export type WaitResult =
  | { kind: "exited"; code: number }
  | { kind: "signaled"; signal: number; core: boolean }
  | { kind: "stopped"; signal: number }
  | { kind: "continued" };

export function decodeWaitStatus(s: number): WaitResult {
  if (WIFEXITED(s)) return { kind: "exited", code: WEXITSTATUS(s) };
  if (WIFCONTINUED(s)) return { kind: "continued" };
  if (WIFSTOPPED(s)) return { kind: "stopped", signal: WSTOPSIG(s) };
  return { kind: "signaled", signal: WTERMSIG(s), core: WCOREDUMP(s) };
}

/** The exit code a shell would report: the status, or 128 + the signal. */
export function exitCodeOf(s: number): number {
  return WIFSIGNALED(s) ? 128 + WTERMSIG(s) : WEXITSTATUS(s);
}

/**
 * waitpid(2). With WNOHANG and no child ready, returns `{pid: 0, status: 0}`.
 * Children started with Bun.spawn are reaped by Bun itself: use this only for
 * processes Bun does not track.
 */
export function waitpid(pid: number, options = 0): { pid: number; status: number } {
  const st = new Int32Array(1);
  const r = check({ syscall: "waitpid", path: `pid ${pid}`, flags: formatFlags(WAIT, options) }, () =>
    libc.symbols.waitpid(pid, st, options),
  );
  return { pid: r, status: st[0]! };
}

/** Waits for a child of ours to end; one that is already reaped (ECHILD) is fine. */
export function reap(pid: number): void {
  try {
    waitpid(pid);
  } catch (e) {
    if (!(e instanceof SysError && e.code === "ECHILD")) throw e;
  }
}

// ---- pidfds ----

export const PIDFD_NONBLOCK = 0o4000;

export function pidfdOpen(pid: number, flags = 0): number {
  return Number(rawSyscall("pidfd_open", SYS.pidfd_open, [pid, flags], `pid ${pid}`));
}

export function pidfdSendSignal(pidfd: number, sig: number): void {
  rawSyscall("pidfd_send_signal", SYS.pidfd_send_signal, [pidfd, sig, 0, 0], `pidfd ${pidfd}`);
}

/**
 * pidfd_getfd(2): a duplicate, in this process, of fd `targetFd` of the
 * process behind `pidfd` (same open file description; the new fd is
 * close-on-exec). Needs ptrace access to that process.
 */
export function pidfdGetfd(pidfd: number, targetFd: number): number {
  return Number(rawSyscall("pidfd_getfd", SYS.pidfd_getfd, [pidfd, targetFd, 0], `pidfd ${pidfd} fd ${targetFd}`));
}

// ---- rlimits ----

/** Resource numbers (asm-generic; same on x86_64 and arm64), keyed by OCI's names. */
export const RLIMIT = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
} as const;

export type RlimitName = keyof typeof RLIMIT;

const RLIMIT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RLIMIT).map(([k, v]) => [v, k]));

export const RLIM_INFINITY = 0xffffffffffffffffn;

export interface Rlimit {
  soft: bigint;
  hard: bigint;
}

/** Resolves "RLIMIT_NOFILE" (OCI's spelling) or "NOFILE" to its number. */
export function parseRlimit(name: string): number {
  const up = name.toUpperCase();
  const n = (RLIMIT as Record<string, number>)[up.startsWith("RLIMIT_") ? up : `RLIMIT_${up}`];
  if (n === undefined) throw new RangeError(`Unknown rlimit "${name}"`);
  return n;
}

/**
 * prlimit(2) on `pid` (0 = self): sets `limit` when given and returns the
 * previous limit. struct rlimit64 is two u64s, soft then hard.
 */
export function prlimit(pid: number, resource: number | RlimitName, limit?: Rlimit): Rlimit {
  const res = typeof resource === "number" ? resource : parseRlimit(resource);
  const next = limit ? new BigUint64Array([limit.soft, limit.hard]) : null;
  const old = new BigUint64Array(2);
  check({ syscall: "prlimit64", path: `pid ${pid}`, flags: RLIMIT_NAMES[res] ?? String(res) }, () =>
    libc.symbols.prlimit64(pid, res, next, old),
  );
  return { soft: old[0]!, hard: old[1]! };
}

// ---- identity ----
// glibc's setresuid/setresgid/setgroups signal every thread to make the same
// change (POSIX's process-wide credentials). In a Bun process that would hit
// the runtime's helper threads too; the raw syscall changes only the calling
// thread, which is the one that goes on to execve.

/** setresuid(2) for the calling thread only; -1 leaves an id unchanged. */
export function setresuid(ruid: number, euid: number, suid: number): void {
  rawSyscall("setresuid", SYS.setresuid, [ruid, euid, suid], `uids ${ruid}:${euid}:${suid}`);
}

/** setresgid(2) for the calling thread only; -1 leaves an id unchanged. */
export function setresgid(rgid: number, egid: number, sgid: number): void {
  rawSyscall("setresgid", SYS.setresgid, [rgid, egid, sgid], `gids ${rgid}:${egid}:${sgid}`);
}

/**
 * Runs `fn` with the calling thread's file-system ids set to uid/gid while
 * keeping its capabilities (SECBIT_NO_SETUID_FIXUP stops the kernel from
 * dropping them), then restores them. A mount made inside `fn` records these
 * credentials as its creator's: an overlay then works through ID-mapped
 * layers that cannot represent host uid 0.
 */
export function withFsIds<T>(uid: number, gid: number, fn: () => T): T {
  const SECBIT_NO_SETUID_FIXUP = 1 << 2;
  const old = prctl(PR.GET_SECUREBITS);
  prctl(PR.SET_SECUREBITS, old | SECBIT_NO_SETUID_FIXUP);
  // setfsuid/setfsgid return the previous id and never fail with -1.
  const prevUid = Number(libc.symbols.syscall(BigInt(SYS.setfsuid), BigInt(uid), 0n, 0n, 0n, 0n, 0n));
  const prevGid = Number(libc.symbols.syscall(BigInt(SYS.setfsgid), BigInt(gid), 0n, 0n, 0n, 0n, 0n));
  try {
    return fn();
  } finally {
    libc.symbols.syscall(BigInt(SYS.setfsgid), BigInt(prevGid), 0n, 0n, 0n, 0n, 0n);
    libc.symbols.syscall(BigInt(SYS.setfsuid), BigInt(prevUid), 0n, 0n, 0n, 0n, 0n);
    prctl(PR.SET_SECUREBITS, old);
  }
}

/** setgroups(2) for the calling thread only. */
export function setgroups(gids: readonly number[]): void {
  const list = new Uint32Array(gids.length);
  list.set(gids);
  pinned([list], () =>
    rawSyscall("setgroups", SYS.setgroups, [gids.length, gids.length ? BigInt(ptr(list)) : 0n], `gids ${gids.join(",")}`),
  );
}

// ---- exec ----

/** A NULL-terminated `char *[]`; `keep` holds the strings so they outlive the call. */
function cstrArray(items: readonly string[]): { array: BigUint64Array; keep: Uint8Array[] } {
  const keep = items.map(cstr);
  const array = new BigUint64Array(items.length + 1);
  keep.forEach((s, i) => (array[i] = BigInt(ptr(s))));
  return { array, keep };
}

/** "K=V" strings from an env record, in its order. */
export function envList(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
}

/** execve(2). Returns only by throwing. */
export function execve(path: string, argv: readonly string[], envp: readonly string[]): never {
  const p = cstr(path);
  const a = cstrArray(argv);
  const e = cstrArray(envp);
  pinned([a.keep, e.keep], () => check({ syscall: "execve", path }, () => libc.symbols.execve(p, a.array, e.array)));
  throw new Error("unreachable: execve returned success");
}

/**
 * execveat(2) of the program open at `fd` (e.g. a memfd or an O_PATH fd taken
 * before pivot_root). An empty `path` implies AT_EMPTY_PATH.
 */
export function execveat(
  fd: number,
  argv: readonly string[],
  envp: readonly string[],
  opts: { path?: string; flags?: number } = {},
): never {
  const path = opts.path ?? "";
  const flags = (opts.flags ?? 0) | (path === "" ? AT.EMPTY_PATH : 0);
  const p = cstr(path);
  const a = cstrArray(argv);
  const e = cstrArray(envp);
  const where = path === "" ? `fd ${fd}` : path;
  pinned([p, a, e], () =>
    rawSyscall("execveat", SYS.execveat, [fd, BigInt(ptr(p)), BigInt(ptr(a.array)), BigInt(ptr(e.array)), flags], where),
  );
  throw new Error("unreachable: execveat returned success");
}

// ---- sessions, names ----

/** unshare(2) for the calling thread; `flags` are CLONE_* bits. */
export function unshare(flags: number): void {
  check({ syscall: "unshare", flags: formatFlags(CLONE, flags, "CLONE_") }, () => libc.symbols.unshare(flags));
}

/** setns(2) for the calling thread into the namespace `fd` refers to; `nstype` a CLONE_NEW* bit or 0. */
export function setns(fd: number, nstype: number): void {
  check({ syscall: "setns", path: `fd ${fd}`, flags: formatFlags(CLONE, nstype, "CLONE_") }, () => libc.symbols.setns(fd, nstype));
}

export function setsid(): number {
  return check({ syscall: "setsid" }, () => libc.symbols.setsid());
}

export function sethostname(name: string): void {
  const b = cstr(name);
  check({ syscall: "sethostname", path: name }, () => libc.symbols.sethostname(b, b.length - 1));
}

export function setdomainname(name: string): void {
  const b = cstr(name);
  check({ syscall: "setdomainname", path: name }, () => libc.symbols.setdomainname(b, b.length - 1));
}

// ---- prctl (include/uapi/linux/prctl.h) ----

export const PR = {
  SET_PDEATHSIG: 1, GET_PDEATHSIG: 2, GET_KEEPCAPS: 7, SET_KEEPCAPS: 8, SET_NAME: 15, GET_NAME: 16,
  CAPBSET_READ: 23, CAPBSET_DROP: 24, SET_CHILD_SUBREAPER: 36, GET_CHILD_SUBREAPER: 37,
  SET_NO_NEW_PRIVS: 38, GET_NO_NEW_PRIVS: 39, CAP_AMBIENT: 47, GET_SECUREBITS: 27, SET_SECUREBITS: 28,
} as const;

const PR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(PR).map(([k, v]) => [v, `PR_${k}`]));

/** prctl(2) with integer arguments; returns the call's result. */
export function prctl(option: number, arg2: number | bigint = 0, arg3: number | bigint = 0, arg4: number | bigint = 0, arg5: number | bigint = 0): number {
  return check({ syscall: "prctl", flags: PR_NAMES[option] ?? String(option) }, () =>
    libc.symbols.prctl(option, BigInt(arg2), BigInt(arg3), BigInt(arg4), BigInt(arg5)),
  );
}

/** Irreversible for this thread and everything it execs. */
export function setNoNewPrivs(): void {
  prctl(PR.SET_NO_NEW_PRIVS, 1);
}

/** Keep permitted caps across a setresuid() away from uid 0. */
export function setKeepCaps(on: boolean): void {
  prctl(PR.SET_KEEPCAPS, on ? 1 : 0);
}

/** Signal sent to this thread's process when the thread that forked it dies; 0 clears. */
export function setPdeathsig(sig: number): void {
  prctl(PR.SET_PDEATHSIG, sig);
}

/** The calling thread's comm (shown by `ps`); the kernel truncates it to 15 bytes. */
export function setName(name: string): void {
  const b = cstr(name);
  pinned([b], () => prctl(PR.SET_NAME, BigInt(ptr(b))));
}

export function setChildSubreaper(on: boolean): void {
  prctl(PR.SET_CHILD_SUBREAPER, on ? 1 : 0);
}
