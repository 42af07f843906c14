/**
 * Runs nsxattr.c: a trusted.* extended attribute set, read or removed as
 * host root on a file of a container process, in a child the caller can
 * kill. startXattr returns at once with the child's result pipe, for the
 * notify loop's poll; finishXattr reads it.
 */
import nsxattrSource from "./nsxattr.c" with { type: "text" };
import { lazyStage, addressOf, syscallAddress } from "../sys/cstage.ts";
import { SysError } from "../sys/errno.ts";
import { cstr } from "../sys/cstr.ts";
import { close, pipe2, O_FLAGS } from "../sys/fs.ts";
import { readStageResult, type NsMountRun } from "./nsmount.ts";

const STEP_NAMES: Record<number, string> = {
  1: "openat2 (xattr target)", 2: "statx", 3: "owner check", 4: "xattr", 5: "SECCOMP_IOCTL_NOTIF_ID_VALID", 6: "process_vm_writev",
};

const NR_X86_64 = { clone: 56, exit_group: 231, write: 1, openat2: 437, setxattr: 188, getxattr: 191, removexattr: 197, statx: 332, ioctl: 16, process_vm_writev: 311 };
const NR_ARM64: typeof NR_X86_64 = { clone: 220, exit_group: 94, write: 64, openat2: 437, setxattr: 5, getxattr: 8, removexattr: 14, statx: 291, ioctl: 29, process_vm_writev: 271 };

const stage = lazyStage("nsxattr", nsxattrSource, "nsxattr_run");

const OPS = { set: 1, get: 2, remove: 3 } as const;
/** Host id ranges the file's owner must fall in; more are not checked. */
export const MAX_OWNER_RANGES = 5;

export interface XattrOptions {
  op: keyof typeof OPS;
  name: string;
  /** An O_PATH fd of the file, or a path opened with openat2(rootFd, path, RESOLVE_IN_ROOT). */
  target: { fd: number } | { rootFd: number; path: string; follow: boolean };
  /** set: the value. */
  value?: Uint8Array;
  /** get: the caller's buffer size (0 asks for the length only). */
  size?: number;
  flags?: number;
  /** The file's owner must be a host id in one of these (the caller's user namespace). */
  owners: ReadonlyArray<{ first: number; size: number }>;
  /** get: where the value goes, checked against the notification still pending. */
  caller?: { pid: number; buffer: bigint; notifyFd: number; notifId: bigint; idValidIoctl: number };
}

/** Starts the child; its result arrives on `resultFd` (readable, or hung up). */
export function startXattr(opts: XattrOptions): NsMountRun {
  const nr = process.arch === "arm64" ? NR_ARM64 : NR_X86_64;
  const [rd, wr] = pipe2(O_FLAGS.CLOEXEC | O_FLAGS.NONBLOCK);
  const a = new BigInt64Array(296 / 8);
  const name = cstr(opts.name);
  // Never an empty buffer: the stage gets an address either way, and the size says how much counts.
  const value = opts.op === "get" ? new Uint8Array(Math.max(1, opts.size ?? 0)) : (opts.value?.length ? opts.value : new Uint8Array(1));
  const t = opts.target;
  const path = "path" in t ? cstr(t.path) : undefined;
  a[0] = syscallAddress();
  a[1] = BigInt(wr);
  a[2] = "rootFd" in t ? BigInt(t.rootFd) : -1n;
  a[3] = path ? addressOf(path) : 0n;
  a[4] = "fd" in t ? BigInt(t.fd) : -1n;
  a[5] = "follow" in t && !t.follow ? 1n : 0n;
  a[6] = BigInt(OPS[opts.op]);
  a[7] = addressOf(name);
  a[8] = addressOf(value);
  a[9] = BigInt(opts.op === "get" ? (opts.size ?? 0) : (opts.value?.length ?? 0));
  a[10] = BigInt(opts.flags ?? 0);
  if (opts.caller) {
    a[11] = BigInt(opts.caller.pid);
    a[12] = opts.caller.buffer;
    a[13] = BigInt(opts.caller.notifyFd);
    a[14] = opts.caller.notifId;
    a[15] = BigInt(opts.caller.idValidIoctl);
  }
  const owners = opts.owners.slice(0, MAX_OWNER_RANGES);
  a[16] = BigInt(owners.length);
  owners.forEach((r, i) => { a[17 + i] = BigInt(r.first); a[22 + i] = BigInt(r.size); });
  [nr.clone, nr.exit_group, nr.write, nr.openat2, nr.setxattr, nr.getxattr, nr.removexattr, nr.statx, nr.ioctl, nr.process_vm_writev]
    .forEach((n, i) => { a[27 + i] = BigInt(n); });
  const what = `${opts.op} ${opts.name} on ${"path" in t ? t.path : `fd ${t.fd}`}`;
  let pid: number;
  try {
    pid = Number(stage()(a));
  } finally {
    close(wr);
  }
  // The child has its own copy of the arguments from here on.
  void [name, value, path];
  if (pid < 0) {
    close(rd);
    throw new SysError({ syscall: "clone", path: what, errno: -pid });
  }
  return { pid, resultFd: rd, what };
}

/**
 * Reads the result of a child whose result fd polled readable or hung up,
 * reaps it and closes the fd. Returns the call's value (get: the length);
 * throws SysError naming the step, whose errno is the caller's to see.
 */
export function finishXattr(run: NsMountRun): number {
  const [step, err, value] = readStageResult(run, "xattr stage");
  if (step !== 0) throw new SysError({ syscall: STEP_NAMES[step] ?? `step ${step}`, path: run.what, errno: err || 5 });
  return value;
}
