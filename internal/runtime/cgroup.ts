/**
 * The container's cgroup as the runtime uses it: created with its limits
 * before init runs, described for the init stage's /sys/fs/cgroup mount, and
 * reopened from saved state by later commands (ps, pause, update, delete).
 */
import { basename } from "node:path";
import { readdirSync, readFileSync, readlinkSync, lstatSync } from "node:fs";
import {
  detectLayout, createCgroup, openCgroup, addProcess, applyResources, destroyCgroup, parseCgroupsPath, cgroupfsPath,
  delegateV1, delegateV2, connectSystemd, state as cgroupState, parseProcCgroup, startTransientScope, stopUnit, systemdCgroupPath, systemdUnitName, SystemdUnavailableError,
  type Cgroup, type CgroupLayout, type CgroupsPathSpec, type SystemdBus, type SystemdConnectOptions,
} from "../cgroups/mod.ts";
import { isSysError } from "../sys/mod.ts";
import type { CgroupMountInfo } from "./rootfs.ts";
import type { Logger } from "../log/mod.ts";
import type { Spec } from "./spec.ts";

/** v1: the child a system container's processes live in, owned by its root (Sysbox's name). */
export const SYSCONT_CHILD_V1 = "syscont-cgroup-root";
/** v2: the leaf for the processes, so the delegated cgroup itself can enable controllers. */
export const SYSCONT_LEAF_V2 = "init.scope";

export interface ContainerCgroup {
  cg: Cgroup;
  /** Where init and exec'd processes go: `cg` itself, or its delegated child. */
  procsPath: string;
  /** Saved in state.json so later commands can reopen the cgroup. */
  paths: Record<string, string>;
  v1Mounts: CgroupMountInfo[] | null;
  v2Path: string;
  add(pid: number): void;
  /** Removes the cgroup from every hierarchy; awaited, so a failed create leaves no directory behind. */
  destroy(): Promise<void> | void;
}

/**
 * Devices every container may use whatever its spec says, appended after the
 * spec's rules as runc does: the default nodes, ptys, and mknod of anything.
 */
const ALLOWED_DEVICES = [
  { allow: true, type: "c", access: "m" }, { allow: true, type: "b", access: "m" },
  ...[[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2], [10, 200]].map(([major, minor]) => ({ allow: true, type: "c", major, minor, access: "rwm" })),
  { allow: true, type: "c", major: 136, access: "rwm" },
];

let cachedLayout: CgroupLayout | undefined;
export function hostLayout(): CgroupLayout {
  return (cachedLayout ??= detectLayout());
}

export interface CgroupSetupOptions {
  systemd: boolean;
  log: Logger;
  /** Hand a child cgroup to this owner (the system container's root) for inner engines to manage. */
  delegateTo?: { uid: number; gid: number };
  /** Where and how to reach systemd for --systemd-cgroup; default its private socket, then the system bus. */
  systemdConnect?: SystemdConnectOptions;
}

/**
 * The cgroup for the container's processes. Limits sit on the cgroup Docker
 * named; a system container's processes live in a child owned by its root,
 * so an inner dockerd or systemd can make sub-cgroups but cannot raise them.
 */
function delegatedChild(layout: CgroupLayout, cg: Cgroup, owner: { uid: number; gid: number }): Cgroup {
  if (layout.mode === "v2") {
    delegateV2(cg, owner);
    const leaf = createCgroup(layout, `${cg.path}/${SYSCONT_LEAF_V2}`);
    delegateV2(leaf, owner);
    return leaf;
  }
  const child = createCgroup(layout, `${cg.path}/${SYSCONT_CHILD_V1}`);
  delegateV1(child, owner);
  return child;
}

