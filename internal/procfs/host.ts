/**
 * The seam between the emulated files and the machine: reading and writing
 * host files (as the daemon sees them, in the host's namespaces) and the
 * boot clock; the host's cgroupfs as a `CgroupIo` over the same seam, for
 * internal/cgroups to read. Tests pass a fake (`fakeHost` in _testing.ts).
 */
import { processStartTime } from "../sys/procstat.ts";
import { lstatSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { pidCgroups, withSysErrors, type CgroupIo, type PidCgroups } from "../cgroups/mod.ts";

export type NodeKind = "dir" | "file";

export interface HostStat {
  kind: NodeKind;
  /** Permission bits only. */
  mode: number;
  uid: number;
  gid: number;
  /** A symbolic link (reported with kind "file"). */
  symlink?: boolean;
}

export interface HostEntry {
  name: string;
  kind: NodeKind;
}

export interface Host {
  /** A host file's text; throws (code ENOENT, EACCES...) like node:fs. */
  readFile(path: string): string;
  /** The same, as bytes (sysfs has binary files). */
  readBytes(path: string): Uint8Array;
  writeFile(path: string, data: string): void;
  /** undefined when absent; symlinks and special files count as "file". */
  stat(path: string): HostStat | undefined;
  list(path: string): HostEntry[];
  /** /proc/uptime of the host: seconds since boot, and idle seconds summed over CPUs. */
  uptime(): { up: number; idle: number };
  /** Start of a process in seconds since boot (field 22 of /proc/PID/stat), or undefined if gone. */
  processStart(pid: number): number | undefined;
  /** Cgroup lookups over this host, holding the hierarchy layout cache; without it, `hostCgroups` makes one per use. */
  readonly cgroups?: PidCgroups;
}

/** USER_HZ: the unit of /proc/PID/stat times, 100 on every Linux architecture we run on. */
export const CLK_TCK = 100;


export function parseUptime(text: string): { up: number; idle: number } {
  const [up, idle] = text.trim().split(/\s+/).map(Number);
  if (!Number.isFinite(up) || !Number.isFinite(idle)) throw new Error(`unparsable /proc/uptime: ${JSON.stringify(text)}`);
  return { up: up!, idle: idle! };
}

/** How often linuxHost reads /proc/uptime; in between its figures advance by the monotonic clock. */
export const UPTIME_READ_MS = 1000;

/**
 * /proc/uptime read at most every `everyMs`. In between, `up` advances by
 * `now` (monotonic: it stops only in suspend, which the next read catches)
 * and `idle` at the rate seen between the last two reads, so both advance
 * smoothly and reading costs no file open.
 */
export function boottimeClock(read: () => string, now: () => number = () => performance.now(), everyMs = UPTIME_READ_MS): () => { up: number; idle: number } {
  let last: { at: number; up: number; idle: number; idleRate: number } | undefined;
  return () => {
    const t = now();
    if (!last || t - last.at >= everyMs || t < last.at) {
      const u = parseUptime(read());
      const idleRate = last && u.up > last.up ? Math.max(0, (u.idle - last.idle) / (u.up - last.up)) : 0;
      last = { at: t, ...u, idleRate };
      return u;
    }
    const dt = (t - last.at) / 1000;
    return { up: last.up + dt, idle: last.idle + dt * last.idleRate };
  };
}

const linux: Omit<Host, "cgroups"> = {
  readFile: (path) => readFileSync(path, "utf8"),
  readBytes: (path) => new Uint8Array(readFileSync(path)),
  writeFile: (path, data) => writeFileSync(path, data),
  stat(path) {
    try {
      const st = lstatSync(path);
      const out: HostStat = { kind: st.isDirectory() ? "dir" : "file", mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isSymbolicLink()) out.symlink = true;
      return out;
    } catch {
      return undefined;
    }
  },
  list: (path) =>
    readdirSync(path, { withFileTypes: true }).map((d) => ({ name: d.name, kind: d.isDirectory() ? "dir" : "file" })),
  uptime: boottimeClock(() => readFileSync("/proc/uptime", "utf8")),
  processStart(pid) {
    const t = processStartTime(pid);
    return t === undefined ? undefined : Number(t.ticks) / CLK_TCK;
  },
};

/**
 * How long a container init's /proc/PID/cgroup is trusted: inits rarely
 * move (systemd into init.scope, once, which the emulated files prune).
 */
export const PROC_CGROUP_TTL_MS = 1000;

/** The machine itself; one layout cache for every container it serves. */
export const linuxHost: Host = { ...linux, cgroups: pidCgroups(cgroupIo(linux), { procTtlMs: PROC_CGROUP_TTL_MS }) };

/** Whether `path` exists on the host. */
export function hostHas(host: Host, path: string): boolean {
  return host.stat(path) !== undefined;
}

/**
 * The host's cgroupfs as `internal/cgroups` reads it: reads and listings
 * only (the emulated files change nothing there), errors as `SysError`.
 */
export function cgroupIo(host: Omit<Host, "cgroups">): CgroupIo {
  const readOnly = (op: string) => (): never => {
    throw new TypeError(`${op}: the host's cgroupfs is read-only to sysbox-fs's emulated files`);
  };
  return {
    readFile: (path) => withSysErrors("read", path, () => host.readFile(path)),
    writeFile: readOnly("writeFile"),
    mkdir: readOnly("mkdir"),
    rmdir: readOnly("rmdir"),
    readdir: (path) => withSysErrors("readdir", path, () => host.list(path).map((e) => ({ name: e.name, isDir: e.kind === "dir" }))),
    exists: (path) => host.stat(path) !== undefined,
    chown: readOnly("chown"),
    kill: readOnly("kill"),
    sleep: readOnly("sleep"),
  };
}

/** The host's cgroup lookups: its own (cached layout), or a fresh one over it. */
export function hostCgroups(host: Host): PidCgroups {
  return host.cgroups ?? pidCgroups(cgroupIo(host));
}
