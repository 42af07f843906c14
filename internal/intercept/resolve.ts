/**
 * Resolves a trapped call's path argument to the mount it names, the way the
 * kernel's path walk would, from the caller's mountinfo and a readlink
 * callback, without opening anything inside the container.
 *
 * The walk never reads a symlink on a filesystem whose lookups may wait on
 * a user-space or network server (FUSE, NFS, CIFS, 9p, autofs...): the
 * container can own such a server and stall it, and the supervisor thread
 * serves every container. Components there are taken as plain directories.
 * procfs magic links of the caller itself (/proc/self/{root,cwd,fd/N}) are
 * followed through `env`; those of other processes make the path
 * unresolvable, and the policy decides what that means per syscall.
 */
import type { MountInfoEntry, MountView } from "./view.ts";

/** Filesystems whose lookups can block on something the container controls. */
const UNSAFE_FS = /^(fuse(\..*|blk)?|nfs4?|cifs|smb3|smbfs|9p|ceph|glusterfs|afs|autofs|virtiofs|lustre|ncpfs|coda)$/;

/** True when the resolver may readlink(2) on a filesystem of this type. */
export function safeToLookUp(fsType: string | undefined): boolean {
  return fsType !== undefined && !UNSAFE_FS.test(fsType);
}

/** Like the kernel's MAXSYMLINKS. */
export const MAX_SYMLINKS = 40;

export interface ResolveEnv {
  view: MountView;
  /** The caller's cwd as a path within its root; null when outside its root or unknown. */
  cwd: string | null;
  /**
   * readlink(2) of an absolute path in the caller's root; null if it is not
   * a symlink or cannot be read (the kernel walk then fails or goes on the
   * same way).
   */
  readlink(path: string): string | null;
  /** Target of the caller's /proc/self/fd/N as a path in its root; null if not a path there. */
  fdPath(fd: number): string | null;
  /** fs type of a mount missing from the view (the hidden root of a chroot), if known. */
  fsTypeOf?(mountId: number): string | undefined;
  /** Id of the hidden root mount, if known. */
  hiddenRootId?: number;
}

export interface ResolveOptions {
  /** Follow a symlink in the last component (umount2 without UMOUNT_NOFOLLOW, mount). */
  follow: boolean;
}

export type Resolved =
  | {
      ok: true;
      /** The canonical path in the caller's root. */
      path: string;
      /** The mount the path lands on; null for the hidden root of a chroot. */
      mount: MountInfoEntry | null;
      /** The path is the root of `mount` (remount and umount need this, else EINVAL). */
      mountRoot: boolean;
    }
  | { ok: false; reason: string };

interface Step {
  name: string;
  mount: MountInfoEntry | null;
  crossed: boolean;
  /** procfs bookkeeping: "self" is /proc/self, "selfFd" is /proc/self/fd, "pid" another process's dir. */
  proc?: "self" | "selfFd" | "pid";
}

interface Pending {
  name: string;
  /** From a kernel-made path (cwd, fd link): already canonical, no readlink needed. */
  trusted: boolean;
}

const split = (p: string, trusted: boolean): Pending[] =>
  p.split("/").filter((c) => c !== "").map((name) => ({ name, trusted }));

/** Magic links under /proc/<pid>/ that jump somewhere a path cannot show. */
const PROC_MAGIC = new Set(["root", "cwd", "fd", "exe", "map_files", "task", "ns", "fdinfo"]);

