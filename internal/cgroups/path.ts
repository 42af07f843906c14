/**
 * OCI `linux.cgroupsPath` handling. The cgroupfs driver takes an absolute path
 * (Docker: `/docker/<id>`) or one relative to the runtime's own cgroup; empty
 * means `/sysbox/<id>`. The systemd driver form `slice:prefix:name` is parsed
 * here and named by `systemdUnitName`/`systemdCgroupPath`; systemd.ts asks
 * systemd for the unit, and `cgroupfsPath` refuses the form.
 */
import * as posix from "node:path/posix";
import { ioOf, type IoOptions } from "./_io.ts";
import type { CgroupLayout } from "./layout.ts";
import { procCgroupPaths } from "./mountinfo.ts";
import { pathInMount } from "./of_pid.ts";

export type CgroupsPathSpec =
  | { driver: "cgroupfs"; path: string }
  | { driver: "systemd"; slice: string; prefix: string; name: string };

/** Default parent for containers created without a cgroupsPath. */
export const DEFAULT_CGROUP_PARENT = "/sysbox";
/** Default scope prefix for the systemd driver (`sysbox-<id>.scope`). */
export const DEFAULT_SYSTEMD_PREFIX = "sysbox";

/**
 * runc's CleanPath: absolute paths are cleaned lexically, relative ones are
 * cleaned as if rooted so `../..` can never climb out of the parent cgroup.
 */
export function cleanPath(path: string): string {
  if (path === "") return "";
  if (path.startsWith("/")) return posix.normalize(path).replace(/(.)\/$/, "$1");
  const abs = posix.normalize("/" + path).replace(/(.)\/$/, "$1");
  return abs === "/" ? "" : abs.slice(1);
}

const SYSTEMD_FORM = /^[^/:]*:[^/:]*:[^/:]+$/;

/**
 * Parses `linux.cgroupsPath`. With `systemd` (the `--systemd-cgroup` flag) the
 * value must be `slice:prefix:name`; without it a value of that shape is an
 * error rather than a literal directory name, since it is almost certainly a
 * manager configured for systemd talking to a runtime that was not told so.
 */
export function parseCgroupsPath(
  cgroupsPath: string | undefined,
  id: string,
  opts: { systemd?: boolean } = {},
): CgroupsPathSpec {
  const p = cgroupsPath ?? "";
  if (opts.systemd) {
    if (p === "") return { driver: "systemd", slice: "system.slice", prefix: DEFAULT_SYSTEMD_PREFIX, name: id };
    const parts = p.split(":");
    if (parts.length !== 3 || parts[2] === "") {
      throw new Error(`Expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(p)} instead`);
    }
    return { driver: "systemd", slice: parts[0] || "system.slice", prefix: parts[1]!, name: parts[2]! };
  }
  if (SYSTEMD_FORM.test(p)) {
    throw new Error(
      `cgroupsPath ${JSON.stringify(p)} has the systemd form "slice:prefix:name" but the systemd cgroup driver was not requested (--systemd-cgroup)`,
    );
  }
  if (p === "") return { driver: "cgroupfs", path: `${DEFAULT_CGROUP_PARENT}/${cleanPath(id)}` };
  const path = cleanPath(p);
  if (path === "" || path === "/") throw new Error(`Invalid cgroupsPath ${JSON.stringify(p)}: refers to the root cgroup`);
  return { driver: "cgroupfs", path };
}

/** The cgroupfs path of a parsed spec; a systemd unit's comes from `systemdCgroupPath` once systemd made it. */
export function cgroupfsPath(spec: CgroupsPathSpec): string {
  if (spec.driver === "cgroupfs") return spec.path;
  throw new TypeError(
    `systemd cgroup driver requested (--systemd-cgroup) but cgroupsPath "${spec.slice}:${spec.prefix}:${spec.name}" ` +
      `was handed to the cgroupfs driver; the unit's cgroup is systemdCgroupPath()`,
  );
}

/** systemd's slice nesting: `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice`; `-.slice` is the root. */
export function expandSlice(slice: string): string {
  const suffix = ".slice";
  if (!slice.endsWith(suffix) || slice.length <= suffix.length || slice.includes("/")) {
    throw new Error(`Invalid systemd slice name ${JSON.stringify(slice)}`);
  }
  const name = slice.slice(0, -suffix.length);
  if (name === "-") return "/";
  let path = "";
  let prefix = "";
  for (const component of name.split("-")) {
    if (component === "") throw new Error(`Invalid systemd slice name ${JSON.stringify(slice)}`);
    path += `/${prefix}${component}${suffix}`;
    prefix += `${component}-`;
  }
  return path;
}

/** The unit a systemd-form spec names: a scope `prefix-name.scope`, or the slice itself. */
export function systemdUnitName(spec: Extract<CgroupsPathSpec, { driver: "systemd" }>): string {
  if (spec.name.endsWith(".slice")) return spec.name;
  return spec.prefix === "" ? `${spec.name}.scope` : `${spec.prefix}-${spec.name}.scope`;
}

/** Where systemd would put that unit in the hierarchy, e.g. `/system.slice/docker-<id>.scope`. */
export function systemdCgroupPath(spec: Extract<CgroupsPathSpec, { driver: "systemd" }>): string {
  const parent = expandSlice(spec.slice);
  return posix.join(parent, systemdUnitName(spec));
}

/** The key for the cgroup2 directory in `Cgroup.paths` (runc uses ""). */
export const UNIFIED = "unified";

export interface ResolveOptions extends IoOptions {
  /** /proc/self/cgroup text for relative paths; read from the file when absent. */
  procSelfCgroup?: string;
}

function ownPath(own: Record<string, string>, key: string, mountRoot: string): string {
  const p = own[key];
  if (p === undefined) throw new Error(`Cannot resolve a relative cgroupsPath: no ${key || "cgroup2"} entry in /proc/self/cgroup`);
  // Outside the mounted part of the hierarchy (a container's view): its root.
  return pathInMount(mountRoot, p) ?? "/";
}

/**
 * Directory of the cgroup in each hierarchy: one key per v1 controller
 * (co-mounted ones share a directory, `name=systemd` included) and `unified`
 * for the cgroup2 directory on v2 and hybrid hosts. A relative path is taken
 * relative to this process's own cgroup, so store the resolved paths rather
 * than re-resolving a relative path from another process.
 */
export function resolvePaths(layout: CgroupLayout, path: string, opts: ResolveOptions = {}): Record<string, string> {
  const inner = cleanPath(path);
  const relative = !inner.startsWith("/");
  let own: Record<string, string> = {};
  if (relative) {
    own = procCgroupPaths(opts.procSelfCgroup ?? ioOf(opts).readFile("/proc/self/cgroup"));
  }
  const out: Record<string, string> = {};
  for (const [ctrl, m] of Object.entries(layout.v1)) {
    const base = relative ? ownPath(own, ctrl, m.root) : "/";
    out[ctrl] = posix.join(m.mountPoint, base, inner);
  }
  if (layout.v2 !== undefined) {
    const base = relative ? ownPath(own, "", layout.v2.root) : "/";
    out[UNIFIED] = posix.join(layout.v2.mountPoint, base, inner);
  }
  return out;
}
