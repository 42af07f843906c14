/**
 * Builds the container's root file system from inside its mount namespace,
 * as steps the init runs in this order (see init.ts createSteps): mountSpec,
 * applySysctls, bindEmulated, makeDevices, (createContainer hooks), pivot,
 * setHostname, maskAndRo. Every call goes through a `Sys`, so the sequence
 * is unit-tested against a recording fake (init.test.ts).
 */
import { dirname, join } from "node:path";
import { makedev, S_IF, O_FLAGS } from "../sys/fs.ts";
import { MS, MNT } from "../sys/flags.ts";
import { isSysError } from "../sys/errno.ts";
import type { Sys } from "../sys/linux.ts";
import { parseMountOptions, rootfsPropagation } from "./mountopts.ts";
import { secureJoin } from "./securejoin.ts";

export interface SpecMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface SpecDevice {
  path: string;
  type: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
  /** The node made for it on the host (devices.ts), to bind from; not part of the OCI spec. */
  source?: string;
}

/** One cgroup v1 hierarchy as the container should see it. */
export interface CgroupMountInfo {
  /** Directory name under /sys/fs/cgroup, e.g. "cpu,cpuacct". */
  name: string;
  /** Mount options naming the controllers, e.g. "cpu,cpuacct" or "name=systemd". */
  options: string;
  /** Host directory of the container's cgroup in this hierarchy (used without a cgroup ns). */
  hostPath: string;
  /** Extra names that are symlinks to `name` (cpu -> cpu,cpuacct). */
  links: string[];
}

export interface RootfsPlan {
  rootfs: string;
  mounts: SpecMount[];
  devices: SpecDevice[];
  readonly: boolean;
  propagation?: string;
  noPivot: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** v1 hierarchies, or null for cgroup v2. */
  cgroupV1: CgroupMountInfo[] | null;
  /** Host dir of the container's v2 cgroup (for a bind when there is no cgroup ns). */
  cgroupV2Path: string;
  cgroupns: boolean;
  /** The container's root owns its cgroup: mount cgroupfs writable whatever the spec says. */
  cgroupDelegated?: boolean;
  /** In a user namespace device nodes cannot be made: bind-mount the host's instead. */
  userns: boolean;
  /** Binds made after the spec's mounts where their target exists (sysbox-fs's /proc and /sys files). */
  optionalBinds?: Array<{ source: string; destination: string }>;
}

/** runc's default devices, made whether or not the spec lists them. */
export const DEFAULT_DEVICES: SpecDevice[] = [
  { path: "/dev/null", type: "c", major: 1, minor: 3, fileMode: 0o666 },
  { path: "/dev/zero", type: "c", major: 1, minor: 5, fileMode: 0o666 },
  { path: "/dev/full", type: "c", major: 1, minor: 7, fileMode: 0o666 },
  { path: "/dev/random", type: "c", major: 1, minor: 8, fileMode: 0o666 },
  { path: "/dev/urandom", type: "c", major: 1, minor: 9, fileMode: 0o666 },
  { path: "/dev/tty", type: "c", major: 5, minor: 0, fileMode: 0o666 },
];

const DEV_LINKS: Array<[string, string]> = [
  ["/proc/self/fd", "/dev/fd"],
  ["/proc/self/fd/0", "/dev/stdin"],
  ["/proc/self/fd/1", "/dev/stdout"],
  ["/proc/self/fd/2", "/dev/stderr"],
];

/** Creates the mount point: a directory, or an empty file when the source is not a directory. */
function ensureTarget(sys: Sys, target: string, sourceIsDir: boolean): void {
  if (sys.exists(target)) return;
  if (sourceIsDir) return sys.mkdirAll(target);
  sys.mkdirAll(dirname(target));
  sys.writeFile(target, "", 0o644);
}

