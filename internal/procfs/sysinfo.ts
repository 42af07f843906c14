/**
 * The figures sysinfo(2) returns, for one container, from the same sources
 * as its /proc files (so `free` and `cat /proc/meminfo` agree):
 *
 *   uptime                 seconds since the container started (proc_uptime.ts)
 *   loads[3]               the container's averages (proc_loadavg.ts), in
 *                          sysinfo's fixed point (SI_LOAD_SHIFT 16)
 *   totalram, freeram      MemTotal, MemFree of its meminfo (proc_meminfo.ts)
 *   sharedram              Shmem; bufferram 0 (Buffers)
 *   totalswap, freeswap    SwapTotal, SwapFree
 *   procs                  the container's threads (the kernel counts threads too)
 *
 * Without a memory cgroup the memory figures are the host's, as meminfo's.
 * Bytes; struct layout and mem_unit are internal/intercept's (sysinfo.ts).
 */
import { memoryOfPid } from "../cgroups/mod.ts";
import type { LoadAverages } from "./container.ts";
import { hostCgroups, type Host } from "./host.ts";
import { FSHIFT, containerTasks } from "./proc_loadavg.ts";
import { memoryFigures, parseMeminfo } from "./proc_meminfo.ts";

export interface SysinfoFigures {
  uptime: number;
  /** 1, 5 and 15 minute loads, shifted by SI_LOAD_SHIFT (16). */
  loads: readonly [number, number, number];
  totalram: number;
  freeram: number;
  sharedram: number;
  bufferram: number;
  totalswap: number;
  freeswap: number;
  procs: number;
}

/** sysinfo's loads are fixed point with 16 fraction bits, /proc/loadavg's with FSHIFT (11). */
export const SI_LOAD_SHIFT = 16;

export interface SysinfoSource {
  initPid: number;
  /** Container start, seconds since host boot. */
  startBoot: number;
  load?: LoadAverages;
}

export function sysinfoFigures(host: Host, c: SysinfoSource): SysinfoFigures {
  const hostText = host.readFile("/proc/meminfo");
  const hostInfo = parseMeminfo(hostText);
  const mem = memoryOfPid(hostCgroups(host), c.initPid);
  const f = memoryFigures(mem, hostInfo);
  const kb = (k: string) => (hostInfo.get(k) ?? 0) * 1024;
  const memory = f
    ? {
        totalram: f.limit, freeram: Math.max(0, f.limit - f.usage), sharedram: f.stat.shmem, bufferram: 0,
        totalswap: f.swapTotal, freeswap: Math.max(0, f.swapTotal - f.swapUsed),
      }
    : {
        totalram: kb("MemTotal"), freeram: kb("MemFree"), sharedram: kb("Shmem"), bufferram: kb("Buffers"),
        totalswap: kb("SwapTotal"), freeswap: kb("SwapFree"),
      };
  const avg = c.load?.avg ?? [0, 0, 0];
  const shift = (x: number) => x * 2 ** (SI_LOAD_SHIFT - FSHIFT);
  const tasks = containerTasks(host, c.initPid);
  return {
    uptime: Math.max(0, Math.floor(host.uptime().up - c.startBoot)),
    loads: [shift(avg[0]), shift(avg[1]), shift(avg[2])],
    ...memory,
    procs: Math.min(0xffff, tasks?.length ?? 1),
  };
}
