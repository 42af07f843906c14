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
 *   mount            a new proc or sysfs (no MS_REMOUNT/BIND/MOVE or
 *                    propagation flag), flags fsmount(2) can express         MOUNT_FS
 *   umount2/umount   the container's /, /proc or /sys, or an initial mount
 *                    under /proc or /sys (sysbox-fs files, masks, read-only
 *                    paths, cgroupfs) (same mount ns, by id)                 EBUSY
 *                    a proc or sysfs whose submounts are all sysbox-fs's     UMOUNT_SUBMOUNTS
 *                    anything else, or an unresolvable path                 CONTINUE
 *
 * MOUNT_FS: sysbox-fs mounts the new proc or sysfs itself, in the caller's
 * namespaces, with its virtualized files bound over the kernel's (so /proc
 * inside an inner container is virtualized too), and the call returns 0.
 * UMOUNT_SUBMOUNTS: sysbox-fs first detaches those binds, which would
 * otherwise make the caller's umount fail with EBUSY, then the kernel runs
 * the call.
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
import type { MknodBindVerdict, SysinfoVerdict } from "./mknod.ts";
import { MOUNT_ATTR, MS } from "../sys/flags.ts";
import { isReadOnly, isUnder, type MountInfoEntry } from "./view.ts";
import type { XattrVerdict } from "./settings_policy.ts";

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
  /** Mounts attached to mount `id` in the caller's view. */
  childrenOf?(id: number): readonly MountInfoEntry[];
}

export type Verdict =
  | { action: "continue"; reason: string }
  | { action: "error"; errno: number; reason: string }
  | MountFsVerdict
  | { action: "umount-submounts"; paths: string[]; reason: string }
  // The settings' syscalls (settings_policy.ts): answered 0 without the kernel, or an xattr sysbox-fs sets.
  | { action: "done"; reason: string }
  | XattrVerdict
  | MknodBindVerdict | SysinfoVerdict;

/** A new proc or sysfs for sysbox-fs to mount on the caller's behalf. */
export interface MountFsVerdict {
  action: "mount-fs";
  fstype: VirtualFsType;
  /** The target argument as the caller passed it. */
  target: string;
  /** MOUNT_ATTR_* flags equivalent to the call's MS_* flags. */
  attr: number;
  /** fsconfig(2) options from the data argument. */
  options: Array<[string, string | null]>;
  reason: string;
}

/** Filesystems whose new mounts get sysbox-fs's files. */
export const VIRTUAL_FS = ["proc", "sysfs"] as const;
export type VirtualFsType = (typeof VIRTUAL_FS)[number];

export function isVirtualFs(fstype: string): fstype is VirtualFsType {
  return (VIRTUAL_FS as readonly string[]).includes(fstype);
}

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
    if (isVirtualFs(m.fsType) && ctx.childrenOf) {
      const kids = ctx.childrenOf(m.id);
      if (kids.length > 0 && kids.every(isSysboxFsMount)) {
        // Deepest first, so a bind under another bind goes before it.
        const paths = kids.map((k) => k.mountPoint).sort((a, b) => b.length - a.length);
        return { action: "umount-submounts", paths, reason: `${m.fsType} ${where(m)} carries only sysbox-fs binds` };
      }
    }
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

/** A bind of sysbox-fs's FUSE files. */
export function isSysboxFsMount(m: Pick<MountInfoEntry, "fsType">): boolean {
  return m.fsType === "fuse.sysboxfs";
}

const MS_PROPAGATION = MS.UNBINDABLE | MS.PRIVATE | MS.SLAVE | MS.SHARED;

/** A mount(2) that creates a new filesystem instance (not a remount, bind, move or propagation change). */
export function isNewMount(flags: number): boolean {
  return (flags & (MS.REMOUNT | MS.BIND | MS.MOVE | MS_PROPAGATION)) === 0;
}

/** MS_* -> MOUNT_ATTR_* (fsmount(2)); any other flag has no per-mount equivalent. */
const MS_TO_ATTR: ReadonlyArray<[number, number]> = [
  [MS.RDONLY, MOUNT_ATTR.RDONLY], [MS.NOSUID, MOUNT_ATTR.NOSUID], [MS.NODEV, MOUNT_ATTR.NODEV],
  [MS.NOEXEC, MOUNT_ATTR.NOEXEC], [MS.NOSYMFOLLOW, MOUNT_ATTR.NOSYMFOLLOW], [MS.NOATIME, MOUNT_ATTR.NOATIME],
  [MS.NODIRATIME, MOUNT_ATTR.NODIRATIME], [MS.RELATIME, MOUNT_ATTR.RELATIME], [MS.STRICTATIME, MOUNT_ATTR.STRICTATIME],
];
/** Flags that change nothing for a new mount. */
const MS_IGNORED = MS.SILENT | MS.REC;

/** The MOUNT_ATTR_* equivalent of `flags`, or undefined if some flag has none. */
export function mountAttrOf(flags: number): number | undefined {
  let attr = 0;
  let left = flags & ~MS_IGNORED;
  for (const [ms, a] of MS_TO_ATTR) {
    if (left & ms) {
      attr |= a;
      left &= ~ms;
    }
  }
  return left === 0 ? attr : undefined;
}

/** mount(2)'s data string as fsconfig(2) options: "a=1,b" -> [["a","1"],["b",null]]. */
export function parseMountData(data: string): Array<[string, string | null]> {
  return data
    .split(",")
    .filter((o) => o !== "")
    .map((o) => {
      const eq = o.indexOf("=");
      return eq < 0 ? [o, null] : [o.slice(0, eq), o.slice(eq + 1)];
    });
}

/** The verdict for a new mount of `fstype`, given its target and data strings. */
export function newMountVerdict(fstype: string, target: string, flags: number, data: string): Verdict {
  if (!isVirtualFs(fstype)) return cont(`new ${fstype} mount`);
  const attr = mountAttrOf(flags);
  if (attr === undefined) return cont(`new ${fstype} mount with flags 0x${flags.toString(16)} fsmount(2) cannot express; not virtualized`);
  return { action: "mount-fs", fstype, target, attr, options: parseMountData(data), reason: `new ${fstype} mount` };
}

/** Applies the rule for `call`; for tests and the notify loop alike. */
export function decide(call: DecodedCall, target: Resolved | null, ctx: CallContext): Verdict {
  return (RULES[call.syscall] as Rule<DecodedCall>).decide(call, target, ctx);
}

export function pathArg(call: DecodedCall): { addr: bigint; follow: boolean } | null {
  return (RULES[call.syscall] as Rule<DecodedCall>).path(call);
}