function mountCgroup(sys: Sys, plan: RootfsPlan, target: string, m: SpecMount): void {
  const { mount } = sys;
  const o = parseMountOptions(m.options);
  if (plan.cgroupDelegated) o.flags &= ~MS.RDONLY;
  const flags = o.flags & ~MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC;
  if (!plan.cgroupV1) {
    sys.mkdirAll(target);
    if (plan.cgroupns) mount("cgroup2", target, "cgroup2", flags | (o.flags & MS.RDONLY), o.data || null);
    else mount(plan.cgroupV2Path, target, null, MS.BIND | MS.REC);
    return;
  }
  // v1: a tmpfs holding one mount per hierarchy, like runc.
  sys.mkdirAll(target);
  mount("tmpfs", target, "tmpfs", flags, "mode=755");
  for (const h of plan.cgroupV1) {
    const dir = join(target, h.name);
    sys.mkdirAll(dir);
    if (plan.cgroupns) mount("cgroup", dir, "cgroup", flags | (o.flags & MS.RDONLY), h.options);
    else {
      mount(h.hostPath, dir, null, MS.BIND | MS.REC);
      if (o.flags & MS.RDONLY) mount(null, dir, null, MS.BIND | MS.REMOUNT | MS.REC | MS.RDONLY | flags);
    }
    for (const l of h.links) if (!sys.exists(join(target, l))) sys.symlink(h.name, join(target, l));
  }
  if (o.flags & MS.RDONLY) mount(null, target, null, MS.REMOUNT | MS.RDONLY | flags, "mode=755");
}

function mountOne(sys: Sys, plan: RootfsPlan, m: SpecMount): void {
  const { mount } = sys;
  const target = secureJoin(plan.rootfs, m.destination);
  const o = parseMountOptions(m.options);
  const type = m.type ?? "";
  if (type === "cgroup") return mountCgroup(sys, plan, target, m);
  if (o.bind || type === "bind") {
    const src = m.source ?? "";
    if (!sys.exists(src)) throw new Error(`mount ${m.destination}: bind source "${src}" does not exist`);
    ensureTarget(sys, target, sys.isDir(src));
    mount(src, target, null, MS.BIND | (o.recursive ? MS.REC : 0));
    // Flags on a bind need a remount; the kernel ignores them on the first call.
    const remountFlags = o.flags & ~MS.REMOUNT;
    if (remountFlags) mount(null, target, null, MS.BIND | MS.REMOUNT | remountFlags | lockedFlags(sys, target));
  } else {
    ensureTarget(sys, target, true);
    try {
      mount(m.source ?? type, target, type, o.flags & ~MS.REMOUNT, o.data || null);
    } catch (e) {
      // Inside a user namespace without a net namespace of its own sysfs is refused; runc binds it then.
      if (type === "sysfs" && isSysError(e, "EPERM")) {
        mount("/sys", target, null, MS.BIND | MS.REC);
        mount(null, target, null, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC);
      } else throw e;
    }
  }
  for (const p of o.propagation) mount(null, target, null, p);
}

/** Flags the kernel locks on a mount seen from a user namespace; a bind remount must keep them. */
function lockedFlags(sys: Sys, target: string): number {
  try {
    const text = sys.readFile("/proc/self/mountinfo");
    let found = "";
    for (const line of text.split("\n")) {
      const f = line.split(" ");
      if (f[4] === target) found = f[5] ?? "";
    }
    let flags = 0;
    for (const opt of found.split(",")) {
      if (opt === "nosuid") flags |= MS.NOSUID;
      if (opt === "nodev") flags |= MS.NODEV;
      if (opt === "noexec") flags |= MS.NOEXEC;
    }
    return flags;
  } catch {
    return 0;
  }
}

function createDevice(sys: Sys, plan: RootfsPlan, d: SpecDevice): void {
  const target = secureJoin(plan.rootfs, d.path);
  sys.mkdirAll(dirname(target));
  if (plan.userns) {
    // mknod is refused in a user namespace: bind the node the runtime made
    // on the host for a spec device, else the host's own (the defaults).
    if (d.source) {
      ensureTarget(sys, target, false);
      sys.mount(d.source, target, null, MS.BIND);
      return;
    }
    if (!sys.exists(d.path)) return;
    ensureTarget(sys, target, false);
    sys.mount(d.path, target, null, MS.BIND);
    return;
  }
  const kind = d.type === "b" ? S_IF.BLK : d.type === "p" ? S_IF.FIFO : S_IF.CHR;
  sys.rm(target);
  sys.mknod(target, kind | ((d.fileMode ?? 0o666) & 0o7777), makedev(d.major ?? 0, d.minor ?? 0));
  sys.chown(target, d.uid ?? 0, d.gid ?? 0);
}

/** The spec's devices and runc's defaults, the /dev/fd links and /dev/ptmx. */
export function makeDevices(plan: RootfsPlan, sys: Sys): void {
  const seen = new Set<string>();
  for (const d of [...plan.devices, ...DEFAULT_DEVICES]) {
    if (seen.has(d.path)) continue;
    seen.add(d.path);
    createDevice(sys, plan, d);
  }
  for (const [from, to] of DEV_LINKS) {
    const link = join(plan.rootfs, to);
    if (!sys.exists(link)) try { sys.symlink(from, link); } catch { /* exists as something else */ }
  }
  // /dev/ptmx must be the devpts instance of this container.
  const ptmx = join(plan.rootfs, "dev/ptmx");
  if (sys.exists(join(plan.rootfs, "dev/pts/ptmx"))) {
    sys.rm(ptmx);
    sys.symlink("pts/ptmx", ptmx);
  }
}

