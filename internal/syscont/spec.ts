/**
 * Turns the OCI spec Docker wrote into a system container's spec: its own
 * user namespace mapped to an exclusive ID range, its own cgroup namespace,
 * root with every capability the host allows, Docker's seccomp profile
 * widened for system software, no AppArmor, and /proc masks lifted where the
 * kernel's user-namespace rules already protect the host. Pure.
 */
import type { LinuxIDMapping, LinuxSeccomp, Spec } from "../oci/mod.ts";
import { CAPS } from "../sys/caps.ts";
import type { ContainerSettings } from "./settings.ts";

export const RANGE_SIZE = 65536;

export interface IdRange {
  uid: number;
  gid: number;
  size: number;
}

/** Namespaces a system container must have of its own (sharing them with the host breaks isolation). */
const REQUIRED_OWN = ["pid", "ipc", "uts", "mount"] as const;

/** Syscalls system software needs that Docker's profile blocks or restricts (Sysbox's list). */
export const SYSCONT_SYSCALLS = [
  "mount", "umount", "umount2", "add_key", "request_key", "keyctl", "pivot_root", "gethostname",
  "sethostname", "setdomainname", "close_range", "chroot", "setns", "unshare", "clone", "clone3",
  "syslog", "name_to_handle_at", "fanotify_init", "bpf", "perf_event_open",
];

/** Allow rules keep their argument filters only for these (as Sysbox does). */
const KEEP_ARG_FILTERS = new Set(["personality", "socket"]);

/** Paths Docker masks or makes read-only that system software needs, and that a user namespace already protects. */
const UNMASK = new Set(["/proc/kcore", "/proc/kallsyms", "/proc/kmsg", "/proc/sys", "/proc"]);
const UNREADONLY = new Set(["/proc", "/proc/sys"]);

export class SysContainerError extends Error {
  override name = "SysContainerError";
}

/** A mapping that comes with the spec (userns-remap) must cover 65536 ids from 0 and never map host root. */
export function validateMappings(uid: LinuxIDMapping[], gid: LinuxIDMapping[]): IdRange {
  const one = (m: LinuxIDMapping[], kind: string) => {
    const sorted = [...m].sort((a, b) => a.containerID - b.containerID);
    let next = 0;
    let hostStart = -1;
    for (const e of sorted) {
      if (e.containerID !== next) break;
      if (hostStart === -1) hostStart = e.hostID;
      else if (e.hostID !== hostStart + next) break;
      next += e.size;
    }
    if (next < RANGE_SIZE || hostStart === -1) {
      throw new SysContainerError(`${kind} mapping range must specify a container with at least ${RANGE_SIZE} ${kind}s starting at ${kind} 0`);
    }
    if (hostStart === 0) throw new SysContainerError(`detected user-ns ${kind} mapping to host ID 0; this breaks container isolation`);
    return { start: hostStart, size: next };
  };
  const u = one(uid, "uid");
  const g = one(gid, "gid");
  return { uid: u.start, gid: g.start, size: Math.min(u.size, g.size) };
}

function allCaps(hostBounding: bigint): string[] {
  return Object.entries(CAPS).filter(([, n]) => (hostBounding >> BigInt(n)) & 1n).map(([name]) => name);
}

