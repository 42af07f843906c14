/**
 * /proc/swaps, emulated, read-only (EACCES at open for writing).
 *
 * The header, and when the container's memory cgroup accounts swap and
 * grants some, one synthesized line for it (as LXCFS does):
 *
 *   Filename				Type		Size		Used		Priority
 *   none                                    virtual		<kB>	<kB used>	0
 *
 * Otherwise the header only: no swap visible, as in Sysbox.
 */
import { memoryOfPid } from "../cgroups/mod.ts";
import { file, type FileSpec } from "../fuse/mod.ts";
import { containerRoot, type Emulation } from "./container.ts";
import { hostCgroups } from "./host.ts";
import { memoryFigures, parseMeminfo } from "./proc_meminfo.ts";

/** The kernel's header line (mm/swapfile.c swap_show). */
export const SWAPS_HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

export function swapsText(swapTotal: number, swapUsed: number): string {
  if (swapTotal <= 0) return SWAPS_HEADER;
  return `${SWAPS_HEADER}${"none".padEnd(40)}virtual\t\t${Math.floor(swapTotal / 1024)}\t${Math.floor(swapUsed / 1024)}\t0\n`;
}

export function procSwaps(em: Emulation): FileSpec {
  return file(
    () => {
      let hostInfo: Map<string, number>;
      try {
        hostInfo = parseMeminfo(em.host.readFile("/proc/meminfo"));
      } catch {
        return SWAPS_HEADER;
      }
      const f = memoryFigures(memoryOfPid(hostCgroups(em.host), em.info.initPid), hostInfo);
      return f ? swapsText(f.swapTotal, f.swapUsed) : SWAPS_HEADER;
    },
    { ...containerRoot(em.info), mode: 0o444 },
  );
}
