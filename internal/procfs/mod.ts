/**
 * The files sysbox-fs emulates for one container, as a tree for
 * internal/fuse's TreeFs. One module per emulated path family, each with a
 * header listing its files and their policy:
 *
 *   proc/uptime                  proc_uptime.ts
 *   proc/swaps                   proc_swaps.ts
 *   proc/meminfo                 proc_meminfo.ts   (from the container's memory cgroup)
 *   proc/cpuinfo                 proc_cpuinfo.ts   (its cpuset and CPU quota)
 *   proc/stat                    proc_stat.ts      (its CPUs and CPU time)
 *   proc/loadavg                 proc_loadavg.ts   (its tasks; averages sampled by the daemon)
 *   proc/diskstats               proc_diskstats.ts (its I/O counters)
 *   proc/sys/...                 proc_sys.ts (+ proc_sys_{kernel,vm,fs,net}.ts tables)
 *   sys/kernel                   sys_kernel.ts
 *   sys/devices/virtual          sys_devices_virtual.ts (+ sys_dmi.ts for dmi/id)
 *   sys/module/nf_conntrack/parameters   sys_module_nf_conntrack.ts
 *
 * BINDS says where sysbox-runc mounts each part inside the container.
 */
import { dir, type DirSpec } from "../fuse/mod.ts";
import type { Emulation } from "./container.ts";
import { procCpuinfo } from "./proc_cpuinfo.ts";
import { procDiskstats } from "./proc_diskstats.ts";
import { procLoadavg } from "./proc_loadavg.ts";
import { procMeminfo } from "./proc_meminfo.ts";
import { procStat } from "./proc_stat.ts";
import { procSwaps } from "./proc_swaps.ts";
import { procSysTree } from "./proc_sys.ts";
import { procUptime } from "./proc_uptime.ts";
import { sysDevicesVirtual } from "./sys_devices_virtual.ts";
import { sysKernel } from "./sys_kernel.ts";
import { sysModule } from "./sys_module_nf_conntrack.ts";

export * from "./container.ts";
export * from "./host.ts";
export * from "./passthrough.ts";
export * from "./sysctl.ts";
export { SYSCTLS, isNamespaced, presentSysctls, procSysTree } from "./proc_sys.ts";
export { uptimeText } from "./proc_uptime.ts";
export { SWAPS_HEADER, swapsText } from "./proc_swaps.ts";
export { meminfoText, memoryFigures, parseMeminfo, type MemoryFigures } from "./proc_meminfo.ts";
export { cpuinfoText } from "./proc_cpuinfo.ts";
export { statText } from "./proc_stat.ts";
export { productUuid } from "./sys_dmi.ts";
export { LOAD_INTERVAL_MS, loadavgText, newLoadAverages, sampleLoad, updateLoad } from "./proc_loadavg.ts";
export { diskstatsText } from "./proc_diskstats.ts";
export { SI_LOAD_SHIFT, sysinfoFigures, type SysinfoFigures, type SysinfoSource } from "./sysinfo.ts";
export { HASHSIZE_MAX, parseHashsize } from "./sys_module_nf_conntrack.ts";

/**
 * Bind mounts sysbox-runc makes, in this order: `source` relative to the
 * container's FUSE mount, `destination` inside the container. Files over
 * files, directories over directories; a destination missing in the
 * container, or a source missing in the mount (nf_conntrack not loaded on
 * the host), is skipped by the runtime.
 */
export const BINDS: ReadonlyArray<{ source: string; destination: string }> = [
  { source: "proc/uptime", destination: "/proc/uptime" },
  { source: "proc/swaps", destination: "/proc/swaps" },
  { source: "proc/meminfo", destination: "/proc/meminfo" },
  { source: "proc/cpuinfo", destination: "/proc/cpuinfo" },
  { source: "proc/stat", destination: "/proc/stat" },
  { source: "proc/loadavg", destination: "/proc/loadavg" },
  { source: "proc/diskstats", destination: "/proc/diskstats" },
  { source: "proc/sys", destination: "/proc/sys" },
  { source: "sys/kernel", destination: "/sys/kernel" },
  { source: "sys/devices/virtual", destination: "/sys/devices/virtual" },
  { source: "sys/module/nf_conntrack/parameters", destination: "/sys/module/nf_conntrack/parameters" },
];

/** The root of one container's FUSE mount. */
export function containerTree(em: Emulation): DirSpec {
  return dir(
    {
      proc: dir(
        {
          uptime: procUptime(em),
          swaps: procSwaps(em),
          meminfo: procMeminfo(em),
          cpuinfo: procCpuinfo(em),
          stat: procStat(em),
          loadavg: procLoadavg(em),
          diskstats: procDiskstats(em),
          sys: procSysTree(em),
        },
        { mode: 0o555 },
      ),
      sys: dir(
        { kernel: sysKernel(em), devices: dir({ virtual: sysDevicesVirtual(em) }, { mode: 0o755 }), module: sysModule(em) },
        { mode: 0o555 },
      ),
    },
    { mode: 0o555 },
  );
}
