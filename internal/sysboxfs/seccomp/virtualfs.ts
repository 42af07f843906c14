/**
 * Carries out the two verdicts sysbox-fs acts on itself (intercept/policy.ts):
 *
 *   mount-fs          a new proc or sysfs, mounted in the caller's user, net,
 *                     pid and mount namespaces (nsmount.c), with detached
 *                     clones of the container's sysbox-fs files moved over
 *                     the kernel's (BINDS below that filesystem's root)
 *   umount-submounts  those binds detached again, from the caller's root, so
 *                     the caller's own umount can go on
 *
 * The caller must hold CAP_SYS_ADMIN (read from /proc/TID/status), since the
 * helper acts with all the rights of root in the caller's user namespace;
 * otherwise the call goes on to the kernel, which refuses it.
 *
 * The target: /proc/self/fd/N (runc mounts there) and the like are opened
 * here through the caller's own /proc/TID, a magic link with no path walk;
 * any other path is opened by the helper with openat2(RESOLVE_IN_ROOT) from
 * the caller's root, so symlinks cannot lead outside it and a lookup that
 * hangs in a FUSE server of the container's holds only the helper, which
 * the timeout kills.
 */
import { readlinkSync } from "node:fs";
import { isAbsolute, join, posix } from "node:path";
import { isSysError, type SysError } from "../../sys/errno.ts";
import { CLONE, MNT, MOUNT_ATTR, MS } from "../../sys/flags.ts";
import { closeAll, open, O_FLAGS } from "../../sys/fs.ts";
import { OPEN_TREE, mountSetattr, openTree } from "../../sys/mount.ts";
import {
  abortNsMount, finishNsMount, startMountInNamespaces, startUmountInNamespaces, type NsJoin, type NsMountRun,
} from "../../ns/mod.ts";
import type { MountFsVerdict } from "../../intercept/mod.ts";
import { hasCap } from "./caller.ts";

/** Where the container's sysbox-fs files are, and where each goes. */
export interface VirtualFsConfig {
  /** The container's FUSE dir is <mountRoot>/<container id>. */
  mountRoot: string;
  /** Source relative to that dir, destination as in the container ("/proc/uptime"). */
  binds: ReadonlyArray<{ source: string; destination: string }>;
}

/** Mount points inside each filesystem the binds go under. */
const FS_ROOT: Record<MountFsVerdict["fstype"], string> = { proc: "/proc/", sysfs: "/sys/" };

/**
 * The helper's whole run, mount and binds, must fit in this (it takes a few
 * ms); after that it is killed and the kernel gets the call. The notify
 * thread goes on serving other calls meanwhile.
 */
const HELPER_TIMEOUT_MS = 5_000;

const CAP_SYS_ADMIN = 21;

/**
 * What became of the call: done here (the caller gets 0), handed on to the
 * kernel, or failed with the errno the caller gets. `warning` reports a
 * problem of sysbox-fs's own, which the caller does not see.
 */
export type ActResult =
  | { outcome: "done"; reason: string; warning?: string; /** The call's return value; default 0. */ val?: number }
  | { outcome: "continue"; reason: string; warning?: string }
  | { outcome: "error"; errno: number; reason: string };

/** Steps of the helper whose errors are the caller's (bad options, a target that is no directory...). */
const CALLERS_STEP = /^(fsopen|fsconfig|fsmount|move_mount)\b(?! \(bind\))/;
/**
 * Opening the target: a missing or unreachable path is the caller's error;
 * EXDEV and EAGAIN mean RESOLVE_IN_ROOT met a magic link or a race, which
 * the kernel's own walk would take, so the kernel gets the call.
 */
const TARGET_STEP = /^openat2 \(mount target\)/;
/** Steps after the filesystem was mounted: the caller has its mount, without some binds. */
const BIND_STEP = /^(openat \(bind target\)|move_mount \(bind\))/;

/** True if the thread holds CAP_SYS_ADMIN in its effective set. */
export function hasSysAdmin(tid: number): boolean {
  return hasCap(tid, CAP_SYS_ADMIN);
}

