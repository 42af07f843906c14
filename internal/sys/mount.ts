/**
 * Mount syscalls: classic mount(2)/umount2(2)/pivot_root(2) and the new mount
 * API (open_tree, move_mount, mount_setattr, fsopen/fsconfig/fsmount), which
 * libc has no wrappers for. Errors name the target path and the flags.
 */
import { ptr } from "bun:ffi";
import { libc, check, rawSyscall } from "./libc.ts";
import { SYS } from "./arch.ts";
import { cstr } from "./cstr.ts";
import { formatFlags, MS, MNT, MOUNT_ATTR } from "./flags.ts";
import { AT, AT_FDCWD } from "./fs.ts";
import { pinned } from "./_pin.ts";

export const OPEN_TREE = { CLONE: 1, CLOEXEC: 0o2000000 } as const;

export const MOVE_MOUNT = {
  F_SYMLINKS: 0x1, F_AUTOMOUNTS: 0x2, F_EMPTY_PATH: 0x4, T_SYMLINKS: 0x10, T_AUTOMOUNTS: 0x20,
  T_EMPTY_PATH: 0x40, SET_GROUP: 0x100, BENEATH: 0x200,
} as const;

export const FSOPEN = { CLOEXEC: 1 } as const;
export const FSMOUNT = { CLOEXEC: 1 } as const;

/** fsconfig(2) commands (values, not bits). */
export const FSCONFIG = {
  SET_FLAG: 0, SET_STRING: 1, SET_BINARY: 2, SET_PATH: 3, SET_PATH_EMPTY: 4, SET_FD: 5,
  CMD_CREATE: 6, CMD_RECONFIGURE: 7, CMD_CREATE_EXCL: 8,
} as const;

const OPEN_TREE_FLAG_NAMES = {
  OPEN_TREE_CLONE: OPEN_TREE.CLONE, OPEN_TREE_CLOEXEC: OPEN_TREE.CLOEXEC, AT_SYMLINK_NOFOLLOW: AT.SYMLINK_NOFOLLOW,
  AT_NO_AUTOMOUNT: AT.NO_AUTOMOUNT, AT_EMPTY_PATH: AT.EMPTY_PATH, AT_RECURSIVE: AT.RECURSIVE,
};

const FSCONFIG_NAMES = Object.fromEntries(Object.entries(FSCONFIG).map(([k, v]) => [v, k]));

export interface MountAttr {
  set?: number;
  clr?: number;
  /** One of MS.PRIVATE, MS.SLAVE, MS.SHARED, MS.UNBINDABLE, or 0 to leave it. */
  propagation?: number;
  /** Required with MOUNT_ATTR.IDMAP in `set`. */
  userns_fd?: number;
}

/**
 * struct mount_attr, 32 bytes, little-endian on x86_64 and arm64:
 *
 *   0         8         16             24          32
 *   +---------+---------+--------------+-----------+
 *   |attr_set |attr_clr | propagation  | userns_fd |   (each u64)
 *   +---------+---------+--------------+-----------+
 */
export function encodeMountAttr(attr: MountAttr): Uint8Array {
  const buf = new Uint8Array(32);
  const v = new DataView(buf.buffer);
  v.setBigUint64(0, BigInt(attr.set ?? 0), true);
  v.setBigUint64(8, BigInt(attr.clr ?? 0), true);
  v.setBigUint64(16, BigInt(attr.propagation ?? 0), true);
  v.setBigUint64(24, BigInt(attr.userns_fd ?? 0), true);
  return buf;
}

function addr(buf: Uint8Array | null): bigint {
  return buf === null ? 0n : BigInt(ptr(buf));
}

function cstrOrNull(s: string | null | undefined): Uint8Array | null {
  return s === null || s === undefined ? null : cstr(s);
}

/** mount(2). `source`, `fstype` and `data` may be null (bind, remount, propagation changes). */
export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null = null,
): void {
  const desc = formatFlags(MS, flags, "MS_") + (fstype ? ` type ${fstype}` : "") + (source ? ` from ${source}` : "");
  check({ syscall: "mount", path: target, flags: desc }, () =>
    libc.symbols.mount(cstrOrNull(source), cstr(target), cstrOrNull(fstype), flags, cstrOrNull(data)),
  );
}

export function umount2(target: string, flags = 0): void {
  check({ syscall: "umount2", path: target, flags: formatFlags(MNT, flags, "MNT_") }, () =>
    libc.symbols.umount2(cstr(target), flags),
  );
}

/** pivot_root(2); EINVAL when `newRoot` is not a mount point (see the man page for the rest). */
export function pivotRoot(newRoot: string, putOld: string): void {
  const n = cstr(newRoot);
  const o = cstr(putOld);
  pinned([n, o], () => rawSyscall("pivot_root", SYS.pivot_root, [addr(n), addr(o)], newRoot));
}

