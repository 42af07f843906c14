/**
 * The `Cgroup` data object and its lifetime: create (mkdir in every hierarchy,
 * cpuset inheritance on v1, controller enabling on v2), join, list, destroy.
 * Plain functions over plain data, so a Cgroup can be stored in container state.
 */
import * as posix from "node:path/posix";
import { SysError } from "../sys/errno.ts";
import { ioOf, readOptional, type CgroupIo, type IoOptions } from "./_io.ts";
import type { CgroupLayout } from "./layout.ts";
import { parseIds } from "./parse.ts";
import { cleanPath, resolvePaths, UNIFIED, type ResolveOptions } from "./path.ts";

export interface Cgroup {
  layout: CgroupLayout;
  /** The cleaned cgroupfs path, e.g. `/docker/<id>`. */
  path: string;
  /** Directory per v1 controller (and `unified` for cgroup2); see `resolvePaths`. */
  paths: Record<string, string>;
}

/** Builds the Cgroup object for an existing (or to be created) cgroup, touching nothing. */
export function openCgroup(layout: CgroupLayout, path: string, opts: ResolveOptions = {}): Cgroup {
  const clean = cleanPath(path);
  if (clean === "" || clean === "/") throw new RangeError("Refusing to manage the root cgroup");
  return { layout, path: clean, paths: resolvePaths(layout, clean, opts) };
}

/** Each directory once, in key order (co-mounted v1 controllers share one). */
export function cgroupDirs(cg: Cgroup): string[] {
  return [...new Set(Object.values(cg.paths))];
}

/** The directory that holds `controller`'s knobs, if any hierarchy has it. */
export function controllerDir(cg: Cgroup, controller: string, opts: IoOptions = {}): string | undefined {
  const unified = cg.paths[UNIFIED];
  if (cg.layout.mode === "v2") return unified;
  const v1 = cg.paths[controller];
  if (v1 !== undefined) return v1;
  // Hybrid: a controller bound to the cgroup2 hierarchy (often hugetlb or none).
  if (unified !== undefined && v2Controllers(ioOf(opts), unified).includes(controller)) return unified;
  return undefined;
}

/** `cgroup.controllers` of a cgroup2 directory, [] when unreadable. */
export function v2Controllers(io: CgroupIo, dir: string): string[] {
  return (readOptional(io, posix.join(dir, "cgroup.controllers")) ?? "").split(/\s+/).filter(Boolean);
}

/** The mount point a cgroup directory lives under. */
function mountPointOf(cg: Cgroup, key: string): string {
  if (key === UNIFIED) return cg.layout.v2!.mountPoint;
  return cg.layout.v1[key]!.mountPoint;
}

/** Directories from just below the mount point down to `dir`. */
function levels(mountPoint: string, dir: string): string[] {
  const rel = posix.relative(mountPoint, dir);
  if (rel === "" || rel.startsWith("..")) return [];
  const out: string[] = [];
  let cur = mountPoint;
  for (const part of rel.split("/")) {
    cur = posix.join(cur, part);
    out.push(cur);
  }
  return out;
}

function cpusetFile(io: CgroupIo, dir: string, name: "cpus" | "mems"): string {
  // Hierarchies mounted with `noprefix` drop the `cpuset.` prefix.
  const prefixed = posix.join(dir, `cpuset.${name}`);
  return io.exists(prefixed) || !io.exists(posix.join(dir, name)) ? prefixed : posix.join(dir, name);
}

/**
 * A new v1 cpuset cgroup starts with empty cpus and mems, and joining it then
 * fails with ENOSPC; copy the parent's values as runc does (cpusetCopyIfNeeded).
 */
function cpusetCopyIfNeeded(io: CgroupIo, dir: string): void {
  const parent = posix.dirname(dir);
  for (const name of ["cpus", "mems"] as const) {
    const file = cpusetFile(io, dir, name);
    if (io.readFile(file).trim() !== "") continue;
    io.writeFile(file, io.readFile(cpusetFile(io, parent, name)).trim());
  }
}

export interface CreateOptions extends ResolveOptions {
  /** cgroup2 controllers to enable in ancestors; default: all the hierarchy root offers. */
  controllers?: string[];
}

/**
 * Enables controllers for the children of `dir`. Writing them together is one
 * write; when the kernel refuses the set (e.g. EBUSY from the no-internal-
 * process rule for one controller), retry one by one and keep what works, as runc does.
 */
function enableSubtreeControllers(io: CgroupIo, dir: string, wanted: string[]): void {
  const avail = new Set(v2Controllers(io, dir));
  const enabled = new Set((readOptional(io, posix.join(dir, "cgroup.subtree_control")) ?? "").split(/\s+/));
  const todo = wanted.filter((c) => avail.has(c) && !enabled.has(c));
  if (todo.length === 0) return;
  const file = posix.join(dir, "cgroup.subtree_control");
  try {
    io.writeFile(file, todo.map((c) => `+${c}`).join(" "));
  } catch {
    for (const c of todo) {
      try {
        io.writeFile(file, `+${c}`);
      } catch {
        // Knobs of a controller that could not be enabled are reported by applyResources.
      }
    }
  }
}

/**
 * Creates the cgroup in every hierarchy (mkdir -p). v1 cpuset directories get
 * cpus/mems from their parent; on cgroup2 each ancestor enables the wanted
 * controllers in cgroup.subtree_control. Directories made here are removed again if a step fails.
 */
