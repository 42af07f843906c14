/**
 * The container's cgroup as the resource files see it: found from its init
 * process (/proc/PID/cgroup, as LXCFS does), on cgroup v1, hybrid and pure
 * v2 hosts. Limits are the tightest along the path up to the hierarchy's
 * root, so a limit on the container's cgroup still counts when the init sits
 * in a child (syscont-cgroup-root on v1, init.scope on v2).
 */
import { layoutFromMountinfo, parseProcCgroup, type CgroupLayout } from "../cgroups/mod.ts";
import type { Host } from "./host.ts";

/** Directories of one controller for the container: the leaf first, then each parent up to the mount. */
export interface ControllerDirs {
  v2: boolean;
  dirs: string[];
}

const LAYOUT_TTL_MS = 10_000;
const layouts = new WeakMap<Host, { at: number; layout: CgroupLayout | undefined }>();

function layoutOf(host: Host): CgroupLayout | undefined {
  const cached = layouts.get(host);
  if (cached && Date.now() - cached.at < LAYOUT_TTL_MS) return cached.layout;
  let layout: CgroupLayout | undefined;
  try {
    layout = layoutFromMountinfo(host.readFile("/proc/self/mountinfo"));
  } catch {
    layout = undefined;
  }
  layouts.set(host, { at: Date.now(), layout });
  return layout;
}

/** The dirs of `controller` for process `pid`, or undefined when the host or process has none. */
export function controllerDirs(host: Host, pid: number, controller: string): ControllerDirs | undefined {
  const layout = layoutOf(host);
  if (!layout) return undefined;
  let entries;
  try {
    entries = parseProcCgroup(host.readFile(`/proc/${pid}/cgroup`));
  } catch {
    return undefined;
  }
  const v1 = layout.mode === "v2" ? undefined : layout.v1[controller];
  const mount = v1 ?? (layout.v2 && (layout.mode === "v2" || controller === "") ? layout.v2 : undefined);
  if (!mount) return undefined;
  const entry = v1 ? entries.find((e) => e.controllers.includes(controller)) : entries.find((e) => e.hierarchyId === 0);
  if (!entry) return undefined;
  const root = mount.root === "/" ? "" : mount.root;
  if (root && entry.path !== root && !entry.path.startsWith(`${root}/`)) return undefined;
  const rel = entry.path.slice(root.length).replace(/\/+$/, "");
  const dirs: string[] = [];
  const parts = rel.split("/").filter(Boolean);
  for (let n = parts.length; n >= 0; n--) dirs.push([mount.mountPoint, ...parts.slice(0, n)].join("/"));
  return { v2: !v1, dirs };
}

/**
 * The container's own cgroup dir in the hierarchy of `controller` ("" for
 * the unified one): the init's, or its parent when the init sits in
 * `init.scope` (systemd inside moves itself there; its sibling units are
 * the container's too), as LXCFS prunes it. Undefined when that is the
 * hierarchy's root: the process has no cgroup of its own to report on.
 */
export function containerCgroupDir(host: Host, pid: number, controller: string): { v2: boolean; dir: string } | undefined {
  const c = controllerDirs(host, pid, controller);
  if (!c) return undefined;
  const n = c.dirs[0]!.endsWith("/init.scope") ? 1 : 0;
  // dirs runs leaf to root: keep at least one level below the root.
  if (c.dirs.length - n < 2) return undefined;
  return { v2: c.v2, dir: c.dirs[n]! };
}

/** A cgroup file's text, or undefined when absent. */
export function readCg(host: Host, dir: string, file: string): string | undefined {
  try {
    return host.readFile(`${dir}/${file}`);
  } catch {
    return undefined;
  }
}

/** "key value" lines (memory.stat, cpu.stat) as numbers. */
export function parseKeyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** v1 reports "no limit" as a huge page-aligned number; treat anything past 2^60 as none. */
const UNLIMITED = 2 ** 60;

/** A limit file's value in bytes; undefined for "max", absent or unlimited. */
export function parseLimit(text: string | undefined): number | undefined {
  const t = text?.trim();
  if (!t || t === "max" || !/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return n >= UNLIMITED ? undefined : n;
}

/** The smallest limit in `file` along dirs (leaf to root), or undefined when none is set. */
export function minLimit(host: Host, dirs: readonly string[], file: string): number | undefined {
  let min: number | undefined;
  for (const d of dirs) {
    const v = parseLimit(readCg(host, d, file));
    if (v !== undefined && (min === undefined || v < min)) min = v;
  }
  return min;
}

/** "0-3,5,7-8" -> [0,1,2,3,5,7,8]. */
export function parseCpuList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? "").trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

/**
 * The CPUs the container may use: its cpuset (the nearest non-empty one up
 * the path), then no more than ceil(quota/period) of them.
 */
export function containerCpus(host: Host, pid: number, hostCpus: readonly number[]): number[] {
  let cpus = [...hostCpus];
  const cs = controllerDirs(host, pid, "cpuset");
  if (cs) {
    for (const d of cs.dirs) {
      const effective = readCg(host, d, cs.v2 ? "cpuset.cpus.effective" : "cpuset.effective_cpus");
      const list = parseCpuList(effective ?? readCg(host, d, "cpuset.cpus"));
      if (list.length) {
        cpus = list.filter((c) => hostCpus.includes(c));
        break;
      }
    }
  }
  const quota = cpuQuota(host, pid);
  if (quota !== undefined) cpus = cpus.slice(0, Math.max(1, Math.ceil(quota)));
  return cpus;
}

/** The tightest CFS quota along the path, in CPUs (quota/period), or undefined when unlimited. */
export function cpuQuota(host: Host, pid: number): number | undefined {
  const cpu = controllerDirs(host, pid, "cpu");
  if (!cpu) return undefined;
  let min: number | undefined;
  for (const d of cpu.dirs) {
    let q: number | undefined;
    if (cpu.v2) {
      const [quota, period] = (readCg(host, d, "cpu.max") ?? "").trim().split(/\s+/);
      if (quota && quota !== "max" && period) q = Number(quota) / Number(period);
    } else {
      const quota = Number((readCg(host, d, "cpu.cfs_quota_us") ?? "-1").trim());
      const period = Number((readCg(host, d, "cpu.cfs_period_us") ?? "0").trim());
      if (quota > 0 && period > 0) q = quota / period;
    }
    if (q !== undefined && Number.isFinite(q) && q > 0 && (min === undefined || q < min)) min = q;
  }
  return min;
}