/** Widens an allow-list profile: the system-software syscalls allowed, argument filters dropped. */
export function widenSeccomp(s: LinuxSeccomp): LinuxSeccomp {
  const allowish = (a: string) => a === "SCMP_ACT_ALLOW" || a === "SCMP_ACT_LOG";
  const isAllowList = !allowish(s.defaultAction);
  const wanted = new Set(SYSCONT_SYSCALLS);
  const syscalls = (s.syscalls ?? []).flatMap((rule) => {
    if (allowish(rule.action)) {
      const names = rule.names ?? [];
      // A filtered allow rule for a wanted syscall becomes an unconditional one below.
      if (rule.args?.length && names.some((n) => !KEEP_ARG_FILTERS.has(n))) {
        const keep = names.filter((n) => KEEP_ARG_FILTERS.has(n));
        const widen = names.filter((n) => !KEEP_ARG_FILTERS.has(n));
        widen.forEach((n) => wanted.add(n));
        return keep.length ? [{ ...rule, names: keep }] : [];
      }
      return [rule];
    }
    // errno/kill rules lose the names system software needs.
    const names = (rule.names ?? []).filter((n) => !wanted.has(n));
    return names.length ? [{ ...rule, names }] : [];
  });
  if (isAllowList) syscalls.push({ names: [...wanted].sort(), action: "SCMP_ACT_ALLOW" });
  return { ...s, syscalls };
}

type Process = NonNullable<Spec["process"]>;

/**
 * A system container's process (init or exec'd): no AppArmor; root gets
 * every capability the host allows, unless `honorCaps` (SYSBOX_HONOR_CAPS)
 * keeps the spec's.
 */
export function systemContainerProcess(proc: Process, hostBounding: bigint, opts: { honorCaps?: boolean } = {}): Process {
  const out = { ...proc };
  delete out.apparmorProfile;
  if (opts.honorCaps) return out;
  const caps = allCaps(hostBounding);
  // Any other user keeps its own sets under a full bounding set.
  out.capabilities = (out.user?.uid ?? 0) === 0
    ? { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] }
    : { ...(out.capabilities ?? {}), bounding: caps };
  return out;
}

/** Sysbox's rule: systemd is the init when the process is /sbin/init (or systemd itself). */
export function runsSystemd(spec: Spec): boolean {
  const cmd = spec.process?.args?.[0] ?? "";
  return cmd === "/sbin/init" || cmd === "init" || /(^|\/)systemd$/.test(cmd);
}

type Mount = NonNullable<Spec["mounts"]>[number];

/** What systemd needs without user flags: tmpfs /run and /run/lock, unless the spec mounts them. */
function systemdMounts(mounts: Mount[]): Mount[] {
  const has = (d: string) => mounts.some((m) => m.destination.replace(/\/+$/, "") === d);
  const add: Mount[] = [];
  if (!has("/run")) add.push({ destination: "/run", type: "tmpfs", source: "tmpfs", options: ["rw", "nosuid", "nodev", "mode=755", "size=64m"] });
  if (!has("/run/lock")) add.push({ destination: "/run/lock", type: "tmpfs", source: "tmpfs", options: ["rw", "nosuid", "nodev", "noexec", "size=4m"] });
  return [...mounts, ...add];
}

/** Every system container: the kernel log is not the container's to read; /dev/kmsg is /dev/null. */
function kmsgMount(mounts: Mount[]): Mount[] {
  if (mounts.some((m) => m.destination === "/dev/kmsg")) return mounts;
  return [...mounts, { destination: "/dev/kmsg", type: "bind", source: "/dev/null", options: ["rbind", "rw"] }];
}

export interface SysContainerOptions {
  /** The exclusive range from sysbox-mgr, used when the spec brings no mapping. */
  range: IdRange;
  /** The host's capability bounding set (CapBnd of the runtime). */
  hostBounding: bigint;
  /**
   * True if the network namespace at `path` is the host's. Docker's
   * --net=host names it by a path (its "default" sandbox), not by leaving
   * the namespace out.
   */
  isHostNetns?(path: string): boolean;
  /**
   * SYSBOX_HONOR_CAPS and SYSBOX_SYSCONT_MODE (settings.ts); default a
   * system container whose root gets every capability. Not in syscont mode,
   * the container only gets its own user and cgroup namespaces.
   */
  settings?: Pick<ContainerSettings, "honorCaps" | "syscontMode">;
}

/** Returns the system container's spec and the ID range it runs in. */
/**
 * Docker's --privileged leaves no masked or read-only paths and grants
 * CAP_SYS_ADMIN; its host devices and host-wide /sys make no sense here.
 */