export function createCgroup(layout: CgroupLayout, path: string, opts: CreateOptions = {}): Cgroup {
  const io = ioOf(opts);
  const cg = openCgroup(layout, path, opts);
  const created: string[] = [];
  try {
    const seen = new Set<string>();
    for (const [key, dir] of Object.entries(cg.paths)) {
      if (seen.has(dir)) continue;
      seen.add(dir);
      const mountPoint = mountPointOf(cg, key);
      const isV2 = key === UNIFIED;
      const wanted = isV2 ? (opts.controllers ?? v2Controllers(io, mountPoint)) : [];
      const isCpuset = !isV2 && layout.v1[key]!.controllers.includes("cpuset");
      let parent = mountPoint;
      for (const level of levels(mountPoint, dir)) {
        if (isV2) enableSubtreeControllers(io, parent, wanted);
        if (io.mkdir(level)) created.push(level);
        if (isCpuset) cpusetCopyIfNeeded(io, level);
        parent = level;
      }
    }
  } catch (e) {
    for (const dir of created.reverse()) {
      try {
        io.rmdir(dir);
      } catch {
        // Best effort: the original error matters more.
      }
    }
    throw e;
  }
  return cg;
}

/** Does the cgroup exist (in its first hierarchy)? */
export function cgroupExists(cg: Cgroup, opts: IoOptions = {}): boolean {
  const dir = cgroupDirs(cg)[0];
  return dir !== undefined && ioOf(opts).exists(dir);
}

/** Moves `pid` into the cgroup in every hierarchy (cgroup.procs moves the whole thread group). */
export function addProcess(cg: Cgroup, pid: number, opts: IoOptions = {}): void {
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`Invalid pid ${pid}`);
  const io = ioOf(opts);
  for (const dir of cgroupDirs(cg)) io.writeFile(posix.join(dir, "cgroup.procs"), String(pid));
}

/** Preference for the v1 hierarchy whose membership defines "the container's processes". */
const V1_PID_SOURCES = ["freezer", "pids", "devices", "memory", "cpu", "cpuacct", "cpuset", "blkio"];

/** The directory whose cgroup.procs tree lists the container's processes. */
export function pidSourceDir(cg: Cgroup): string {
  if (cg.layout.mode === "v2") return cg.paths[UNIFIED]!;
  for (const c of V1_PID_SOURCES) if (cg.paths[c] !== undefined) return cg.paths[c]!;
  const any = cgroupDirs(cg)[0];
  if (any === undefined) throw new Error(`Cgroup ${cg.path} has no hierarchy`);
  return any;
}

function collectPids(io: CgroupIo, dir: string, out: Set<number>): void {
  let text: string | undefined;
  try {
    text = readOptional(io, posix.join(dir, "cgroup.procs"));
  } catch (e) {
    // A threaded cgroup2 refuses cgroup.procs reads; its process is listed by the domain above.
    if (!(e instanceof SysError && e.code === "EOPNOTSUPP")) throw e;
  }
  if (text === undefined && !io.exists(dir)) return;
  for (const pid of parseIds(text)) out.add(pid);
  for (const e of io.readdir(dir)) if (e.isDir) collectPids(io, posix.join(dir, e.name), out);
}

/** Every pid in the cgroup and its descendants; [] when the cgroup is gone. */
export function listPids(cg: Cgroup, opts: IoOptions = {}): number[] {
  const io = ioOf(opts);
  const dir = pidSourceDir(cg);
  if (!io.exists(dir)) return [];
  const out = new Set<number>();
  collectPids(io, dir, out);
  return [...out];
}

/** rmdir with short retries on EBUSY (processes still exiting); ENOENT is success. */
async function rmdirRetry(io: CgroupIo, dir: string): Promise<void> {
  let delay = 1;
  for (let tries = 0; ; tries++) {
    try {
      io.rmdir(dir);
      return;
    } catch (e) {
      if (e instanceof SysError && e.code === "ENOENT") return;
      if (!(e instanceof SysError && e.code === "EBUSY") || tries >= 10) throw e;
    }
    await io.sleep(delay);
    delay *= 2;
  }
}

/** runc's RemovePath: fast rmdir, else remove sub-cgroups (leaves first), then retry. */
async function removePath(io: CgroupIo, dir: string): Promise<void> {
  try {
    io.rmdir(dir);
    return;
  } catch (e) {
    if (e instanceof SysError && e.code === "ENOENT") return;
  }
  let entries;
  try {
    entries = io.readdir(dir);
  } catch (e) {
    if (e instanceof SysError && e.code === "ENOENT") return;
    throw e;
  }
  for (const e of entries) if (e.isDir) await removePath(io, posix.join(dir, e.name));
  await rmdirRetry(io, dir);
}

/** Removes the cgroup (and any sub-cgroups) from every hierarchy; tries all, then throws the first failure. */
export async function destroyCgroup(cg: Cgroup, opts: IoOptions = {}): Promise<void> {
  const io = ioOf(opts);
  let first: unknown;
  for (const dir of cgroupDirs(cg)) {
    try {
      await removePath(io, dir);
    } catch (e) {
      first ??= e;
    }
  }
  if (first !== undefined) throw first;
}
