/**
 * Which cgroup hierarchies this host has: pure v1, hybrid (v1 controllers plus
 * a cgroup2 mount, usually at <root>/unified) or pure v2 at <root>.
 * Decided from mountinfo alone, so recorded files from other hosts can be tested.
 */
import { ioOf, type IoOptions } from "./_io.ts";
import { parseMountinfo } from "./mountinfo.ts";

export type CgroupMode = "v1" | "hybrid" | "v2";

export interface V1Mount {
  mountPoint: string;
  /** Path within the hierarchy that is mounted here ("/" on a host). */
  root: string;
  /** Every controller bound to this hierarchy, e.g. ["cpu", "cpuacct"] or ["name=systemd"]. */
  controllers: string[];
}

export interface V2Mount {
  mountPoint: string;
  root: string;
}

export interface CgroupLayout {
  mode: CgroupMode;
  /** The cgroup root the layout was detected under, normally /sys/fs/cgroup. */
  root: string;
  /** v1 hierarchies keyed by controller; co-mounted controllers share one entry value. */
  v1: Record<string, V1Mount>;
  v2?: V2Mount;
}

export const DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * Every controller that can be bound to a v1 hierarchy (/proc/cgroups). The
 * list is closed: v1 gains no new controllers, and super options also carry
 * words like `seclabel` or `xattr` that are not controllers.
 */
const V1_CONTROLLERS = new Set([
  "cpuset", "cpu", "cpuacct", "blkio", "memory", "devices", "freezer", "net_cls", "perf_event",
  "net_prio", "hugetlb", "pids", "rdma", "misc", "debug",
]);

function v1Controllers(superOptions: string[]): string[] {
  return superOptions.filter((o) => o.startsWith("name=") || V1_CONTROLLERS.has(o));
}

function isUnder(path: string, root: string): boolean {
  const r = root.endsWith("/") ? root.slice(0, -1) : root;
  return path === r || path.startsWith(r + "/");
}

/** Builds the layout from mountinfo text; throws when no cgroup filesystem is mounted under root. */
export function layoutFromMountinfo(mountinfo: string, root = DEFAULT_CGROUP_ROOT): CgroupLayout {
  const v1: Record<string, V1Mount> = {};
  let v2: V2Mount | undefined;
  for (const m of parseMountinfo(mountinfo)) {
    if (!isUnder(m.mountPoint, root)) continue;
    if (m.fsType === "cgroup2") {
      // A later mount over the root itself wins over e.g. a stray <root>/unified.
      if (v2 === undefined || m.mountPoint === root) v2 = { mountPoint: m.mountPoint, root: m.root };
    } else if (m.fsType === "cgroup") {
      const controllers = v1Controllers(m.superOptions);
      const mount: V1Mount = { mountPoint: m.mountPoint, root: m.root, controllers };
      for (const c of controllers) v1[c] ??= mount;
    }
  }
  const hasV1 = Object.keys(v1).length > 0;
  if (!hasV1 && v2 === undefined) {
    throw new Error(`No cgroup filesystem is mounted under ${root}`);
  }
  const mode: CgroupMode = !hasV1 ? "v2" : v2 === undefined ? "v1" : v2.mountPoint === root ? "v2" : "hybrid";
  // A cgroup2 mount at the root itself makes stray v1 mounts below it irrelevant.
  const layout: CgroupLayout = { mode, root, v1: mode === "v2" ? {} : v1 };
  if (v2 !== undefined) layout.v2 = v2;
  return layout;
}

export interface DetectOptions extends IoOptions {
  /** mountinfo text; read from /proc/self/mountinfo when absent. */
  mountinfo?: string;
}

export function detectLayout(root = DEFAULT_CGROUP_ROOT, opts: DetectOptions = {}): CgroupLayout {
  const text = opts.mountinfo ?? ioOf(opts).readFile("/proc/self/mountinfo");
  return layoutFromMountinfo(text, root);
}

/** Distinct v1 hierarchies (co-mounted controllers appear once). */
export function v1Hierarchies(layout: CgroupLayout): V1Mount[] {
  return [...new Set(Object.values(layout.v1))];
}
