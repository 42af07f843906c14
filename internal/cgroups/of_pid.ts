/**
 * A process's cgroup dirs, found the LXCFS way: its line in
 * /proc/PID/cgroup placed under the host's hierarchy layout. sysbox-fs
 * uses it to find a container's cgroup from its init. The layout (parsed
 * from /proc/self/mountinfo) is cached by a `PidCgroups` object the caller
 * keeps, for `ttlMs`: hosts rarely remount cgroupfs, but they can.
 */
import type { CgroupIo } from "./_io.ts";
import { layoutFromMountinfo, type CgroupLayout } from "./layout.ts";
import { procCgroupPaths } from "./mountinfo.ts";

/** The host's hierarchies over one `CgroupIo`, with the layout cached. */
export interface PidCgroups {
  readonly io: CgroupIo;
  /** The host's layout; undefined when it has no cgroup filesystem (or mountinfo cannot be read). */
  layout(): CgroupLayout | undefined;
  /** /proc/PID/cgroup parsed (hierarchy name or "" -> path); throws when the process is gone. */
  paths?(pid: number): Record<string, string>;
}

export interface PidCgroupsOptions {
  /** How long a layout is used before mountinfo is read again; default 10 s. */
  ttlMs?: number;
  /** How long a process's /proc/PID/cgroup is used before it is read again; default 0 (every lookup reads it). */
  procTtlMs?: number;
  /** Clock in ms; default Date.now. */
  now?: () => number;
}

export function pidCgroups(io: CgroupIo, opts: PidCgroupsOptions = {}): PidCgroups {
  const ttlMs = opts.ttlMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const procTtlMs = opts.procTtlMs ?? 0;
  let cached: { at: number; layout: CgroupLayout | undefined } | undefined;
  const byPid = new Map<number, { at: number; paths: Record<string, string> }>();
  return {
    io,
    paths(pid) {
      const t = now();
      const k = byPid.get(pid);
      if (k && t - k.at < procTtlMs) return k.paths;
      const paths = procCgroupPaths(io.readFile(`/proc/${pid}/cgroup`));
      if (procTtlMs > 0) {
        // Entries of gone processes go when the map is swept: at most a few per container.
        if (byPid.size > 4096) for (const [p, e] of byPid) if (t - e.at >= procTtlMs) byPid.delete(p);
        byPid.set(pid, { at: t, paths });
      }
      return paths;
    },
    layout() {
      if (cached && now() - cached.at < ttlMs) return cached.layout;
      let layout: CgroupLayout | undefined;
      try {
        layout = layoutFromMountinfo(io.readFile("/proc/self/mountinfo"));
      } catch {
        layout = undefined;
      }
      cached = { at: now(), layout };
      return layout;
    },
  };
}

/**
 * A cgroup path as the hierarchy names it ("/docker/abc") relative to a
 * mount of that hierarchy whose root is `mountRoot`: "/abc" for a mount of
 * "/docker", "/" for the root itself, undefined when outside it.
 */
export function pathInMount(mountRoot: string, path: string): string | undefined {
  const root = mountRoot === "/" ? "" : mountRoot.replace(/\/+$/, "");
  if (root && path !== root && !path.startsWith(`${root}/`)) return undefined;
  return path.slice(root.length).replace(/\/+$/, "") || "/";
}

/** Directories of one controller: the process's own first, then each parent up to the mount. */
export interface ControllerDirs {
  v2: boolean;
  dirs: string[];
}

/**
 * The dirs of `controller` ("" for the unified hierarchy) for process
 * `pid`, or undefined when the host or the process has none. On a v2 host
 * every controller is the unified hierarchy's.
 */
export function controllerDirs(cg: PidCgroups, pid: number, controller: string): ControllerDirs | undefined {
  const layout = cg.layout();
  if (!layout) return undefined;
  let paths;
  try {
    paths = cg.paths ? cg.paths(pid) : procCgroupPaths(cg.io.readFile(`/proc/${pid}/cgroup`));
  } catch {
    return undefined;
  }
  const v1 = layout.mode === "v2" ? undefined : layout.v1[controller];
  const mount = v1 ?? (layout.v2 && (layout.mode === "v2" || controller === "") ? layout.v2 : undefined);
  if (!mount) return undefined;
  const path = paths[v1 ? controller : ""];
  if (path === undefined) return undefined;
  const rel = pathInMount(mount.root, path);
  if (rel === undefined) return undefined;
  const parts = rel.split("/").filter(Boolean);
  const dirs: string[] = [];
  for (let n = parts.length; n >= 0; n--) dirs.push([mount.mountPoint, ...parts.slice(0, n)].join("/"));
  return { v2: !v1, dirs };
}

/**
 * The container's own cgroup dir in the hierarchy of `controller` ("" for
 * the unified one), from its init `pid`: the init's, or its parent when the
 * init sits in `init.scope` (systemd inside moves itself there; its sibling
 * units are the container's too), as LXCFS prunes it. Undefined when that
 * is the hierarchy's root: the process has no cgroup of its own.
 */
export function containerCgroupDir(cg: PidCgroups, pid: number, controller: string): { v2: boolean; dir: string } | undefined {
  const c = controllerDirs(cg, pid, controller);
  if (!c) return undefined;
  const n = c.dirs[0]!.endsWith("/init.scope") ? 1 : 0;
  // dirs runs leaf to root: keep at least one level below the root.
  if (c.dirs.length - n < 2) return undefined;
  return { v2: c.v2, dir: c.dirs[n]! };
}
