/**
 * Carries out the xattr verdict (intercept/settings_policy.ts) for a
 * container with SYSBOX_ALLOW_TRUSTED_XATTR: a trusted.* attribute set,
 * read or removed as host root by a child (internal/ns nsxattr.c).
 *
 * The same path-safety as the mount interception (virtualfs.ts): the
 * caller's own fds, root and cwd are opened here through its /proc/TID
 * magic links, with no path walk; any other path is opened by the child with
 * openat2(RESOLVE_IN_ROOT) from the caller's root, so neither a symlink nor
 * ".." leads outside it, and a lookup that hangs in a FUSE server of the
 * container's holds only the child, which the timeout kills. The caller
 * must hold CAP_SYS_ADMIN (as the kernel asks of trusted.*, in its own user
 * namespace here), and the file must be owned by one of its user
 * namespace's ids: host files that show as nobody inside stay out of reach.
 */
import { readFileSync } from "node:fs";
import { isSysError } from "../../sys/errno.ts";
import { closeAll, open, O_FLAGS } from "../../sys/fs.ts";
import { readProcessMemory, SECCOMP_IOCTL_NOTIF } from "../../sys/seccomp_notify.ts";
import { abortNsMount, finishXattr, startXattr, type NsMountRun } from "../../ns/mod.ts";
import type { XattrVerdict } from "../../intercept/mod.ts";
import { hasSysAdmin, targetOf, type ActResult, type PendingAct } from "./virtualfs.ts";

/** The child does one lookup and one xattr call; past this it is killed and the caller gets EIO. */
const HELPER_TIMEOUT_MS = 5_000;
const EIO = 5;
const EBADF = 9;

/** Host id ranges of a process's user namespace, from /proc/TID/uid_map as the host reads it. */
export function ownerRanges(uidMap: string): Array<{ first: number; size: number }> {
  return uidMap.trim().split("\n").filter(Boolean).map((l) => {
    const [, host = 0, size = 0] = l.trim().split(/\s+/).map(Number);
    return { first: host, size };
  });
}

export function beginXattr(tid: number, v: XattrVerdict, notif: { notifyFd: number; id: bigint }): ActResult | PendingAct {
  if (!hasSysAdmin(tid)) return { outcome: "continue", reason: "the caller lacks CAP_SYS_ADMIN" };
  const fds: number[] = [];
  let run: NsMountRun;
  try {
    let target: { fd: number } | { rootFd: number; path: string; follow: boolean };
    const magic = (path: string) => {
      const fd = open(path, O_FLAGS.PATH | O_FLAGS.CLOEXEC);
      fds.push(fd);
      return { fd };
    };
    try {
      if ("fd" in v.target) {
        target = magic(`/proc/${tid}/fd/${v.target.fd}`);
      } else {
        const where = targetOf(tid, v.target.path);
        if (!where) return { outcome: "continue", reason: `path ${JSON.stringify(v.target.path)} not resolvable here` };
        target = "magic" in where ? magic(where.magic) : { rootFd: magic(`/proc/${tid}/root`).fd, path: where.path, follow: v.target.follow };
      }
    } catch (e) {
      // A closed fd, or a caller that is gone.
      if (isSysError(e)) return { outcome: "error", errno: e.code === "ENOENT" ? EBADF : e.errno, reason: e.message };
      throw e;
    }
    const owners = ownerRanges(readFileSync(`/proc/${tid}/uid_map`, "utf8"));
    const value = v.op === "set" ? readProcessMemory(tid, v.value, v.size) : undefined;
    run = startXattr({
      op: v.op, name: v.name, target, flags: v.flags, owners,
      ...(value ? { value } : {}),
      ...(v.op === "get" ? { size: v.size, caller: { pid: tid, buffer: v.value, notifyFd: notif.notifyFd, notifId: notif.id, idValidIoctl: SECCOMP_IOCTL_NOTIF.ID_VALID } } : {}),
    });
  } catch (e) {
    if (isSysError(e)) return { outcome: "error", errno: e.code === "ESRCH" ? EIO : e.errno, reason: e.message };
    throw e;
  } finally {
    // The child holds its own copies.
    closeAll(fds);
  }
  return {
    fd: run.resultFd,
    deadline: Date.now() + HELPER_TIMEOUT_MS,
    finish(): ActResult {
      try {
        const val = finishXattr(run);
        return { outcome: "done", reason: `${v.op} as host root`, val: v.op === "get" ? val : 0 };
      } catch (e) {
        if (!isSysError(e)) throw e;
        return { outcome: "error", errno: e.errno, reason: e.message };
      }
    },
    abort(): ActResult {
      const e = abortNsMount(run);
      return { outcome: "error", errno: EIO, reason: e.message };
    },
  };
}