export function isPrivilegedSpec(spec: Spec): boolean {
  const l = spec.linux ?? {};
  const bounding = spec.process?.capabilities?.bounding ?? [];
  return !(l.maskedPaths?.length) && !(l.readonlyPaths?.length) && bounding.includes("CAP_SYS_ADMIN");
}

export function toSystemContainerSpec(spec: Spec, opts: SysContainerOptions): { spec: Spec; range: IdRange } {
  if (isPrivilegedSpec(spec)) {
    throw new SysContainerError("privileged containers (--privileged) are not supported by sysbox-runc: a system container's root already has every capability inside its own user namespace; drop --privileged");
  }
  const linux = { ...(spec.linux ?? {}) };
  const namespaces = [...(linux.namespaces ?? [])];
  for (const t of REQUIRED_OWN) {
    const ns = namespaces.find((n) => n.type === t);
    if (!ns || ns.path) {
      throw new SysContainerError(`sysbox containers can't share the ${t} namespace with the host or another container (e.g. --${t === "mount" ? "privileged" : t}=host is not supported)`);
    }
  }
  const net = namespaces.find((n) => n.type === "network");
  if (!net || (net.path && opts.isHostNetns?.(net.path))) {
    throw new SysContainerError("sysbox containers can't share the network namespace with the host (--net=host is not supported)");
  }

  let range = opts.range;
  const userns = namespaces.find((n) => n.type === "user");
  if (userns?.path) throw new SysContainerError("sysbox containers can't join an existing user namespace");
  if (linux.uidMappings?.length || linux.gidMappings?.length) {
    range = validateMappings(linux.uidMappings ?? [], linux.gidMappings ?? []);
  } else {
    linux.uidMappings = [{ containerID: 0, hostID: range.uid, size: range.size }];
    linux.gidMappings = [{ containerID: 0, hostID: range.gid, size: range.size }];
  }
  if (!userns) namespaces.push({ type: "user" });
  if (!namespaces.some((n) => n.type === "cgroup")) namespaces.push({ type: "cgroup" });
  linux.namespaces = namespaces;

  // Docker asks for "0 2147483647"; a user namespace only accepts its own mapped gids.
  const ping = linux.sysctl?.["net.ipv4.ping_group_range"];
  if (ping !== undefined) {
    const [lo = 0, hi = 0] = ping.trim().split(/\s+/).map(Number);
    const max = range.size - 1;
    linux.sysctl = { ...linux.sysctl, "net.ipv4.ping_group_range": `${Math.min(lo, max)} ${Math.min(hi, max)}` };
  }

  if (opts.settings?.syscontMode === false) return { spec: { ...spec, linux }, range };

  linux.maskedPaths = (linux.maskedPaths ?? []).filter((p) => !UNMASK.has(p));
  linux.readonlyPaths = (linux.readonlyPaths ?? []).filter((p) => !UNREADONLY.has(p));
  if (linux.seccomp) linux.seccomp = widenSeccomp(linux.seccomp);

  let process = spec.process ? systemContainerProcess(spec.process, opts.hostBounding, { honorCaps: opts.settings?.honorCaps === true }) : undefined;
  let mounts = kmsgMount(spec.mounts ?? []);
  if (runsSystemd(spec)) {
    mounts = systemdMounts(mounts);
    const keep = new Set(["/run", "/run/lock", "/tmp", "/sys/kernel"]);
    linux.maskedPaths = linux.maskedPaths.filter((p) => !keep.has(p));
    linux.readonlyPaths = linux.readonlyPaths.filter((p) => !keep.has(p));
    // systemd reads $container to know it runs in one.
    if (process && !(process.env ?? []).some((e) => e.startsWith("container="))) {
      process = { ...process, env: [...(process.env ?? []), "container=private-users"] };
    }
  }
  return { spec: { ...spec, linux, mounts, ...(process ? { process } : {}) }, range };
}
