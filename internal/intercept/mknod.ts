/**
 * What to answer a trapped mknod/mknodat, and sysinfo. Pure.
 *
 *   node                             answer
 *   not a char or block device       CONTINUE (the kernel makes files, fifos, sockets)
 *   char 0:0 (overlay whiteout)      CONTINUE: since Linux 5.8 the kernel lets a user
 *                                    namespace make whiteouts itself, and overlayfs
 *                                    wants a real 0:0 node, which a bind is not
 *   char, allow-listed (MKNOD_ALLOW) MKNOD_BIND: sysbox-fs creates an empty file at
 *                                    the path, as the caller and inside its root, and
 *                                    binds the real node over it; the call returns 0
 *   anything else                    CONTINUE: the kernel refuses it (EPERM), after
 *                                    its own path checks (EEXIST...), as it would
 *
 * Like LXD's list. Each node is taken from the caller's own root, where it
 * must be that very device (but the console, a pty of the container's): so
 * it is owned by the container's root, as a node mknod made would be (the
 * kernel refuses O_CREAT opens of another user's node in a sticky /tmp), its
 * ptmx is its own devpts instance, and fuse and tun work only in a
 * container that was given them. Where the caller's root lacks one of the
 * standard nodes, the host's is bound instead.
 */
import type { DevNumber, DeviceCall } from "./syscalls_devices.ts";

export const S_IFMT = 0o170000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

/**
 * Where the node to bind comes from: a path in the caller's root (with
 * `rdev`, only that device is accepted there), else the host's node.
 */
export interface NodeSource {
  inRoot: string;
  rdev?: DevNumber;
  host?: string;
}

export interface AllowedNode {
  name: string;
  major: number;
  minor: number;
  source: NodeSource;
}

export const MKNOD_ALLOW: readonly AllowedNode[] = [
  { name: "null", major: 1, minor: 3, source: { inRoot: "/dev/null", rdev: { major: 1, minor: 3 }, host: "/dev/null" } },
  { name: "zero", major: 1, minor: 5, source: { inRoot: "/dev/zero", rdev: { major: 1, minor: 5 }, host: "/dev/zero" } },
  { name: "full", major: 1, minor: 7, source: { inRoot: "/dev/full", rdev: { major: 1, minor: 7 }, host: "/dev/full" } },
  { name: "random", major: 1, minor: 8, source: { inRoot: "/dev/random", rdev: { major: 1, minor: 8 }, host: "/dev/random" } },
  { name: "urandom", major: 1, minor: 9, source: { inRoot: "/dev/urandom", rdev: { major: 1, minor: 9 }, host: "/dev/urandom" } },
  { name: "tty", major: 5, minor: 0, source: { inRoot: "/dev/tty", rdev: { major: 5, minor: 0 }, host: "/dev/tty" } },
  // The container's console is a pty of its own, not 5:1.
  { name: "console", major: 5, minor: 1, source: { inRoot: "/dev/console" } },
  { name: "ptmx", major: 5, minor: 2, source: { inRoot: "/dev/pts/ptmx", rdev: { major: 5, minor: 2 } } },
  { name: "fuse", major: 10, minor: 229, source: { inRoot: "/dev/fuse", rdev: { major: 10, minor: 229 } } },
  { name: "net/tun", major: 10, minor: 200, source: { inRoot: "/dev/net/tun", rdev: { major: 10, minor: 200 } } },
];

export interface MknodBindVerdict {
  action: "mknod-bind";
  /** The path argument as the caller passed it, and the dirfd it is relative to. */
  path: string;
  dirfd: number;
  node: AllowedNode;
  reason: string;
}

export interface SysinfoVerdict {
  action: "sysinfo";
  /** The caller's struct sysinfo. */
  addr: bigint;
  /** The caller's ABI (syscalls.ts label), for the struct's layout. */
  arch: string;
  reason: string;
}

export type DeviceVerdict =
  | { action: "continue"; reason: string }
  | MknodBindVerdict
  | SysinfoVerdict;

/** The allow-listed node for a char device number, if any. */
export function allowedNode(dev: DevNumber): AllowedNode | undefined {
  return MKNOD_ALLOW.find((n) => n.major === dev.major && n.minor === dev.minor);
}

/** The verdict for a mknod whose path argument reads `path`. */
export function decideMknod(call: Extract<DeviceCall, { syscall: "mknod" | "mknodat" }>, path: string): DeviceVerdict {
  const type = call.mode & S_IFMT;
  const { major, minor } = call.dev;
  if (type !== S_IFCHR && type !== S_IFBLK) return { action: "continue", reason: "not a device node" };
  const what = `${type === S_IFCHR ? "char" : "block"} ${major}:${minor}`;
  if (type === S_IFBLK) return { action: "continue", reason: `${what} is not allowed` };
  if (major === 0 && minor === 0) return { action: "continue", reason: "an overlay whiteout, which the kernel allows" };
  const node = allowedNode(call.dev);
  if (!node) return { action: "continue", reason: `${what} is not allowed` };
  return { action: "mknod-bind", path, dirfd: call.dirfd, node, reason: `${what} (${node.name})` };
}
