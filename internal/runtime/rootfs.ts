/**
 * Builds the container's root file system from inside its mount namespace:
 * the spec's mounts, devices, /dev links, pivot_root, masked and read-only
 * paths. Runs in the init stage, before the user process exists.
 */
import { existsSync, mkdirSync, statSync, writeFileSync, lstatSync, symlinkSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { mount, umount2, pivotRoot } from "../sys/mount.ts";
import { mknod, makedev, chdir, chroot, open, close, fchdir, S_IF, chown, O_FLAGS } from "../sys/fs.ts";
import { MS, MNT } from "../sys/flags.ts";
import { isSysError } from "../sys/errno.ts";
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
  /** Called between mounts and pivot_root (createContainer hooks). */
  beforePivot?: () => void;
  /**
   * Called with the container's /proc mounted at `<rootfs>/proc` but before
   * sysbox-fs's files cover it: sysctls Docker allows are all per namespace,
   * so the kernel's own files take them, without a trip through FUSE.
   */
  beforeFsBinds?: (procDir: string) => void;
  /** Called after pivot_root (hostname). */
  afterPivot?: () => void;
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

function mkdirAll(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o755 });
}

/** Creates the mount point: a directory, or an empty file when the source is not a directory. */
function ensureTarget(target: string, sourceIsDir: boolean): void {
  if (existsSync(target)) return;
  if (sourceIsDir) return mkdirAll(target);
  mkdirAll(dirname(target));
  writeFileSync(target, "", { mode: 0o644 });
}

function isDir(path: string): boolean {
  try { return statSync(path).isDirectory(); } catch { return false; }
}

function mountCgroup(plan: RootfsPlan, target: string, m: SpecMount): void {
  const o = parseMountOptions(m.options);
  if (plan.cgroupDelegated) o.flags &= ~MS.RDONLY;
  const flags = o.flags & ~MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC;
  if (!plan.cgroupV1) {
    mkdirAll(target);
    if (plan.cgroupns) mount("cgroup2", target, "cgroup2", flags | (o.flags & MS.RDONLY), o.data || null);
    else mount(plan.cgroupV2Path, target, null, MS.BIND | MS.REC);
    return;
  }
  // v1: a tmpfs holding one mount per hierarchy, like runc.
  mkdirAll(target);
  mount("tmpfs", target, "tmpfs", flags, "mode=755");
  for (const h of plan.cgroupV1) {
    const dir = join(target, h.name);
    mkdirAll(dir);
    if (plan.cgroupns) mount("cgroup", dir, "cgroup", flags | (o.flags & MS.RDONLY), h.options);
    else {
      mount(h.hostPath, dir, null, MS.BIND | MS.REC);
      if (o.flags & MS.RDONLY) mount(null, dir, null, MS.BIND | MS.REMOUNT | MS.REC | MS.RDONLY | flags);
    }
    for (const l of h.links) if (!existsSync(join(target, l))) symlinkSync(h.name, join(target, l));
  }
  if (o.flags & MS.RDONLY) mount(null, target, null, MS.REMOUNT | MS.RDONLY | flags, "mode=755");
}

