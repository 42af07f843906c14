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
 *   proc/sys/...                 proc_sys.ts (+ proc_sys_{kernel,vm,fs,net}.ts tables)
 *   sys/kernel                   sys_kernel.ts
 *   sys/devices/virtual/dmi/id   sys_dmi.ts
 *
 * BINDS says where sysbox-runc mounts each part inside the container.
 */
import { dir, type DirSpec } from "../fuse/tree.ts";
import type { Emulation } from "./container.ts";
import { procCpuinfo } from "./proc_cpuinfo.ts";
import { procMeminfo } from "./proc_meminfo.ts";
import { procStat } from "./proc_stat.ts";
import { procSwaps } from "./proc_swaps.ts";
import { procSysTree } from "./proc_sys.ts";
import { procUptime } from "./proc_uptime.ts";
import { sysDmiId } from "./sys_dmi.ts";
import { sysKernel } from "./sys_kernel.ts";

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
export { containerCpus, controllerDirs, cpuQuota, parseCpuList } from "./cgroup_view.ts";
export { productUuid } from "./sys_dmi.ts";

/**
 * Bind mounts sysbox-runc makes, in this order: `source` relative to the
 * container's FUSE mount, `destination` inside the container. Files over
 * files, directories over directories; a destination missing in the
 * container (no DMI on the host) is skipped by the runtime.
 */
export const BINDS: ReadonlyArray<{ source: string; destination: string }> = [
  { source: "proc/uptime", destination: "/proc/uptime" },
  { source: "proc/swaps", destination: "/proc/swaps" },
  { source: "proc/meminfo", destination: "/proc/meminfo" },
  { source: "proc/cpuinfo", destination: "/proc/cpuinfo" },
  { source: "proc/stat", destination: "/proc/stat" },
  { source: "proc/sys", destination: "/proc/sys" },
  { source: "sys/kernel", destination: "/sys/kernel" },
  { source: "sys/devices/virtual/dmi/id", destination: "/sys/devices/virtual/dmi/id" },
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
          sys: procSysTree(em),
        },
        { mode: 0o555 },
      ),
      sys: dir({ kernel: sysKernel(em), devices: dir({ virtual: dir({ dmi: dir({ id: sysDmiId(em) }) }) }) }, { mode: 0o555 }),
    },
    { mode: 0o555 },
  );
}
