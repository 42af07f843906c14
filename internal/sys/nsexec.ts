/**
 * Runs the C namespace stage (nsexec.c) from JavaScript: compiles it once per
 * process with bun:ffi's TinyCC and drives its sync protocol. See nsexec.c for
 * the sequence; the C file's header is the protocol's reference.
 */
import { ptr, type Pointer } from "bun:ffi";
import nsexecSource from "./nsexec.c" with { type: "text" };
import { compileStage } from "./_tcc.ts";
import { SYS } from "./arch.ts";
import { SysError } from "./errno.ts";
import { reap } from "./proc.ts";
import { cstr } from "./cstr.ts";
import { libc, check, syscallPtr } from "./libc.ts";

/** Sync message kinds, mirrored from nsexec.c. */
export const MSG = { READY: 1, CHILD: 2, ERROR: 3, ACK: 4, HELLO: 5 } as const;

const STEP_NAMES: Record<number, string> = {
  1: "setns", 2: "unshare(CLONE_NEWUSER)", 3: "sync with parent", 4: "setresuid/setresgid",
  5: "unshare", 6: "clone", 7: "execveat", 8: "setgroups", 9: "fcntl", 10: "setsid", 11: "dup3 (stdio)",
};

/** Generic syscall numbers that libc exports no symbol for on every arch. */
const NR_X86_64 = { clone: 56, unshare: 272, setns: 308, read: 0, write: 1, exit_group: 231, fcntl: 72, getpid: 39, setsid: 112, dup3: 292, pipe2: 293, close: 3 };
const NR_ARM64 = { clone: 220, unshare: 97, setns: 268, read: 63, write: 64, exit_group: 94, fcntl: 25, getpid: 172, setsid: 157, dup3: 24, pipe2: 59, close: 57 };

type Stage = { spawn: (args: Pointer, errnoLoc: Pointer) => bigint };
let compiled: Stage | undefined;

function stage(): Stage {
  if (compiled) return compiled;
  const symbols = compileStage("nsexec", nsexecSource, { nsexec_spawn: { args: ["ptr", "ptr"], returns: "i64" } });
  compiled = { spawn: (a, e) => symbols.nsexec_spawn(a, e) as bigint };
  return compiled;
}

export interface SpawnOptions {
  /** CLONE_NEW* flags of the namespaces to create. */
  flags: number;
  /** Namespaces to join first, in order: fd of /proc/PID/ns/X and its CLONE_NEW* type. */
  join?: Array<{ fd: number; type: number }>;
  /** fd of the program to run (opened O_RDONLY|O_CLOEXEC or O_PATH). */
  execFd: number;
  argv: string[];
  /** Environment of the exec'd program; NSEXEC_SYNC_FD=<fd> is added. */
  env: string[];
  /** Become uid/gid 0 of the new or joined user namespace before exec. */
  setIds: boolean;
  /** Start a new session in the final process. */
  setsid?: boolean;
  /** An fd (e.g. /dev/null) to become the final process's stdin, stdout and stderr. */
  stdioFd?: number;
  /** Called with the stage-1 pid once its user namespace exists: write maps, join cgroups. */
  onReady?: (pid: number) => void;
}

export interface Spawned {
  /** Host pid of the final process. */
  pid: number;
  /** Parent's end of the sync socket; the exec'd program holds the other end. */
  syncFd: number;
}

function writeMsg(fd: number, kind: number, a = 0, b = 0): void {
  const buf = new Int32Array([kind, a, b]);
  check({ syscall: "write", path: "sync socket" }, () => libc.symbols.write(fd, buf, 12n));
}

/** Reads one 12-byte sync message; null at EOF. */
export function readMsg(fd: number): [number, number, number] | null {
  const buf = new Int32Array(3);
  const bytes = new Uint8Array(buf.buffer);
  let got = 0;
  while (got < 12) {
    const n = Number(check({ syscall: "read", path: "sync socket" }, () =>
      libc.symbols.read(fd, ptr(bytes, got), BigInt(12 - got))));
    if (n === 0) return got === 0 ? null : (() => { throw new Error("sync socket: truncated message"); })();
    got += n;
  }
  return [buf[0]!, buf[1]!, buf[2]!];
}

/** Turns a stage error message into a SysError naming the failed step. */
function stageError(step: number, err: number): SysError {
  const name = STEP_NAMES[step % 100] ?? `step ${step}`;
  const which = step >= 100 ? ` #${Math.floor(step / 100)}` : "";
  return new SysError({ syscall: `namespace stage ${name}${which}`, errno: err || 5 });
}

