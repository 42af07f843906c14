/**
 * What to answer the syscalls settings_syscalls.ts traps for containers that
 * ask (the chown group with SYSBOX_IGNORE_SYSFS_CHOWN, the xattr group with
 * SYSBOX_ALLOW_TRUSTED_XATTR). Reads and resolves through CallerIo as
 * evaluate.ts does; pure otherwise.
 *
 *   syscall             case                                                answer
 *   chown family        the target resolves onto a sysfs (or a sysbox-fs
 *                       file under /sys), and the caller has CAP_CHOWN      DONE (0, nothing changed)
 *                       anything else                                       CONTINUE
 *   {,l,f}set/get/      the name starts with "trusted."                     XATTR: sysbox-fs does it as
 *   removexattr                                                             host root (sysboxfs/seccomp/xattr.ts)
 *                       any other name                                      CONTINUE
 *
 * rpm chowns /sys paths its packages own, which a user namespace may never
 * do; the kernel keeps trusted.* for CAP_SYS_ADMIN of the initial user
 * namespace, which overlayfs on kernels before 5.11 needs inside.
 */
import { isSysError } from "../sys/errno.ts";
import type { SeccompNotif } from "../sys/seccomp_notify.ts";
import type { CallerIo, CallerView, Evaluation } from "./evaluate.ts";
import { isSysboxFsMount, type ContainerMounts, type Verdict } from "./policy.ts";
import { resolvePath, type Resolved } from "./resolve.ts";
import { decodeSettingsCall, type SettingsCall, type SettingsSyscall } from "./settings_syscalls.ts";
import { argValue, type SyscallId } from "./syscalls.ts";
import { isUnder, type MountInfoEntry } from "./view.ts";

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
export const CAP_CHOWN = 0;
/** XATTR_SIZE_MAX: the kernel refuses larger values with E2BIG. */
export const XATTR_SIZE_MAX = 65536;
const E2BIG = 7;

/** A trusted.* xattr call for sysbox-fs to carry out as host root on the caller's file. */
export interface XattrVerdict {
  action: "xattr";
  op: "set" | "get" | "remove";
  name: string;
  /** The caller's path argument (resolved in its root by the helper) and whether its last symlink is followed; or one of its fds. */
  target: { path: string; follow: boolean } | { fd: number };
  /** set: address of the value in the caller; get: of its buffer. */
  value: bigint;
  size: number;
  /** XATTR_CREATE / XATTR_REPLACE, for set. */
  flags: number;
  reason: string;
}

const cont = (reason: string): Verdict => ({ action: "continue", reason });
const isTrusted = (name: string) => name.startsWith("trusted.");

/** A mount that is part of the container's /sys: a sysfs, or a sysbox-fs file bound under /sys. */
export function isSysMount(m: Pick<MountInfoEntry, "fsType" | "mountPoint">): boolean {
  return m.fsType === "sysfs" || (isSysboxFsMount(m) && isUnder(m.mountPoint, "/sys"));
}

/** The chown rule, once the target is resolved: done when it lies in /sys and the caller may chown (asked only then). */
export function decideChown(target: Resolved | null, mayChown: () => boolean): Verdict {
  if (!target) return cont("no target");
  if (!target.ok) return cont(`unresolved target (${target.reason})`);
  if (!target.mount || !isSysMount(target.mount)) return cont("not under /sys");
  if (!mayChown()) return cont("the caller lacks CAP_CHOWN");
  return { action: "done", reason: `chown of ${target.path} on ${target.mount.fsType} ignored (SYSBOX_IGNORE_SYSFS_CHOWN)` };
}

/** The xattr rule, once the name is read; `path` is the path argument of the calls that have one. */
export function decideXattr(call: Extract<SettingsCall, { name: bigint }>, name: string, path?: string): Verdict | XattrVerdict {
  if (!isTrusted(name)) return cont("not a trusted.* attribute");
  const op = call.syscall.includes("set") ? "set" : call.syscall.includes("get") ? "get" : "remove";
  if (op === "set" && call.size > XATTR_SIZE_MAX) return { action: "error", errno: E2BIG, reason: `value of ${call.size} bytes` };
  return {
    action: "xattr", op, name, value: call.value, size: Math.min(call.size, XATTR_SIZE_MAX), flags: call.flags,
    target: "fd" in call ? { fd: call.fd } : { path: path ?? "", follow: call.follow },
    reason: `${op} ${name} (SYSBOX_ALLOW_TRUSTED_XATTR)`,
  };
}

/** evaluate() for a syscall of settings_syscalls.ts. */
export function evaluateSettingsCall(notif: SeccompNotif, id: SyscallId & { name: SettingsSyscall }, container: ContainerMounts, io: CallerIo): Evaluation {
  const call = decodeSettingsCall(id.name, notif.data.args.map((a) => argValue(a, id.narrow)));
  const base = { syscall: id.name, readCaller: true };
  try {
    if ("name" in call) {
      const name = io.readString(notif.pid, call.name);
      const path = "path" in call && isTrusted(name) ? io.readString(notif.pid, call.path) : undefined;
      return { ...base, ...(path !== undefined ? { target: path } : {}), verdict: decideXattr(call, name, path) };
    }
    const path = "path" in call ? io.readString(notif.pid, call.path) : undefined;
    const view = io.caller(notif.pid, container);
    const resolved = resolveChownTarget(call, path, view);
    const mayChown = () => io.hasCap?.(notif.pid, CAP_CHOWN) ?? true;
    return { ...base, ...(path !== undefined ? { target: path } : {}), verdict: decideChown(resolved, mayChown) };
  } catch (e) {
    // Unreadable arguments or a caller that is gone: the kernel reports that itself.
    if (isSysError(e) || (e as { code?: string }).code === "ENOENT") return { ...base, verdict: cont(`arguments unreadable: ${(e as Error).message}`) };
    throw e;
  }
}

/** Where a chown-family call lands: its path (relative to cwd or dirfd), or its fd's file. */
export function resolveChownTarget(call: Exclude<SettingsCall, { name: bigint }>, path: string | undefined, view: CallerView): Resolved | null {
  const ofFd = (fd: number): Resolved | null => {
    const p = fd === AT_FDCWD ? view.cwd : view.fdPath(fd);
    return p === null ? null : resolvePath(p, { follow: false }, view);
  };
  if ("fd" in call) return ofFd(call.fd);
  if (call.syscall !== "fchownat") return resolvePath(path ?? "", { follow: call.follow }, view);
  if (path === "" && (call.flags & AT_EMPTY_PATH) !== 0) return ofFd(call.dirfd);
  const follow = (call.flags & AT_SYMLINK_NOFOLLOW) === 0;
  if (path?.startsWith("/") || call.dirfd === AT_FDCWD) return resolvePath(path ?? "", { follow }, view);
  const dir = view.fdPath(call.dirfd);
  return dir === null ? null : resolvePath(path ?? "", { follow }, { ...view, cwd: dir });
}
