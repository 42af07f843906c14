/**
 * What a container's cgroups allow and account, read from its init pid the
 * LXCFS way, for sysbox-fs's emulated /proc files: memory, CPUs and CPU
 * quota, CPU time, I/O per device, threads. Limits are the tightest along
 * the path up to the hierarchy's root, so a limit on the container's cgroup
 * still counts when the init sits in a child (syscont-cgroup-root on v1,
 * init.scope on v2). A file that cannot be read counts as absent: the
 * emulated file then falls back to the host's figures instead of failing.
 */
import { readOptional } from "./_io.ts";
import { BLKIO_FAMILIES, MEMORY_STAT, MEMORY_STAT_KEYS, THREADS, V1_CPU, V2_CPU, V2_MEMORY, v1MemoryFiles, type BlkioFile, type MemoryStatFigure } from "./files.ts";
import { containerCgroupDir, controllerDirs, type PidCgroups } from "./of_pid.ts";
import { byDevice, parseBlkio, parseCpuList, parseIds, parseIoStat, parseKeyed, parseLimit, parseUint, parseUsageAll } from "./parse.ts";

function read(cg: PidCgroups, dir: string, file: string): string | undefined {
  try {
    return readOptional(cg.io, `${dir}/${file}`);
  } catch {
    return undefined;
  }
}

/** The smallest limit in `file` along dirs (leaf to root), or undefined when none is set. */
function minLimit(cg: PidCgroups, dirs: readonly string[], file: string): number | undefined {
  let min: number | undefined;
  for (const d of dirs) {
    const v = parseLimit(read(cg, d, file));
    if (v !== undefined && (min === undefined || v < min)) min = v;
  }
  return min;
}

/** A container's memory cgroup, in bytes. */
export interface PidMemory {
  v2: boolean;
  usage: number;
  /** The tightest limit up the path; undefined when there is none. */
  limit: number | undefined;
  /** memory.stat of the init's cgroup, per figure (0 where the version has none). */
  stat: Record<MemoryStatFigure, number>;
  /** v2 swap alone (memory.swap.*); absent without swap accounting. */
  swap?: { limit: number | undefined; usage: number };
  /** v1 memory+swap (memory.memsw.*); absent without swap accounting. */
  memsw?: { limit: number | undefined; usage: number };
}

/** The memory cgroup of `pid`, or undefined when it has none (or no usage file). */
export function memoryOfPid(cg: PidCgroups, pid: number): PidMemory | undefined {
  const c = controllerDirs(cg, pid, "memory");
  if (!c) return undefined;
  const leaf = c.dirs[0]!;
  const mem = c.v2 ? V2_MEMORY : v1MemoryFiles("");
  const usage = read(cg, leaf, mem.usage);
  if (usage === undefined) return undefined;
  const raw = parseKeyed(read(cg, leaf, MEMORY_STAT));
  const stat = Object.fromEntries(
    Object.entries(MEMORY_STAT_KEYS).map(([k, [v1, v2]]) => [k, raw[c.v2 ? v2 : v1] ?? 0]),
  ) as PidMemory["stat"];
  const out: PidMemory = { v2: c.v2, usage: parseUint(usage), limit: minLimit(cg, c.dirs, mem.limit), stat };
  if (c.v2) {
    const cur = read(cg, leaf, V2_MEMORY.swapUsage);
    if (cur !== undefined) out.swap = { limit: minLimit(cg, c.dirs, V2_MEMORY.swapLimit), usage: parseUint(cur) };
  } else {
    const memsw = v1MemoryFiles("memsw");
    const cur = read(cg, leaf, memsw.usage);
    if (cur !== undefined) out.memsw = { limit: minLimit(cg, c.dirs, memsw.limit), usage: parseUint(cur) };
  }
  return out;
}

/**
 * The CPUs the container may use, of `hostCpus`: its cpuset (the nearest
 * non-empty one up the path), then no more than ceil(quota/period) of them.
 */
export function cpusOfPid(cg: PidCgroups, pid: number, hostCpus: readonly number[]): number[] {
  let cpus = [...hostCpus];
  const cs = controllerDirs(cg, pid, "cpuset");
  if (cs) {
    const files = cs.v2 ? V2_CPU : V1_CPU;
    for (const d of cs.dirs) {
      const list = parseCpuList(read(cg, d, files.effectiveCpus) ?? read(cg, d, files.cpus));
      if (list.length) {
        cpus = list.filter((c) => hostCpus.includes(c));
        break;
      }
    }
  }
  const quota = cpuQuotaOfPid(cg, pid);
  if (quota !== undefined) cpus = cpus.slice(0, Math.max(1, Math.ceil(quota)));
  return cpus;
}