export function setupContainerCgroup(id: string, spec: Spec, opts: CgroupSetupOptions): ContainerCgroup {
  const layout = hostLayout();
  const parsed = parseCgroupsPath(spec.linux?.cgroupsPath ?? "", id, { systemd: opts.systemd });
  if (parsed.driver === "systemd") return systemdContainerCgroup(id, spec, parsed, layout, opts);
  const cg = createCgroup(layout, cgroupfsPath(parsed));
  let procs: Cgroup;
  try {
    const resources = spec.linux?.resources ?? {};
    const result = applyResources(cg, { ...resources, devices: [...(resources.devices ?? []), ...ALLOWED_DEVICES] });
    for (const w of result.warnings ?? []) opts.log.warn(w);
    procs = opts.delegateTo ? delegatedChild(layout, cg, opts.delegateTo) : cg;
    refuseFrozen(cg, procs);
  } catch (e) {
    // Nothing runs in it yet, so every directory goes at once (the removal settles before the process exits).
    destroyCgroup(cg).catch((ue: unknown) => opts.log.debug(`removing cgroup after a failed set-up: ${String(ue)}`));
    throw e;
  }
  return {
    cg,
    procsPath: procs.path,
    paths: cg.paths,
    v1Mounts: layout.mode === "v2" ? null : v1MountInfo(layout, cg),
    v2Path: cg.paths.unified ?? "",
    add: (pid) => addProcess(procs, pid),
    destroy: () => destroyCgroup(cg),
  };
}

/**
 * A process added to a frozen cgroup stops at once, and create would wait
 * for it forever: refuse, as runc does.
 */
function refuseFrozen(...cgs: Cgroup[]): void {
  for (const cg of cgs) {
    const { freezer } = cgroupState(cg);
    if (freezer === "frozen" || freezer === "freezing") throw new Error(`container's cgroup unexpectedly frozen (${cg.path})`);
  }
}

/**
 * --systemd-cgroup: the cgroup is a transient scope that systemd creates with
 * the init pid in it, so nothing exists until `add(pid)`; limits, delegation
 * and everything later go through cgroupfs on the scope's path, as runc does.
 * systemd is reached here, before init is spawned, so a host without it
 * fails `create` at once with the way out named.
 */
function systemdContainerCgroup(
  id: string, spec: Spec, parsed: Extract<CgroupsPathSpec, { driver: "systemd" }>, layout: CgroupLayout, opts: CgroupSetupOptions,
): ContainerCgroup {
  let bus: SystemdBus | undefined;
  try {
    bus = connectSystemd(opts.systemdConnect);
  } catch (e) {
    if (!(e instanceof SystemdUnavailableError)) throw e;
    throw new Error(`${e.message} (start systemd, or configure Docker for the cgroupfs driver: "exec-opts": ["native.cgroupdriver=cgroupfs"])`, { cause: e });
  }
  const unit = systemdUnitName(parsed);
  const cg = openCgroup(layout, systemdCgroupPath(parsed));
  const resources = spec.linux?.resources ?? {};
  const leaf = layout.mode === "v2" ? SYSCONT_LEAF_V2 : SYSCONT_CHILD_V1;
  let started = false;
  const closeBus = () => { bus?.close(); bus = undefined; };
  return {
    cg,
    procsPath: opts.delegateTo ? `${cg.path}/${leaf}` : cg.path,
    paths: cg.paths,
    v1Mounts: layout.mode === "v2" ? null : v1MountInfo(layout, cg),
    v2Path: cg.paths.unified ?? "",
    add(pid) {
      if (!bus) throw new Error(`systemd unit ${unit} was already created`);
      try {
        const scope = startTransientScope(
          { slice: parsed.slice, unitName: unit, pid, resources, delegate: true, description: `libcontainer container ${id}` },
          { bus, cgroupMode: layout.mode },
        );
        started = true;
        opts.log.debug(`systemd scope ${scope.unit} at ${scope.cgroupPath}: ${scope.properties.map(([k]) => k).join(" ")}`);
      } finally {
        closeBus();
      }
      // systemd made the directories of the hierarchies it manages; the others (v1) are made here, as runc does.
      createCgroup(layout, cg.path);
      // A v1 freezer dir left frozen (systemd does not manage that hierarchy) would stop the init: refuse, as runc does.
      refuseFrozen(cg);
      const result = applyResources(cg, { ...resources, devices: [...(resources.devices ?? []), ...ALLOWED_DEVICES] });
      for (const w of result.warnings ?? []) opts.log.warn(w);
      if (opts.delegateTo && layout.mode === "v2") {
        // systemd put the pid in the scope itself. A cgroup with processes
        // cannot enable controllers for its children (cgroups(7), "no internal
        // processes"); the threaded ones still get enabled, which makes the
        // scope "domain threaded" and the leaf "domain invalid", and moving
        // the pid then fails with EOPNOTSUPP. So the pid goes to the leaf
        // (made with no controllers) first, then the scope enables them.
        addProcess(createCgroup(layout, `${cg.path}/${SYSCONT_LEAF_V2}`, { controllers: [] }), pid);
        delegatedChild(layout, cg, opts.delegateTo);
        return;
      }
      const target = opts.delegateTo ? delegatedChild(layout, cg, opts.delegateTo) : cg;
      refuseFrozen(target);
      addProcess(target, pid);
    },
    destroy() {
      closeBus();
      if (started) {
        try {
          stopUnit(unit, opts.systemdConnect ? { connect: opts.systemdConnect } : {});
        } catch (e) {
          opts.log.debug(`stop systemd unit ${unit}: ${String(e)}`);
        }
      }
      return destroyCgroup(cg);
    },
  };
}