/** Keeps a NUL-terminated char*[] and its strings alive while C reads them. */
function cArray(strings: string[]): { array: BigInt64Array; keep: Uint8Array[] } {
  const keep = strings.map(cstr);
  const array = new BigInt64Array(keep.length + 1);
  keep.forEach((s, i) => { array[i] = BigInt(ptr(s)); });
  return { array, keep };
}

function socketpair(): [number, number] {
  const fds = new Int32Array(2);
  // AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC
  check({ syscall: "socketpair" }, () => libc.symbols.socketpair(1, 1 | 0o2000000, 0, fds));
  return [fds[0]!, fds[1]!];
}

/**
 * Starts a process in new and/or joined namespaces and returns once the
 * final process exists (it may still be before its exec). Throws SysError on
 * any stage failure, after reaping what it started.
 */
export function spawnInNamespaces(opts: SpawnOptions): Spawned {
  const nr = process.arch === "arm64" ? NR_ARM64 : NR_X86_64;
  const [parentFd, childFd] = socketpair();
  const argv = cArray(opts.argv);
  // The exec'd program finds its end of the sync socket here.
  const envp = cArray([...opts.env, `NSEXEC_SYNC_FD=${childFd}`]);
  const join = opts.join ?? [];
  if (join.length > 8) throw new RangeError("at most 8 namespaces can be joined");

  const a = new BigInt64Array(208 / 8 + 16);
  a[0] = BigInt(syscallPtr);
  a[1] = BigInt(opts.flags);
  a[2] = BigInt(childFd);
  a[3] = BigInt(opts.execFd);
  a[4] = BigInt(ptr(argv.array));
  a[5] = BigInt(ptr(envp.array));
  a[6] = opts.setIds ? 1n : 0n;
  a[7] = opts.setsid ? 1n : 0n;
  a[8] = BigInt(join.length);
  join.forEach((j, i) => { a[9 + i] = BigInt(j.fd); a[17 + i] = BigInt(j.type); });
  a[25] = BigInt(opts.stdioFd ?? -1);
  const table = [nr.clone, nr.unshare, nr.setns, nr.read, nr.write, nr.exit_group,
    SYS.setresuid, SYS.setresgid, SYS.setgroups, SYS.execveat, nr.fcntl, nr.getpid, nr.setsid, nr.dup3, nr.pipe2, nr.close];
  table.forEach((n, i) => { a[26 + i] = BigInt(n); });

  const errnoLoc = libc.symbols.__errno_location() as Pointer;
  const r = Number(stage().spawn(ptr(a), errnoLoc));
  libc.symbols.close(childFd);
  if (r < 0) {
    libc.symbols.close(parentFd);
    throw new SysError({ syscall: "clone", errno: -r });
  }
  const stage1 = r;
  let finalPid = 0;
  try {
    for (;;) {
      const m = readMsg(parentFd);
      if (m === null) throw new SysError({ syscall: "namespace stage sync", errno: 32 /* EPIPE */ });
      const [kind, x, y] = m;
      if (kind === MSG.READY) {
        opts.onReady?.(x);
        writeMsg(parentFd, MSG.ACK);
      } else if (kind === MSG.CHILD) {
        finalPid = x;
        break;
      } else if (kind === MSG.ERROR) {
        throw stageError(x, y);
      } else {
        throw new Error(`namespace stage: unexpected sync message ${kind}`);
      }
    }
  } catch (e) {
    libc.symbols.close(parentFd);
    // The stage is a clone of this process without exec, so it holds a copy
    // of parentFd too and never sees EOF on its sync read: end it, or the
    // wait below never returns.
    libc.symbols.kill(stage1, 9);
    reap(stage1);
    throw e;
  }
  reap(stage1);
  void argv.keep; void envp.keep;
  return { pid: finalPid, syncFd: parentFd };
}

/** Waits for the exec'd program's HELLO; an ERROR from the C stage means exec failed. */
export function awaitExec(syncFd: number): void {
  const m = readMsg(syncFd);
  if (m === null) throw new SysError({ syscall: "namespace stage exec", errno: 32 });
  if (m[0] === MSG.ERROR) throw stageError(m[1], m[2]);
  if (m[0] !== MSG.HELLO) throw new Error(`namespace stage: unexpected sync message ${m[0]}`);
}

/** Sent by the exec'd program first, on its inherited sync fd. */
export function sendHello(syncFd: number): void {
  writeMsg(syncFd, MSG.HELLO);
}