function mountOne(plan: RootfsPlan, m: SpecMount): void {
  const target = secureJoin(plan.rootfs, m.destination);
  const o = parseMountOptions(m.options);
  const type = m.type ?? "";
  if (type === "cgroup") return mountCgroup(plan, target, m);
  if (o.bind || type === "bind") {
    const src = m.source ?? "";
    if (!existsSync(src)) throw new Error(`mount ${m.destination}: bind source "${src}" does not exist`);
    ensureTarget(target, isDir(src));
    mount(src, target, null, MS.BIND | (o.recursive ? MS.REC : 0));
    // Flags on a bind need a remount; the kernel ignores them on the first call.
    const remountFlags = o.flags & ~MS.REMOUNT;
    if (remountFlags) mount(null, target, null, MS.BIND | MS.REMOUNT | remountFlags | lockedFlags(target));
  } else {
    ensureTarget(target, true);
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
function lockedFlags(target: string): number {
  try {
    const text = readFileSync("/proc/self/mountinfo", "utf8");
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

function createDevice(plan: RootfsPlan, d: SpecDevice): void {
  const target = secureJoin(plan.rootfs, d.path);
  mkdirAll(dirname(target));
  if (plan.userns) {
    // mknod is refused in a user namespace: bind the host's node.
    if (!existsSync(d.path)) return;
    ensureTarget(target, false);
    mount(d.path, target, null, MS.BIND);
    return;
  }
  const kind = d.type === "b" ? S_IF.BLK : d.type === "p" ? S_IF.FIFO : S_IF.CHR;
  rmSync(target, { force: true });
  mknod(target, kind | ((d.fileMode ?? 0o666) & 0o7777), makedev(d.major ?? 0, d.minor ?? 0));
  chown(target, d.uid ?? 0, d.gid ?? 0);
}

function setupDev(plan: RootfsPlan): void {
  const seen = new Set<string>();
  for (const d of [...plan.devices, ...DEFAULT_DEVICES]) {
    if (seen.has(d.path)) continue;
    seen.add(d.path);
    createDevice(plan, d);
  }
  for (const [from, to] of DEV_LINKS) {
    const link = join(plan.rootfs, to);
    if (!existsSync(link)) try { symlinkSync(from, link); } catch { /* exists as something else */ }
  }
  // /dev/ptmx must be the devpts instance of this container.
  const ptmx = join(plan.rootfs, "dev/ptmx");
  if (existsSync(join(plan.rootfs, "dev/pts/ptmx"))) {
    rmSync(ptmx, { force: true });
    symlinkSync("pts/ptmx", ptmx);
  }
}

/** pivot_root with the old root stacked on the new one, then detached (runc's trick, no temp dir). */
function pivot(rootfs: string): void {
  const oldroot = open("/", O_FLAGS.DIRECTORY | O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
  const newroot = open(rootfs, O_FLAGS.DIRECTORY | O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
  try {
    fchdir(newroot);
    pivotRoot(".", ".");
    fchdir(oldroot);
    // Keep unmount events of the old root from reaching the host.
    mount(null, ".", null, MS.SLAVE | MS.REC);
    umount2(".", MNT.DETACH);
    chdir("/");
  } finally {
    close(oldroot);
    close(newroot);
  }
}

function moveRoot(rootfs: string): void {
  chdir(rootfs);
  mount(rootfs, "/", null, MS.MOVE);
  chroot(".");
  chdir("/");
}

function maskPath(path: string): void {
  if (!existsSync(path)) return;
  try {
    if (lstatSync(path).isDirectory()) mount("tmpfs", path, "tmpfs", MS.RDONLY, null);
    else mount("/dev/null", path, null, MS.BIND);
  } catch (e) {
    if (!isSysError(e, "ENOENT")) throw e;
  }
}

function readonlyPath(path: string): void {
  if (!existsSync(path)) return;
  mount(path, path, null, MS.BIND | MS.REC);
  mount(null, path, null, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.REC | lockedFlags(path));
}

export function setupRootfs(plan: RootfsPlan): void {
  // Nothing we mount may propagate back to the host.
  mount(null, "/", null, MS.SLAVE | MS.REC);
  mount(plan.rootfs, plan.rootfs, null, MS.BIND | MS.REC);
  for (const m of plan.mounts) mountOne(plan, m);
  plan.beforeFsBinds?.(secureJoin(plan.rootfs, "/proc"));
  for (const b of plan.optionalBinds ?? []) {
    const target = secureJoin(plan.rootfs, b.destination);
    if (existsSync(target) && existsSync(b.source)) mount(b.source, target, null, MS.BIND);
  }
  setupDev(plan);
  plan.beforePivot?.();
  if (plan.noPivot) moveRoot(plan.rootfs);
  else pivot(plan.rootfs);
  mount(null, "/", null, rootfsPropagation(plan.propagation));
  plan.afterPivot?.();
  for (const p of plan.maskedPaths) maskPath(p);
  for (const p of plan.readonlyPaths) readonlyPath(p);
  if (plan.readonly) mount(null, "/", null, MS.BIND | MS.REMOUNT | MS.RDONLY | lockedFlags("/"));
}