/** The "NAME N" count of a memory.events (v2) or memory.oom_control (v1) text; 0 when absent. */
export function memoryEventCount(text: string, name: "oom_kill" | "oom" | "max"): number {
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** The "oom_kill N" count of a memory.events (v2) or memory.oom_control (v1) text; 0 when absent. */
export function oomKills(text: string): number {
  return memoryEventCount(text, "oom_kill");
}

/**
 * Why the container's processes died, from the memory controller's events:
 * OOM kills, or else (v2) the limit reached: under a limit that small, a
 * process may die of a failed allocation before the OOM killer picks it.
 * Undefined when neither happened (or the files cannot be read).
 */
export function memoryLimitReason(events: string, eventsFile: string, limitFile: string, limit: string): string | undefined {
  const kills = memoryEventCount(events, "oom_kill");
  if (kills > 0) {
    return `the kernel's OOM killer ended it (${eventsFile}: oom_kill ${kills}; ${limitFile} is ${limit} bytes): the memory limit is too small for the container to start; raise --memory`;
  }
  const max = memoryEventCount(events, "max");
  if (max > 0) {
    return `it reached its memory limit (${eventsFile}: max ${max}, oom ${memoryEventCount(events, "oom")}; ${limitFile} is ${limit} bytes): the memory limit is too small for the container to start; raise --memory`;
  }
  return undefined;
}

export function oomReason(cg: Cgroup): string | undefined {
  const v2 = cg.layout.mode === "v2";
  const dir = v2 ? cg.paths.unified : cg.paths.memory;
  if (dir === undefined) return undefined;
  const [eventsFile, limitFile] = v2 ? ["memory.events", "memory.max"] : ["memory.oom_control", "memory.limit_in_bytes"];
  try {
    const events = readFileSync(`${dir}/${eventsFile}`, "utf8");
    return memoryLimitReason(events, eventsFile, limitFile, readFileSync(`${dir}/${limitFile}`, "utf8").trim());
  } catch {
    return undefined;
  }
}

/**
 * The cgroup2 directory of a process, from its /proc/PID/cgroup text (read
 * in this, the host's, cgroup namespace) and the cgroup2 mount point.
 */
export function v2DirOf(procCgroup: string, mountPoint: string): string | undefined {
  const entry = parseProcCgroup(procCgroup).find((e) => e.hierarchyId === 0);
  if (!entry || !entry.path.startsWith("/")) return undefined;
  return entry.path === "/" ? mountPoint : `${mountPoint}${entry.path}`;
}

/**
 * Where an exec'd process goes on cgroup v2 when no --cgroup is given: the
 * cgroup the container's init is in now, when that lies below `base`.
 * systemd inside moves itself to its own init.scope and enables
 * controllers in the container's root cgroup; an exec'd process sitting in
 * that root meanwhile (the kernel lets it in while subtree_control is
 * empty, as during systemd's boot) makes those writes fail with EBUSY, and
 * the inner systemd then never enables memory for its slices (inner
 * `docker run --memory` fails). Undefined when the init is at `base` itself
 * or elsewhere.
 */
export function initCgroupBelow(procCgroup: string, mountPoint: string, baseDir: string): string | undefined {
  const dir = v2DirOf(procCgroup, mountPoint);
  return dir !== undefined && dir.startsWith(`${baseDir}/`) ? dir : undefined;
}

/**
 * Moves an exec'd process into the container's cgroup. On cgroup v2 with no
 * --cgroup (`preferInit`), the init's current cgroup below it comes first
 * (initCgroupBelow). Otherwise the container's cgroup, which may have
 * become an inner node since create (systemd inside enabled controllers):
 * then the kernel refuses new members (EBUSY, "no internal processes") and
 * the process joins the cgroup the container's init is in now, as runc does.
 */
export function addExecProcess(cg: Cgroup, pid: number, initPid: number, preferInit = false): void {
  const mount = cg.layout.v2?.mountPoint;
  const initDir = (): string | undefined => {
    try {
      return mount ? v2DirOf(readFileSync(`/proc/${initPid}/cgroup`, "utf8"), mount) : undefined;
    } catch {
      return undefined;
    }
  };
  const base = cg.paths.unified;
  if (preferInit && cg.layout.mode === "v2" && mount && base) {
    let below: string | undefined;
    try {
      below = initCgroupBelow(readFileSync(`/proc/${initPid}/cgroup`, "utf8"), mount, base);
    } catch {
      below = undefined;
    }
    if (below !== undefined) {
      try {
        return addProcess(openCgroup(cg.layout, below.slice(mount.length)), pid);
      } catch {
        // Gone or refused meanwhile (systemd moved on): the container's cgroup, as below.
      }
    }
  }
  try {
    addProcess(cg, pid);
  } catch (e) {
    if (!(isSysError(e) && e.code === "EBUSY") || cg.layout.mode !== "v2" || !mount) throw e;
    const dir = initDir();
    if (dir === undefined) throw e;
    addProcess(openCgroup(cg.layout, dir.slice(mount.length) || "/"), pid);
  }
}

/** Reopens a container's cgroup from the path saved in its state. */
export function reopenCgroup(path: string): Cgroup {
  return openCgroup(hostLayout(), path);
}

/** One entry per v1 hierarchy, with the /sys/fs/cgroup names that link to it. */
function v1MountInfo(layout: CgroupLayout, cg: Cgroup): CgroupMountInfo[] {
  const seen = new Map<string, CgroupMountInfo>();
  for (const [controller, mnt] of Object.entries(layout.v1)) {
    const hostPath = cg.paths[controller];
    if (!hostPath || seen.has(mnt.mountPoint)) continue;
    seen.set(mnt.mountPoint, { name: basename(mnt.mountPoint), options: mnt.controllers.join(","), hostPath, links: [] });
  }
  // cpu -> cpu,cpuacct style links, as the host has them.
  try {
    for (const e of readdirSync(layout.root)) {
      const p = `${layout.root}/${e}`;
      if (!lstatSync(p).isSymbolicLink()) continue;
      const target = readlinkSync(p);
      for (const info of seen.values()) if (info.name === target) info.links.push(e);
    }
  } catch {
    // No links: nothing to add.
  }
  return [...seen.values()];
}