/** The binds of `cfg` that go below a new `fstype`, as paths relative to its root. */
export function bindsFor(fstype: MountFsVerdict["fstype"], cfg: VirtualFsConfig): Array<{ source: string; path: string }> {
  const root = FS_ROOT[fstype];
  return cfg.binds.filter((b) => b.destination.startsWith(root)).map((b) => ({ source: b.source, path: b.destination.slice(root.length) }));
}

/** Joins of the caller's namespaces (user first) that differ from ours; setns into one's own fails. */
export function namespaceJoins(tid: number, names: ReadonlyArray<"user" | "net" | "pid" | "mnt">): NsJoin[] {
  const type = { user: CLONE.NEWUSER, net: CLONE.NEWNET, pid: CLONE.NEWPID, mnt: CLONE.NEWNS };
  const out: NsJoin[] = [];
  try {
    for (const ns of names) {
      if (readlinkSync(`/proc/${tid}/ns/${ns}`) === readlinkSync(`/proc/self/ns/${ns}`)) continue;
      out.push({ fd: open(`/proc/${tid}/ns/${ns}`, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC), type: type[ns] });
    }
  } catch (e) {
    closeAll(out.map((j) => j.fd));
    throw e;
  }
  return out;
}

/**
 * The mount target as the caller names it: one of its own fds or its root or
 * cwd (magic links, opened here without a path walk), or else a path in its
 * root for the helper to open. null: a form not handled (/proc/self/cwd/x...).
 */
export function targetOf(tid: number, target: string): { magic: string } | { path: string } | null {
  const norm = posix.normalize(target);
  const self = /^\/proc\/(self|thread-self)(\/.*)?$/.exec(norm);
  if (self) {
    const rest = self[2] ?? "";
    return /^\/(fd\/\d+|root|cwd)$/.test(rest) ? { magic: `/proc/${tid}${rest}` } : null;
  }
  if (isAbsolute(norm)) return { path: norm };
  const rootLink = readlinkSync(`/proc/${tid}/root`);
  const cwd = readlinkSync(`/proc/${tid}/cwd`);
  const rel = rootLink === "/" ? cwd : cwd === rootLink ? "/" : cwd.startsWith(`${rootLink}/`) ? cwd.slice(rootLink.length) : null;
  return rel === null ? null : { path: join(rel, norm) };
}

/**
 * A helper under way: when `fd` polls readable or hung up, `finish()` gives
 * the outcome; once `deadline` (Date.now() ms) has passed, `abort()` kills it.
 */
export interface PendingAct {
  fd: number;
  deadline: number;
  finish(): ActResult;
  abort(): ActResult;
}

export function isPending(r: ActResult | PendingAct): r is PendingAct {
  return "finish" in r;
}

/**
 * Starts mounting the new proc or sysfs for the caller, with the container's
 * sysbox-fs files over the kernel's. Returns at once: an outcome when it can
 * tell without the helper, else the helper under way.
 */
