/**
 * What to answer a trapped mount/umount, as one table keyed by syscall. Pure:
 * the caller has already read the path argument and resolved it (resolve.ts)
 * against the caller's mountinfo.
 *
 *   syscall          case                                                   answer
 *   mount            no MS_REMOUNT, or MS_REMOUNT with MS_RDONLY            CONTINUE
 *   mount            MS_REMOUNT [MS_BIND] without MS_RDONLY, target is:
 *                      an initial read-only mount (same mount ns, by id)    EPERM
 *                      a read-only copy of one (bind, or any mount ns)      EPERM
 *                      unresolvable (another process's magic link...)       EPERM
 *                      anything else                                        CONTINUE
 *   umount2/umount   the container's /, /proc or /sys, or an initial mount
 *                    under /proc or /sys (sysbox-fs files, masks, read-only
 *                    paths, cgroupfs) (same mount ns, by id)                 EBUSY
 *                    anything else, or an unresolvable path                 CONTINUE
 *
 * Immutability follows Sysbox: in the container's own mount namespace the
 * registered mount ids decide. Other mount namespaces (unshare -m, inner
 * containers) hold copies with new ids: a copy counts as read-only-immutable
 * when it is read-only and its (device, root) falls under an initial
 * read-only mount more closely than under any initial read-write one. Copies
 * of /, /proc and /sys there may be unmounted (an inner runc detaches its old
 * root that way).
 *
 * Limits, as in Sysbox. CONTINUE lets the kernel read the arguments again, so
 * a second thread that rewrites the path between our check and the kernel's
 * read can aim a remount elsewhere (seccomp_unotify(2), "Design goals; use of
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE"). The new mount API (mount_setattr,
 * fspick/fsconfig, open_tree/move_mount) is not trapped. A read-only flag the
 * kernel itself locks (MNT_LOCK_READONLY: the mount was read-only when its
 * mount namespace was copied into a less privileged user namespace) holds
 * against both.
 */
import type { DecodedCall } from "./syscalls.ts";
import type { Resolved } from "./resolve.ts";
import { isReadOnly, isUnder, type MountInfoEntry } from "./view.ts";

const EPERM = 1;
const EBUSY = 16;
const MS_RDONLY = 0x1;
const MS_REMOUNT = 0x20;
const UMOUNT_NOFOLLOW = 0x8;

/** A mount of the container's init at registration. */
export interface InitialMount {
  id: number;
  majorMinor: string;
  root: string;
  mountPoint: string;
  fsType: string;
  /** Registered as read-only by the runtime. */
  readonly: boolean;
}

/** What registration told us about a container, and what we read then. */
export interface ContainerMounts {
  containerId: string;
  /** "dev:ino" of the init's mount namespace at registration. */
  mountNs: string;
  rootId: number;
  procId?: number;
  sysId?: number;
  readonlyIds: ReadonlySet<number>;
  /**
   * Mounts that may not be unmounted, with what they are: /, /proc, /sys and
   * the initial mounts under /proc and /sys, which make those two what the
   * container sees (unmounting /proc/uptime would show the host's).
   */
  pinned: ReadonlyMap<number, string>;
  /** Every mount in the init's mountinfo at registration. */
  initial: readonly InitialMount[];
}

export interface CallContext {
  container: ContainerMounts;
  /** The caller is in the container's initial mount namespace. */
  sameMountNs: boolean;
}

export type Verdict =
  | { action: "continue"; reason: string }
  | { action: "error"; errno: number; reason: string };

const cont = (reason: string): Verdict => ({ action: "continue", reason });
const fail = (errno: number, reason: string): Verdict => ({ action: "error", errno, reason });

export interface Rule<C extends DecodedCall> {
  /** The path argument to read and resolve, or null to decide from the flags alone. */
  path(call: C): { addr: bigint; follow: boolean } | null;
  decide(call: C, target: Resolved | null, ctx: CallContext): Verdict;
}

type Rules = { [K in DecodedCall["syscall"]]: Rule<Extract<DecodedCall, { syscall: K }>> };

const where = (m: MountInfoEntry) => `mount ${m.id} at ${m.mountPoint}`;

const umountRule: Rule<Extract<DecodedCall, { syscall: "umount2" | "umount" }>> = {
  path: (c) => ({ addr: c.target, follow: (c.flags & UMOUNT_NOFOLLOW) === 0 }),
  decide(_c, t, ctx) {
    if (!t || !t.ok) return cont(t ? `unresolved target (${t.reason})` : "no target");
    if (!t.mountRoot || !t.mount) return cont("not a mount point");
    const m = t.mount;
    const { container: c } = ctx;
    const what = ctx.sameMountNs ? c.pinned.get(m.id) : undefined;
    if (what) return fail(EBUSY, `${what} (${where(m)})`);
    return cont("not an immutable mount");
  },
};

export const RULES: Rules = {
  mount: {
    path: (c) => ((c.flags & MS_REMOUNT) !== 0 && (c.flags & MS_RDONLY) === 0 ? { addr: c.target, follow: true } : null),
    decide(c, t, ctx) {
      if ((c.flags & MS_REMOUNT) === 0) return cont("not a remount");
      if ((c.flags & MS_RDONLY) !== 0) return cont("read-only remount");
      if (!t) return cont("no target");
      if (!t.ok) return fail(EPERM, `cannot check the remount target (${t.reason})`);
      if (!t.mountRoot || !t.mount) return cont("not a mount point");
      const m = t.mount;
      if (ctx.sameMountNs && ctx.container.readonlyIds.has(m.id)) {
        return fail(EPERM, `read-write remount of the initially read-only ${where(m)}`);
      }
      const origin = isReadOnly(m) ? readOnlyOrigin(m, ctx.container) : undefined;
      if (origin) return fail(EPERM, `read-write remount of ${where(m)}, a copy of the initially read-only mount ${origin.id} at ${origin.mountPoint}`);
      return cont("not an immutable read-only mount");
    },
  },
  umount2: umountRule,
  umount: umountRule,
};

/**
 * The initial read-only mount that `m` copies, if any: among the initial
 * mounts of the same device whose root contains m's root, the closest one
 * decides, and a read-write one at the same distance wins (that content was
 * writable from the start).
 */
export function readOnlyOrigin(m: Pick<MountInfoEntry, "majorMinor" | "root">, c: ContainerMounts): InitialMount | undefined {
  let best: InitialMount[] = [];
  for (const i of c.initial) {
    if (i.majorMinor !== m.majorMinor || !isUnder(m.root, i.root)) continue;
    const cur = best[0];
    if (!cur || i.root.length > cur.root.length) best = [i];
    else if (i.root.length === cur.root.length) best.push(i);
  }
  if (best.length === 0 || best.some((i) => !i.readonly)) return undefined;
  return best[0];
}

/** Applies the rule for `call`; for tests and the notify loop alike. */
export function decide(call: DecodedCall, target: Resolved | null, ctx: CallContext): Verdict {
  return (RULES[call.syscall] as Rule<DecodedCall>).decide(call, target, ctx);
}

export function pathArg(call: DecodedCall): { addr: bigint; follow: boolean } | null {
  return (RULES[call.syscall] as Rule<DecodedCall>).path(call);
}