/** The tightest CFS quota along the path, in CPUs (quota/period), or undefined when unlimited. */
export function cpuQuotaOfPid(cg: PidCgroups, pid: number): number | undefined {
  const cpu = controllerDirs(cg, pid, "cpu");
  if (!cpu) return undefined;
  let min: number | undefined;
  for (const d of cpu.dirs) {
    let q: number | undefined;
    if (cpu.v2) {
      const [quota, period] = (read(cg, d, V2_CPU.max) ?? "").trim().split(/\s+/);
      if (quota && quota !== "max" && period) q = Number(quota) / Number(period);
    } else {
      const quota = Number((read(cg, d, V1_CPU.quota) ?? "-1").trim());
      const period = Number((read(cg, d, V1_CPU.period) ?? "0").trim());
      if (quota > 0 && period > 0) q = quota / period;
    }
    if (q !== undefined && Number.isFinite(q) && q > 0 && (min === undefined || q < min)) min = q;
  }
  return min;
}

/** CPU time the container used: per CPU in ns (v1 cpuacct.usage_all), or totals in µs (v2 cpu.stat). */
export type PidCpuTime =
  | { perCpuNs: Map<number, { user: number; system: number }> }
  | { totalUsec: { user: number; system: number } };

/** The CPU time of `pid`'s cgroup, or undefined when the cgroup does not say. */
export function cpuTimeOfPid(cg: PidCgroups, pid: number): PidCpuTime | undefined {
  const acct = controllerDirs(cg, pid, "cpuacct");
  if (acct && !acct.v2) {
    const all = read(cg, acct.dirs[0]!, V1_CPU.acctAll);
    if (!all) return undefined;
    const perCpuNs = new Map<number, { user: number; system: number }>();
    for (const c of parseUsageAll(all)) if (Number.isFinite(c.cpu)) perCpuNs.set(c.cpu, { user: c.user, system: c.system });
    return { perCpuNs };
  }
  const cpu = controllerDirs(cg, pid, "cpu") ?? controllerDirs(cg, pid, "");
  if (cpu?.v2) {
    const st = parseKeyed(read(cg, cpu.dirs[0]!, V2_CPU.stat));
    const user = st["user_usec"];
    const system = st["system_usec"];
    if (user === undefined || system === undefined) return undefined;
    return { totalUsec: { user, system } };
  }
  return undefined;
}

/** Per-device counters ("major:minor" → key → value) of one v1 blkio family, by file. */
export type BlkioFamilyCounters = Record<BlkioFile, Map<string, Map<string, number>>>;

/** I/O counters of the container's own cgroup: v2 io.stat, or each v1 blkio family present, in order of preference. */
export type PidIo =
  | { v2: true; ioStat: Map<string, Map<string, number>> }
  | { v2: false; families: BlkioFamilyCounters[] };

/** Parses the texts of one blkio family (a file absent reads as empty). */
export function blkioFamilyCounters(texts: Partial<Record<BlkioFile, string | undefined>>): BlkioFamilyCounters {
  const of = (f: BlkioFile) => byDevice(parseBlkio(texts[f]));
  return { serviced: of("serviced"), merged: of("merged"), bytes: of("bytes"), waitTime: of("waitTime"), serviceTime: of("serviceTime") };
}

/**
 * The I/O counters of the container whose init is `pid` (its own cgroup,
 * init.scope pruned), or undefined when it has none of its own or the
 * cgroup accounts no I/O (no io.stat, no blkio family).
 */
export function ioOfPid(cg: PidCgroups, pid: number): PidIo | undefined {
  for (const controller of ["blkio", ""]) {
    const c = containerCgroupDir(cg, pid, controller);
    if (!c) continue;
    if (c.v2) {
      const st = read(cg, c.dir, "io.stat");
      return st === undefined ? undefined : { v2: true, ioStat: byDevice(parseIoStat(st)) };
    }
    const families: BlkioFamilyCounters[] = [];
    for (const names of BLKIO_FAMILIES) {
      const texts: Partial<Record<BlkioFile, string | undefined>> = {};
      for (const [f, name] of Object.entries(names) as [BlkioFile, string | undefined][]) {
        if (name !== undefined) texts[f] = read(cg, c.dir, name);
      }
      if (texts.serviced !== undefined) families.push(blkioFamilyCounters(texts));
    }
    return families.length === 0 ? undefined : { v2: false, families };
  }
  return undefined;
}

/** Walk no more cgroup dirs than this per container. */
export const MAX_THREAD_DIRS = 2000;

/**
 * Thread ids in the container's own cgroup and every dir below it (v1
 * `tasks`, v2 `cgroup.threads`; at most MAX_THREAD_DIRS dirs), or undefined
 * when it has no cgroup of its own.
 */
export function threadsOfPid(cg: PidCgroups, pid: number): number[] | undefined {
  let c: { v2: boolean; dir: string } | undefined;
  for (const controller of ["pids", "cpu", ""]) {
    c = containerCgroupDir(cg, pid, controller);
    if (c) break;
  }
  if (!c) return undefined;
  const list = c.v2 ? THREADS.v2 : THREADS.v1;
  const out: number[] = [];
  const queue = [c.dir];
  for (let seen = 0; queue.length && seen < MAX_THREAD_DIRS; seen++) {
    const d = queue.shift()!;
    out.push(...parseIds(read(cg, d, list)));
    let entries;
    try {
      entries = cg.io.readdir(d);
    } catch {
      continue;
    }
    for (const e of entries) if (e.isDir) queue.push(`${d}/${e.name}`);
  }
  return out;
}