export function resolvePath(target: string, opts: ResolveOptions, env: ResolveEnv): Resolved {
  if (target === "") return { ok: false, reason: "empty path" };
  const pending: Pending[] = [];
  if (!target.startsWith("/")) {
    if (env.cwd === null) return { ok: false, reason: "relative path and the caller's cwd is outside its root" };
    pending.push(...split(env.cwd, true));
  }
  pending.push(...split(target, false));
  // A trailing slash makes the kernel follow the last component regardless.
  const follow = opts.follow || target.endsWith("/");
  const root = env.view.root;
  const stack: Step[] = [];
  let links = 0;

  const fsOf = (m: MountInfoEntry | null): string | undefined =>
    m ? m.fsType : env.hiddenRootId !== undefined ? env.fsTypeOf?.(env.hiddenRootId) : undefined;
  const pathOf = (extra?: string) => "/" + [...stack.map((s) => s.name), ...(extra ? [extra] : [])].join("/");
  const restartAt = (path: string, trusted: boolean) => {
    stack.length = 0;
    pending.unshift(...split(path, trusted));
  };

  while (pending.length > 0) {
    const { name, trusted } = pending.shift()!;
    if (name === ".") continue;
    if (name === "..") {
      stack.pop();
      continue;
    }
    const top = stack.at(-1);
    const here = top ? top.mount : root;
    const path = pathOf(name);
    const last = !pending.some((p) => p.name !== ".");

    const over = env.view.mountedAt(here, path);
    if (over) {
      stack.push({ name, mount: over, crossed: true });
      continue;
    }

    if (fsOf(here) === "proc") {
      const r = procStep(top, here, name, last, follow);
      if (r === "unresolvable") return { ok: false, reason: `${path}: a magic link of another process` };
      if (r === "root") {
        stack.length = 0;
        continue;
      }
      if (r === "cwd") {
        if (env.cwd === null) return { ok: false, reason: `${path}: the caller's cwd is outside its root` };
        restartAt(env.cwd, true);
        continue;
      }
      if (r === "fd") {
        const fd = Number(name);
        const to = /^\d+$/.test(name) ? env.fdPath(fd) : null;
        if (to === null) return { ok: false, reason: `${path}: fd ${name} is not a path in the caller's root` };
        restartAt(to, true);
        continue;
      }
      stack.push({ name, mount: here, crossed: false, ...(r ? { proc: r } : {}) });
      continue;
    }

    // readlink(path) looks up every component on the way, in the root mount
    // and in each mount the walk has entered so far.
    const lookupsSafe = safeToLookUp(fsOf(root)) && stack.every((s) => safeToLookUp(fsOf(s.mount)));
    if (!trusted && (!last || follow) && lookupsSafe) {
      const link = env.readlink(path);
      if (link !== null) {
        if (++links > MAX_SYMLINKS) return { ok: false, reason: `${target}: too many levels of symbolic links` };
        if (link.startsWith("/")) stack.length = 0;
        pending.unshift(...split(link, false));
        continue;
      }
    }
    stack.push({ name, mount: here, crossed: false });
  }

  const end = stack.at(-1);
  if (!end) return { ok: true, path: "/", mount: root, mountRoot: root !== null };
  return { ok: true, path: pathOf(), mount: end.mount, mountRoot: end.crossed };
}

/**
 * One component inside a procfs mount. Returns how to go on: a jump
 * ("root", "cwd", "fd" for the N in /proc/self/fd/N), a bookkeeping tag for
 * the step, "unresolvable", or undefined for a plain component.
 */
function procStep(
  parent: Step | undefined,
  here: MountInfoEntry | null,
  name: string,
  last: boolean,
  follow: boolean,
): "root" | "cwd" | "fd" | "self" | "selfFd" | "pid" | "unresolvable" | undefined {
  const atProcRoot = (!parent || parent.crossed) && here?.root === "/";
  const jumps = !last || follow;
  if (atProcRoot) {
    if (name === "self" || name === "thread-self") return "self";
    if (/^\d+$/.test(name)) return "pid";
    return undefined;
  }
  if (!parent) return undefined;
  if (parent.proc === "self") {
    if (name === "root") return jumps ? "root" : undefined;
    if (name === "cwd") return jumps ? "cwd" : undefined;
    if (name === "fd") return "selfFd";
    if (PROC_MAGIC.has(name)) return jumps ? "unresolvable" : undefined;
    return undefined;
  }
  if (parent.proc === "selfFd") return jumps ? "fd" : undefined;
  if (parent.proc === "pid" && PROC_MAGIC.has(name)) return jumps || name === "fd" || name === "task" ? "unresolvable" : undefined;
  return undefined;
}