export function beginMountVirtualFs(tid: number, containerId: string, v: MountFsVerdict, cfg: VirtualFsConfig): ActResult | PendingAct {
  if (!hasSysAdmin(tid)) return { outcome: "continue", reason: "the caller lacks CAP_SYS_ADMIN" };
  // Our own failure (the FUSE dir gone, a helper that could not start): the
  // kernel mounts it instead, without the virtualized files.
  const ours = (e: unknown): ActResult => {
    if (isSysError(e)) return { outcome: "continue", reason: "not virtualized", warning: `mounting ${v.fstype} at ${JSON.stringify(v.target)} for pid ${tid}: ${e.message}` };
    throw e;
  };
  const fds: number[] = [];
  let run: NsMountRun;
  let count = 0;
  try {
    const where = targetOf(tid, v.target);
    if (!where) return { outcome: "continue", reason: `target ${JSON.stringify(v.target)} not resolvable here; not virtualized` };
    let target: { fd: number } | { rootFd: number; path: string };
    try {
      target = "magic" in where
        ? { fd: open_(fds, () => open(where.magic, O_FLAGS.PATH | O_FLAGS.CLOEXEC)) }
        : { rootFd: open_(fds, () => open(`/proc/${tid}/root`, O_FLAGS.PATH | O_FLAGS.CLOEXEC)), path: where.path };
    } catch (e) {
      if (isSysError(e)) return { outcome: "error", errno: e.errno, reason: `mount target: ${e.message}` };
      throw e;
    }
    // A procfs belongs to the pid namespace of the process that mounts it,
    // which only a child of a setns(CLONE_NEWPID) is in: one more fork
    // (~10 ms for a copy of this process), needed for proc only.
    const proc = v.fstype === "proc";
    const joins = namespaceJoins(tid, proc ? ["user", "net", "pid", "mnt"] : ["user", "net", "mnt"]);
    fds.push(...joins.map((j) => j.fd));
    // Binds follow the new mount's restrictions, and stay private: a clone of
    // a shared host mount would otherwise join the host's peer group.
    const attr = v.attr & (MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC);
    const binds: Array<{ fd: number; path: string }> = [];
    for (const b of bindsFor(v.fstype, cfg)) {
      let fd: number;
      try {
        fd = open_(fds, () => openTree(join(cfg.mountRoot, containerId, b.source), OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC));
      } catch (e) {
        if (isSysError(e, "ENOENT")) continue;
        throw e;
      }
      mountSetattr(fd, "", 0, { set: attr, propagation: MS.PRIVATE });
      binds.push({ fd, path: b.path });
    }
    count = binds.length;
    run = startMountInNamespaces({ join: joins, fork: proc, fstype: v.fstype, options: v.options, attr: v.attr, target, binds });
  } catch (e) {
    return ours(e);
  } finally {
    // The helper holds its own copies of these.
    closeAll(fds);
  }
  return pendingAct(run, (e) => {
    if (!e) return { outcome: "done", reason: `mounted with ${count} sysbox-fs binds` };
    if (TARGET_STEP.test(e.syscall)) {
      if (e.code === "EXDEV" || e.code === "EAGAIN") return { outcome: "continue", reason: `target ${JSON.stringify(v.target)} not resolvable inside the caller's root (${e.code}); not virtualized` };
      return { outcome: "error", errno: e.errno, reason: e.message };
    }
    if (CALLERS_STEP.test(e.syscall)) return { outcome: "error", errno: e.errno, reason: e.message };
    if (BIND_STEP.test(e.syscall)) return { outcome: "done", reason: "mounted", warning: `not every sysbox-fs bind went on: ${e.message}` };
    return ours(e);
  });
}

/**
 * Starts detaching the sysbox-fs binds at `paths` (mountinfo paths of the
 * caller) in its mount namespace; the kernel then runs the caller's umount.
 */
export function beginDetachSubmounts(tid: number, paths: readonly string[]): ActResult | PendingAct {
  if (!hasSysAdmin(tid)) return { outcome: "continue", reason: "the caller lacks CAP_SYS_ADMIN" };
  const left = (e: unknown): ActResult => {
    if (isSysError(e)) return { outcome: "continue", reason: "binds left in place", warning: `detaching ${paths.join(", ")} for pid ${tid}: ${e.message}` };
    throw e;
  };
  const fds: number[] = [];
  let run: NsMountRun;
  try {
    const rootFd = open_(fds, () => open(`/proc/${tid}/root`, O_FLAGS.PATH | O_FLAGS.CLOEXEC));
    const joins = namespaceJoins(tid, ["user", "mnt"]);
    fds.push(...joins.map((j) => j.fd));
    run = startUmountInNamespaces({ join: joins, fork: false, rootFd, paths: [...paths], flags: MNT.DETACH });
  } catch (e) {
    return left(e);
  } finally {
    closeAll(fds);
  }
  return pendingAct(run, (e) => (e ? left(e) : { outcome: "continue", reason: `${paths.length} sysbox-fs binds detached first` }));
}

/**
 * The helper `run` as a PendingAct: `outcome` turns what it did (undefined:
 * done; else the SysError of the failed step, or ETIMEDOUT) into the answer.
 */
export function pendingAct(run: NsMountRun, outcome: (e: SysError | undefined) => ActResult): PendingAct {
  return {
    fd: run.resultFd,
    deadline: Date.now() + HELPER_TIMEOUT_MS,
    finish(): ActResult {
      try {
        finishNsMount(run);
      } catch (e) {
        if (!isSysError(e)) throw e;
        return outcome(e);
      }
      return outcome(undefined);
    },
    abort: () => outcome(abortNsMount(run)),
  };
}

function open_(fds: number[], fn: () => number): number {
  const fd = fn();
  fds.push(fd);
  return fd;
}