/**
 * open_tree(2). A number is an fd to the mount itself (AT_EMPTY_PATH is
 * added); a string is a path relative to the cwd. Returns the new fd.
 */
export function openTree(from: number | string, flags: number): number {
  const [dirfd, path, extra] = typeof from === "number" ? [from, "", AT.EMPTY_PATH] : [AT_FDCWD, from, 0];
  const p = cstr(path);
  const all = flags | extra;
  return Number(
    check({ syscall: "open_tree", path: describe(from), flags: formatFlags(OPEN_TREE_FLAG_NAMES, all) }, () =>
      libc.symbols.syscall(BigInt(SYS.open_tree), BigInt(dirfd), addr(p), BigInt(all), 0n, 0n, 0n),
    ),
  );
}

/**
 * move_mount(2). An empty `fromPath`/`toPath` means "the fd itself": the
 * matching *_EMPTY_PATH flag is added, since the call can only fail without it.
 */
export function moveMount(fromFd: number, fromPath: string, toDirfd: number, toPath: string, flags = 0): void {
  let all = flags;
  if (fromPath === "") all |= MOVE_MOUNT.F_EMPTY_PATH;
  if (toPath === "") all |= MOVE_MOUNT.T_EMPTY_PATH;
  const f = cstr(fromPath);
  const t = cstr(toPath);
  const where = toPath === "" ? `fd ${toDirfd}` : toPath;
  check({ syscall: "move_mount", path: where, flags: formatFlags(MOVE_MOUNT, all, "MOVE_MOUNT_") }, () =>
    libc.symbols.syscall(BigInt(SYS.move_mount), BigInt(fromFd), addr(f), BigInt(toDirfd), addr(t), BigInt(all), 0n),
  );
}

/**
 * mount_setattr(2) on `path` relative to `fd` (AT_FDCWD for a plain path).
 * An empty `path` acts on `fd` itself: AT_EMPTY_PATH is added.
 */
export function mountSetattr(fd: number, path: string, flags: number, attr: MountAttr): void {
  const all = path === "" ? flags | AT.EMPTY_PATH : flags;
  const p = cstr(path);
  const a = encodeMountAttr(attr);
  const desc = `${formatFlags(AT, all, "AT_")} set=${formatFlags(MOUNT_ATTR, attr.set ?? 0, "MOUNT_ATTR_")}` +
    (attr.clr ? ` clr=${formatFlags(MOUNT_ATTR, attr.clr, "MOUNT_ATTR_")}` : "") +
    (attr.propagation ? ` propagation=${formatFlags(MS, attr.propagation, "MS_")}` : "");
  check({ syscall: "mount_setattr", path: path === "" ? `fd ${fd}` : path, flags: desc }, () =>
    libc.symbols.syscall(BigInt(SYS.mount_setattr), BigInt(fd), addr(p), BigInt(all), addr(a), 32n, 0n),
  );
}

/** fsopen(2): a filesystem context fd for `fsname` ("tmpfs", "overlay", ...). */
export function fsopen(fsname: string, flags: number = FSOPEN.CLOEXEC): number {
  const n = cstr(fsname);
  return Number(pinned([n], () => rawSyscall("fsopen", SYS.fsopen, [addr(n), flags], fsname)));
}

/**
 * fsconfig(2). `value` is a string for SET_STRING/SET_PATH, null otherwise;
 * `aux` carries the fd for SET_FD or the dirfd for SET_PATH.
 */
export function fsconfig(fd: number, cmd: number, key: string | null = null, value: string | null = null, aux = 0): void {
  const k = cstrOrNull(key);
  const v = cstrOrNull(value);
  const what = `${FSCONFIG_NAMES[cmd] ?? cmd}${key !== null ? ` ${key}` : ""}`;
  check({ syscall: "fsconfig", path: `fd ${fd}`, flags: what }, () =>
    libc.symbols.syscall(BigInt(SYS.fsconfig), BigInt(fd), BigInt(cmd), addr(k), addr(v), BigInt(aux), 0n),
  );
}

/** fsmount(2): turns a created context into a detached mount fd. */
export function fsmount(fd: number, flags: number = FSMOUNT.CLOEXEC, attrFlags = 0): number {
  return Number(
    check({ syscall: "fsmount", path: `fd ${fd}`, flags: formatFlags(MOUNT_ATTR, attrFlags, "MOUNT_ATTR_") }, () =>
      libc.symbols.syscall(BigInt(SYS.fsmount), BigInt(fd), BigInt(flags), BigInt(attrFlags), 0n, 0n, 0n),
    ),
  );
}

function describe(from: number | string): string {
  return typeof from === "number" ? `fd ${from}` : from;
}
