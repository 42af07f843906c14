/**
 * Which cgroupfs file holds which figure, per cgroup version, written down
 * once for the runtime's stats and sysbox-fs's emulated files.
 */

/** The files of one v1 memory counter: the memory itself, or memsw (memory+swap), kmem, kmem.tcp. */
export function v1MemoryFiles(counter: "" | "memsw" | "kmem" | "kmem.tcp") {
  const m = counter === "" ? "memory" : `memory.${counter}`;
  return {
    usage: `${m}.usage_in_bytes`,
    max: `${m}.max_usage_in_bytes`,
    failcnt: `${m}.failcnt`,
    limit: `${m}.limit_in_bytes`,
  } as const;
}

/** cgroup v2 memory files. Swap is swap alone here, where v1's memsw is memory+swap. */
export const V2_MEMORY = {
  usage: "memory.current",
  limit: "memory.max",
  peak: "memory.peak",
  events: "memory.events",
  swapUsage: "memory.swap.current",
  swapLimit: "memory.swap.max",
} as const;

export const MEMORY_STAT = "memory.stat";

/**
 * memory.stat keys for the figures /proc/meminfo shows, as [v1, v2]. v1's
 * are the hierarchical `total_*` ones; "" where v1 has no such figure.
 */
export const MEMORY_STAT_KEYS = {
  cache: ["total_cache", "file"],
  activeAnon: ["total_active_anon", "active_anon"],
  inactiveAnon: ["total_inactive_anon", "inactive_anon"],
  activeFile: ["total_active_file", "active_file"],
  inactiveFile: ["total_inactive_file", "inactive_file"],
  unevictable: ["total_unevictable", "unevictable"],
  dirty: ["total_dirty", "file_dirty"],
  writeback: ["total_writeback", "file_writeback"],
  anon: ["total_rss", "anon"],
  mapped: ["total_mapped_file", "file_mapped"],
  shmem: ["total_shmem", "shmem"],
  slab: ["", "slab"],
  slabReclaimable: ["", "slab_reclaimable"],
  slabUnreclaimable: ["", "slab_unreclaimable"],
} as const;

export type MemoryStatFigure = keyof typeof MEMORY_STAT_KEYS;

/** The v1 blkio counters that come in families; undefined where a family lacks the file. */
export type BlkioFile = "serviced" | "merged" | "bytes" | "waitTime" | "serviceTime";

function blkioFamily(prefix: string, files: readonly BlkioFile[]): Record<BlkioFile, string | undefined> {
  const name: Record<BlkioFile, string> = {
    serviced: "io_serviced_recursive",
    merged: "io_merged_recursive",
    bytes: "io_service_bytes_recursive",
    waitTime: "io_wait_time_recursive",
    serviceTime: "io_service_time_recursive",
  };
  const out = { serviced: undefined, merged: undefined, bytes: undefined, waitTime: undefined, serviceTime: undefined } as Record<BlkioFile, string | undefined>;
  for (const f of files) out[f] = `${prefix}${name[f]}`;
  return out;
}

/**
 * The v1 blkio families in order of preference (as runc): the CFQ-era
 * `blkio.*`, then BFQ's `blkio.bfq.*`, then the throttle layer's, which
 * counts only ios and bytes. Recent kernels count a device's I/O per cgroup
 * only under BFQ or once it has a throttle rule.
 */
export const BLKIO_FAMILIES: ReadonlyArray<Readonly<Record<BlkioFile, string | undefined>>> = [
  blkioFamily("blkio.", ["serviced", "merged", "bytes", "waitTime", "serviceTime"]),
  blkioFamily("blkio.bfq.", ["serviced", "merged", "bytes", "waitTime", "serviceTime"]),
  blkioFamily("blkio.throttle.", ["serviced", "bytes"]),
];

/** v1 files of the cpu figures; cpuacct.usage_all has a header, then `cpu user system` in ns. */
export const V1_CPU = {
  stat: "cpu.stat",
  quota: "cpu.cfs_quota_us",
  period: "cpu.cfs_period_us",
  acctUsage: "cpuacct.usage",
  acctPercpu: "cpuacct.usage_percpu",
  acctStat: "cpuacct.stat",
  acctAll: "cpuacct.usage_all",
  cpus: "cpuset.cpus",
  effectiveCpus: "cpuset.effective_cpus",
} as const;

/** v2 files of the cpu figures; cpu.max is "quota period" or "max period". */
export const V2_CPU = {
  stat: "cpu.stat",
  max: "cpu.max",
  cpus: "cpuset.cpus",
  effectiveCpus: "cpuset.cpus.effective",
} as const;

/** Thread ids of one cgroup dir. */
export const THREADS = { v1: "tasks", v2: "cgroup.threads" } as const;
