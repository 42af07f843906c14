/**
 * Runs nsmount.c: a new filesystem mounted, or mounts removed, from inside
 * another process's namespaces. The start* functions return at once with the
 * stage's result pipe, for a caller that polls many things; the plain ones
 * wait for the result for at most `timeoutMs`, then kill the stage.
 */
import nsmountSource from "./nsmount.c" with { type: "text" };
import { SYS } from "../sys/arch.ts";
import { lazyStage, addressOf, syscallAddress, type StageEntry } from "../sys/cstage.ts";
import { ERRNO, SysError } from "../sys/errno.ts";
import { kill, reap, SIG } from "../sys/proc.ts";
import { cstr } from "../sys/cstr.ts";
import { close, pipe2, read, O_FLAGS } from "../sys/fs.ts";
import { POLL, encodePollfds, poll, pollRevents } from "../sys/seccomp_notify.ts";

const STEP_NAMES: Record<number, string> = {
  1: "setns", 2: "clone", 3: "fsopen", 4: "fsconfig", 5: "fsconfig(FSCONFIG_CMD_CREATE)", 6: "fsmount",
  7: "move_mount", 8: "openat (bind target)", 9: "move_mount (bind)", 10: "chroot", 11: "umount2", 12: "wait4",
  13: "openat2 (mount target)", 14: "setfsuid/setfsgid", 15: "openat2 (node source)", 16: "statx (node source)",
  17: "open_tree (node source)", 18: "openat2 (node target)",
};

const NR_X86_64 = {
  clone: 56, setns: 308, exit_group: 231, write: 1, wait4: 61, openat: 257, close: 3, umount2: 166, fchdir: 81, chroot: 161,
  openat2: 437, statx: 332,
};
const NR_ARM64: typeof NR_X86_64 = {
  clone: 220, setns: 268, exit_group: 94, write: 64, wait4: 260, openat: 56, close: 57, umount2: 39, fchdir: 50, chroot: 51,
  openat2: 437, statx: 291,
};

const stage = lazyStage("nsmount", nsmountSource, "nsmount_run");

export interface NsJoin {
  /** fd of /proc/PID/ns/X. */
  fd: number;
  /** Its CLONE_NEW* type. */
  type: number;
}

interface Common {
  /** Namespaces to enter, in order (the user namespace first). At most 6. */
  join: NsJoin[];
  /** Work in a child of the joined namespaces, so a joined pid namespace applies (procfs). */
  fork: boolean;
  /** How long to wait for the result. */
  timeoutMs: number;
}

export interface MountInNsOptions extends Common {
  fstype: string;
  /** fsconfig(2) options: a string value, or null for a flag. */
  options: Array<[string, string | null]>;
  /** MOUNT_ATTR_* flags for fsmount(2). */
  attr: number;
  /**
   * The mount point: an O_PATH fd, or a path opened inside the stage with
   * openat2(rootFd, path, RESOLVE_IN_ROOT).
   */
  target: { fd: number } | { rootFd: number; path: string };
  /** Detached trees (open_tree(OPEN_TREE_CLONE) fds) and where below the new mount they go; missing destinations are skipped. */
  binds: Array<{ fd: number; path: string }>;
}

export interface UmountInNsOptions extends Common {
  /** fd of the caller's root directory: paths are resolved from there. */
  rootFd: number;
  paths: string[];
  flags: number;
}

/** Keeps C strings alive while the stage reads them. */
function cStrings(strings: Array<string | null>, keep: Uint8Array[]): BigInt64Array {
  const array = new BigInt64Array(strings.length + 1);
  strings.forEach((s, i) => {
    if (s === null) return;
    const c = cstr(s);
    keep.push(c);
    array[i] = addressOf(c);
  });
  return array;
}

/** A started stage: its result arrives on `resultFd` (readable, or hung up). */
export interface NsMountRun {
  pid: number;
  resultFd: number;
  /** What it does, for errors. */
  what: string;
}

