/**
 * Carries out a MKNOD_BIND verdict (intercept/mknod.ts): the allow-listed
 * node is bound over an empty file created at the caller's path, by a
 * helper (ns/nsmount.c op MKNOD) in the caller's user and mount namespaces
 * that creates the file with the caller's fsuid/fsgid and resolves every
 * path with openat2(RESOLVE_IN_ROOT) from the caller's root, so symlinks
 * cannot lead outside it, and a lookup that hangs holds only the helper.
 *
 * The caller must hold CAP_MKNOD in its user namespace, as the kernel
 * requires of any mknod of a device, and CAP_DAC_OVERRIDE there, since the
 * helper creates the file with all the rights of root in that namespace;
 * without them the kernel gets the call (and refuses it). A relative path is taken from the caller's cwd or dirfd,
 * each as the kernel names it, turned into a path in the caller's root.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { isAbsolute, join, posix } from "node:path";
import { isSysError, type SysError } from "../../sys/errno.ts";
import { closeAll, open, O_FLAGS } from "../../sys/fs.ts";
import { OPEN_TREE, openTree } from "../../sys/mount.ts";
import { startMknodInNamespaces, type NsMountRun } from "../../ns/mod.ts";
import { AT_FDCWD, type MknodBindVerdict } from "../../intercept/mod.ts";
import { inRoot } from "./caller.ts";
import { namespaceJoins, pendingAct, type ActResult, type PendingAct } from "./virtualfs.ts";

const CAP_MKNOD = 27n;
const CAP_DAC_OVERRIDE = 1n;
const EPERM = 1;

/** The thread's effective capabilities and fs ids (host ids) from /proc/TID/status. */
export function callerCreds(status: string): { capEff: bigint; fsuid: number; fsgid: number } {
  const cap = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  const uid = /^Uid:\s+\d+\s+\d+\s+\d+\s+(\d+)$/m.exec(status)?.[1];
  const gid = /^Gid:\s+\d+\s+\d+\s+\d+\s+(\d+)$/m.exec(status)?.[1];
  if (cap === undefined || uid === undefined || gid === undefined) throw new Error("unparsable /proc/TID/status");
  return { capEff: BigInt(`0x${cap}`), fsuid: Number(uid), fsgid: Number(gid) };
}

/**
 * The path in the caller's root that `path` (relative to `dirfd`) names,
 * or null when its directory is not in that root. Pure but for the links.
 */
export function pathInRoot(path: string, dirfd: number, links: { root: string; base(): string | null }): string | null {
  if (isAbsolute(path)) return posix.normalize(path);
  const base = links.base();
  if (base === null) return null;
  const rel = inRoot(links.root, base);
  return rel === null ? null : join(rel, path);
}

/** Steps whose errno is the caller's (the path: EEXIST, ENOENT, EACCES, EROFS...). */
const TARGET_STEP = /^openat2 \(node target\)/;
/** Steps that say the node is not there to bind: the container was not given it. */
const SOURCE_STEP = /^(openat2|statx) \(node source\)/;

export function beginMknodBind(tid: number, v: MknodBindVerdict): ActResult | PendingAct {
  const creds = callerCreds(readFileSync(`/proc/${tid}/status`, "utf8"));
  for (const [bit, name] of [[CAP_MKNOD, "CAP_MKNOD"], [CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE"]] as const) {
    if (((creds.capEff >> bit) & 1n) === 0n) return { outcome: "continue", reason: `the caller lacks ${name}` };
  }
  const rootLink = readlinkSync(`/proc/${tid}/root`);
  const where = pathInRoot(v.path, v.dirfd, {
    root: rootLink,
    base: () => {
      try {
        return readlinkSync(v.dirfd === AT_FDCWD ? `/proc/${tid}/cwd` : `/proc/${tid}/fd/${v.dirfd}`);
      } catch {
        return null;
      }
    },
  });
  if (where === null) return { outcome: "error", errno: EPERM, reason: `${JSON.stringify(v.path)} is not resolvable inside the caller's root` };
  const fds: number[] = [];
  let run: NsMountRun;
  try {
    const rootFd = open(`/proc/${tid}/root`, O_FLAGS.PATH | O_FLAGS.CLOEXEC);
    fds.push(rootFd);
    const { inRoot, rdev, host } = v.node.source;
    let hostFd: number | undefined;
    if (host) {
      hostFd = openTree(host, OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC);
      fds.push(hostFd);
    }
    const source = { path: inRoot, ...(rdev ? { rdev } : {}), ...(hostFd !== undefined ? { fd: hostFd } : {}) };
    const joins = namespaceJoins(tid, ["user", "mnt"]);
    fds.push(...joins.map((j) => j.fd));
    run = startMknodInNamespaces({ join: joins, fork: false, rootFd, path: where, source, fsuid: creds.fsuid, fsgid: creds.fsgid });
  } catch (e) {
    if (isSysError(e)) return { outcome: "error", errno: EPERM, reason: `not made: ${e.message}` };
    throw e;
  } finally {
    // The helper holds its own copies of these.
    closeAll(fds);
  }
  return pendingAct(run, (e: SysError | undefined): ActResult => {
    if (!e) return { outcome: "done", reason: `bound the ${v.node.name} node at ${where}` };
    if (TARGET_STEP.test(e.syscall)) return { outcome: "error", errno: e.errno, reason: e.message };
    if (SOURCE_STEP.test(e.syscall)) return { outcome: "error", errno: EPERM, reason: `the container has no ${v.node.name} device to bind (${e.code})` };
    return { outcome: "error", errno: EPERM, reason: e.message };
  });
}