/** pivot_root with the old root stacked on the new one, then detached (runc's trick, no temp dir). */
function pivotRootfs(sys: Sys, rootfs: string): void {
  const oldroot = sys.open("/", O_FLAGS.DIRECTORY | O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
  try {
    const newroot = sys.open(rootfs, O_FLAGS.DIRECTORY | O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
    try {
      sys.fchdir(newroot);
      sys.pivotRoot(".", ".");
      sys.fchdir(oldroot);
      // Keep unmount events of the old root from reaching the host.
      sys.mount(null, ".", null, MS.SLAVE | MS.REC);
      sys.umount2(".", MNT.DETACH);
      sys.chdir("/");
    } finally {
      sys.close(newroot);
    }
  } finally {
    sys.close(oldroot);
  }
}

function moveRoot(sys: Sys, rootfs: string): void {
  sys.chdir(rootfs);
  sys.mount(rootfs, "/", null, MS.MOVE);
  sys.chroot(".");
  sys.chdir("/");
}

/** A file is covered by /dev/null, a directory by an empty read-only tmpfs. */
function maskPath(sys: Sys, path: string): void {
  if (!sys.exists(path)) return;
  try {
    if (sys.isDirNoFollow(path)) sys.mount("tmpfs", path, "tmpfs", MS.RDONLY, null);
    else sys.mount("/dev/null", path, null, MS.BIND);
  } catch (e) {
    if (!isSysError(e, "ENOENT")) throw e;
  }
}

/** A recursive bind onto itself, remounted read-only with the flags the kernel locked kept. */
function readonlyPath(sys: Sys, path: string): void {
  if (!sys.exists(path)) return;
  sys.mount(path, path, null, MS.BIND | MS.REC);
  sys.mount(null, path, null, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.REC | lockedFlags(sys, path));
}

/** The rootfs bound onto itself and the spec's mounts on it; nothing propagates back to the host. */
export function mountSpec(plan: RootfsPlan, sys: Sys): void {
  sys.mount(null, "/", null, MS.SLAVE | MS.REC);
  sys.mount(plan.rootfs, plan.rootfs, null, MS.BIND | MS.REC);
  for (const m of plan.mounts) mountOne(sys, plan, m);
}

/**
 * Writes linux.sysctl with the container's /proc mounted at `procDir` but
 * before sysbox-fs's files cover it: sysctls Docker allows are all per
 * namespace, so the kernel's own files take them, without a trip through FUSE.
 */
export function applySysctls(sysctl: Readonly<Record<string, string>> | undefined, procDir: string, sys: Sys): void {
  for (const [key, value] of Object.entries(sysctl ?? {})) {
    try {
      sys.writeFile(`${procDir}/sys/${key.replace(/\./g, "/")}`, value);
    } catch (e) {
      throw new Error(`linux.sysctl: cannot set ${key}=${value}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
  }
}

/** sysbox-fs's files over /proc and /sys entries, where the container has both ends. */
export function bindEmulated(plan: RootfsPlan, sys: Sys): void {
  for (const b of plan.optionalBinds ?? []) {
    const target = secureJoin(plan.rootfs, b.destination);
    if (sys.exists(target) && sys.exists(b.source)) sys.mount(b.source, target, null, MS.BIND);
  }
}

/** pivot_root (or MS_MOVE with --no-pivot) into the rootfs, then its propagation. */
export function pivot(plan: RootfsPlan, sys: Sys): void {
  if (plan.noPivot) moveRoot(sys, plan.rootfs);
  else pivotRootfs(sys, plan.rootfs);
  sys.mount(null, "/", null, rootfsPropagation(plan.propagation));
}

/** After pivot: masked paths, read-only paths, and a read-only root. */
export function maskAndRo(plan: RootfsPlan, sys: Sys): void {
  for (const p of plan.maskedPaths) maskPath(sys, p);
  for (const p of plan.readonlyPaths) readonlyPath(sys, p);
  if (plan.readonly) sys.mount(null, "/", null, MS.BIND | MS.REMOUNT | MS.RDONLY | lockedFlags(sys, "/"));
}