function start(fill: (a: BigInt64Array, keep: Array<Uint8Array | BigInt64Array>) => void, common: Omit<Common, "timeoutMs">, what: string): NsMountRun {
  if (common.join.length > 6) throw new RangeError("at most 6 namespaces can be joined");
  const nr = process.arch === "arm64" ? NR_ARM64 : NR_X86_64;
  const [rd, wr] = pipe2(O_FLAGS.CLOEXEC | O_FLAGS.NONBLOCK);
  const a = new BigInt64Array(456 / 8);
  const keep: Array<Uint8Array | BigInt64Array> = [];
  a[0] = syscallAddress();
  a[1] = BigInt(common.join.length);
  common.join.forEach((j, i) => { a[2 + i] = BigInt(j.fd); a[8 + i] = BigInt(j.type); });
  a[14] = common.fork ? 1n : 0n;
  a[15] = -1n;
  a[16] = BigInt(wr);
  a[46] = -1n; // src_fd
  a[51] = -1n; // fsuid
  a[52] = -1n; // fsgid
  [nr.statx, SYS.open_tree, SYS.setfsuid, SYS.setfsgid].forEach((n, i) => { a[53 + i] = BigInt(n); });
  fill(a, keep);
  const table = [nr.clone, nr.setns, nr.exit_group, nr.write, nr.wait4, SYS.fsopen, SYS.fsconfig, SYS.fsmount, SYS.move_mount,
    nr.openat, nr.close, nr.umount2, nr.fchdir, nr.chroot, nr.openat2];
  table.forEach((n, i) => { a[30 + i] = BigInt(n); });

  let pid: number;
  try {
    pid = Number(stage()(a));
  } finally {
    close(wr);
  }
  // The child has its own copy of the arguments from here on.
  void keep;
  if (pid < 0) {
    close(rd);
    throw new SysError({ syscall: "clone", path: what, errno: -pid });
  }
  return { pid, resultFd: rd, what };
}

/**
 * Reads the result of a stage whose result fd polled readable or hung up,
 * reaps it and closes the fd. Throws SysError naming the step that failed.
 */
export function finishNsMount(run: NsMountRun): void {
  const [step, err, index] = readStageResult(run, "namespace mount stage");
  if (step !== 0) {
    throw new SysError({ syscall: `${STEP_NAMES[step] ?? `step ${step}`}${index ? ` #${index + 1}` : ""} in the caller's namespaces`, path: run.what, errno: err || 5 });
  }
}

/**
 * A stage's three int32s (step, errno, value) from its result fd, which is
 * then closed, and the stage reaped; EPIPE (SysError naming `stage`) if it
 * died without writing them. Shared with nsxattr.ts.
 */
export function readStageResult(run: NsMountRun, stage: string): [number, number, number] {
  const buf = new Int32Array(3);
  let got = 0;
  try {
    while (got < 12) {
      let n: number;
      try {
        n = read(run.resultFd, new Uint8Array(buf.buffer, got));
      } catch (e) {
        // Not all there yet: the stage writes its 12 bytes at once, so this is a hang-up.
        if ((e as { code?: string }).code === "EAGAIN") break;
        throw e;
      }
      if (n === 0) break;
      got += n;
    }
  } finally {
    close(run.resultFd);
    reap(run.pid);
  }
  if (got < 12) throw new SysError({ syscall: stage, path: run.what, errno: ERRNO.EPIPE! /* it died without a result */ });
  return [buf[0]!, buf[1]!, buf[2]!];
}

/** Kills a stage that took too long, reaps it and closes its fd; the SysError (ETIMEDOUT) to report. */
export function abortNsMount(run: NsMountRun): SysError {
  try { kill(run.pid, SIG.SIGKILL); } catch { /* already gone: reaped below */ }
  close(run.resultFd);
  reap(run.pid);
  return new SysError({ syscall: "namespace mount stage", path: run.what, errno: ERRNO.ETIMEDOUT! });
}

/** Waits up to `timeoutMs` for a stage, then finishes or aborts it. */
function wait(run: NsMountRun, timeoutMs: number): void {
  const fds = encodePollfds([{ fd: run.resultFd, events: POLL.IN }]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0 || poll(fds, left) === 0) throw abortNsMount(run);
    if ((pollRevents(fds, 0) & (POLL.IN | POLL.HUP | POLL.ERR)) !== 0) return finishNsMount(run);
  }
}


/**
 * Mounts a new `fstype` on `targetFd` from inside the joined namespaces and
 * moves each bind onto its path below it. Throws SysError naming the step
 * that failed; its errno is what the caller of mount(2) should see.
 */
export function mountInNamespaces(opts: MountInNsOptions): void {
  wait(startMountInNamespaces(opts), opts.timeoutMs);
}

/** mountInNamespaces without the wait: poll the run's result fd, then finishNsMount (or abortNsMount). */
export function startMountInNamespaces(opts: Omit<MountInNsOptions, "timeoutMs">): NsMountRun {
  return start((a, keep) => {
    const fstype = cstr(opts.fstype);
    const keys = cStrings(opts.options.map(([k]) => k), keep as Uint8Array[]);
    const vals = cStrings(opts.options.map(([, v]) => v), keep as Uint8Array[]);
    const src = new BigInt64Array(opts.binds.map((b) => BigInt(b.fd)).concat([0n]));
    const dst = cStrings(opts.binds.map((b) => b.path), keep as Uint8Array[]);
    keep.push(fstype, keys, vals, src, dst);
    a[17] = 1n;
    a[18] = addressOf(fstype);
    a[19] = BigInt(opts.options.length);
    a[20] = addressOf(keys);
    a[21] = addressOf(vals);
    a[22] = BigInt(opts.attr);
    if ("fd" in opts.target) {
      a[23] = BigInt(opts.target.fd);
    } else {
      const path = cstr(opts.target.path);
      keep.push(path);
      a[15] = BigInt(opts.target.rootFd);
      a[23] = -1n;
      a[45] = addressOf(path);
    }
    a[24] = BigInt(opts.binds.length);
    a[25] = addressOf(src);
    a[26] = addressOf(dst);
  }, opts, "fd" in opts.target ? opts.fstype : `${opts.fstype} on ${opts.target.path}`);
}

/** Unmounts `paths`, in order, as seen from `rootFd` inside the joined namespaces. */
export function umountInNamespaces(opts: UmountInNsOptions): void {
  wait(startUmountInNamespaces(opts), opts.timeoutMs);
}

/** umountInNamespaces without the wait. */
export function startUmountInNamespaces(opts: Omit<UmountInNsOptions, "timeoutMs">): NsMountRun {
  return start((a, keep) => {
    const paths = cStrings(opts.paths, keep as Uint8Array[]);
    keep.push(paths);
    a[15] = BigInt(opts.rootFd);
    a[17] = 2n;
    a[27] = BigInt(opts.paths.length);
    a[28] = addressOf(paths);
    a[29] = BigInt(opts.flags);
  }, opts, opts.paths.join(", "));
}

export interface MknodInNsOptions extends Common {
  /** fd of the caller's root directory: both paths are resolved in it (RESOLVE_IN_ROOT). */
  rootFd: number;
  /** Where the node goes: an empty file is created there and the node bound over it. */
  path: string;
  /**
   * The node: a path in the root, optionally required to be one char device,
   * else (or when that fails) a detached tree (open_tree(OPEN_TREE_CLONE) fd).
   */
  source: { path?: string; rdev?: { major: number; minor: number }; fd?: number };
  /** Host fsuid and fsgid to create the file as. */
  fsuid: number;
  fsgid: number;
}

/** Binds a device node onto a new empty file at `path`, from inside the joined namespaces; poll the run, then finishNsMount. */
export function startMknodInNamespaces(opts: Omit<MknodInNsOptions, "timeoutMs">): NsMountRun {
  return start((a, keep) => {
    const path = cstr(opts.path);
    keep.push(path);
    a[15] = BigInt(opts.rootFd);
    a[17] = 3n;
    a[45] = addressOf(path);
    if (opts.source.fd !== undefined) a[46] = BigInt(opts.source.fd);
    if (opts.source.path !== undefined) {
      const src = cstr(opts.source.path);
      keep.push(src);
      a[47] = addressOf(src);
      if (opts.source.rdev) {
        a[48] = 1n;
        a[49] = BigInt(opts.source.rdev.major);
        a[50] = BigInt(opts.source.rdev.minor);
      }
    }
    a[51] = BigInt(opts.fsuid);
    a[52] = BigInt(opts.fsgid);
  }, opts, `node at ${opts.path}`);
}

/** startMknodInNamespaces, waiting up to `timeoutMs` for the result. */
export function mknodInNamespaces(opts: MknodInNsOptions): void {
  wait(startMknodInNamespaces(opts), opts.timeoutMs);
}
