/**
 * /proc/meminfo, emulated from the container's memory cgroup (LXCFS
 * semantics), read-only. Every line is the host's except:
 *
 *   MemTotal        the tightest memory limit up the cgroup path, capped at the host's
 *   MemFree         MemTotal - usage
 *   MemAvailable    MemFree + reclaimable file pages and slab, capped at MemTotal
 *   Buffers, SwapCached   0
 *   Cached, Active/Inactive (anon/file), Unevictable, Dirty, Writeback,
 *   AnonPages, Mapped, Shmem, Slab, SReclaimable, SUnreclaim   from memory.stat
 *   SwapTotal/SwapFree    the cgroup's swap limit (v2 memory.swap.max, v1
 *                   memsw minus mem) capped at the host's, minus its swap use
 *
 * Without a memory cgroup for the container's init, the host's file as is.
 */
import { memoryOfPid, type MemoryStatFigure, type PidMemory } from "../cgroups/mod.ts";
import { file, type FileSpec } from "../fuse/mod.ts";
import { cachedText, containerRoot, type Emulation } from "./container.ts";
import { hostCgroups } from "./host.ts";

export interface MemoryFigures {
  limit: number;
  usage: number;
  stat: Record<MemoryStatFigure, number>;
  swapTotal: number;
  swapUsed: number;
}

/** "Key:   123 kB" lines of a meminfo file, in kB. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([^:]+):\s+(\d+)/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** The container's memory figures in bytes, its cgroup's capped at the host's; undefined without a memory cgroup. */
export function memoryFigures(mem: PidMemory | undefined, hostInfo: Map<string, number>): MemoryFigures | undefined {
  if (!mem) return undefined;
  const hostTotal = (hostInfo.get("MemTotal") ?? 0) * 1024;
  const hostSwap = (hostInfo.get("SwapTotal") ?? 0) * 1024;
  const limit = Math.min(mem.limit ?? hostTotal, hostTotal);
  let swapTotal = 0;
  let swapUsed = 0;
  if (mem.swap) {
    swapTotal = Math.min(mem.swap.limit ?? hostSwap, hostSwap);
    swapUsed = mem.swap.usage;
  } else if (mem.memsw) {
    // v1 counts memory+swap: the swap share is what exceeds the memory figures.
    swapTotal = Math.min(mem.memsw.limit === undefined ? hostSwap : Math.max(0, mem.memsw.limit - limit), hostSwap);
    swapUsed = Math.max(0, mem.memsw.usage - mem.usage);
  }
  return { limit, usage: mem.usage, stat: mem.stat, swapTotal, swapUsed: Math.min(swapUsed, swapTotal) };
}

/** The container's meminfo text: the host's lines with our figures substituted. */
export function meminfoText(hostText: string, f: MemoryFigures | undefined, v2Slab = true): string {
  if (!f) return hostText;
  const kb = (b: number) => Math.max(0, Math.floor(b / 1024));
  const s = f.stat;
  const free = Math.max(0, f.limit - f.usage);
  const values: Record<string, number> = {
    MemTotal: kb(f.limit),
    MemFree: kb(free),
    MemAvailable: Math.min(kb(f.limit), kb(free + s.activeFile + s.inactiveFile + s.slabReclaimable)),
    Buffers: 0,
    Cached: kb(s.cache),
    SwapCached: 0,
    Active: kb(s.activeAnon + s.activeFile),
    Inactive: kb(s.inactiveAnon + s.inactiveFile),
    "Active(anon)": kb(s.activeAnon),
    "Inactive(anon)": kb(s.inactiveAnon),
    "Active(file)": kb(s.activeFile),
    "Inactive(file)": kb(s.inactiveFile),
    Unevictable: kb(s.unevictable),
    SwapTotal: kb(f.swapTotal),
    SwapFree: kb(f.swapTotal - f.swapUsed),
    Dirty: kb(s.dirty),
    Writeback: kb(s.writeback),
    AnonPages: kb(s.anon),
    Mapped: kb(s.mapped),
    Shmem: kb(s.shmem),
    // v1 has no slab figures per cgroup: 0 rather than the host's, which could exceed MemTotal.
    Slab: v2Slab ? kb(s.slab) : 0,
    SReclaimable: v2Slab ? kb(s.slabReclaimable) : 0,
    SUnreclaim: v2Slab ? kb(s.slabUnreclaimable) : 0,
  };
  return hostText
    .split("\n")
    .map((line) => {
      const m = /^([^:]+):(\s+)(\d+)(.*)$/.exec(line);
      if (!m || values[m[1]!] === undefined) return line;
      const label = `${m[1]}:`;
      // Keep the kernel's column: the label padded, the number right-aligned to the same end.
      const width = label.length + m[2]!.length + m[3]!.length;
      return `${label}${String(values[m[1]!]).padStart(width - label.length)}${m[4]}`;
    })
    .join("\n");
}

export function procMeminfo(em: Emulation): FileSpec {
  return file(
    () => cachedText(em, "meminfo", () => {
      const hostText = em.host.readFile("/proc/meminfo");
      const mem = memoryOfPid(hostCgroups(em.host), em.info.initPid);
      return meminfoText(hostText, memoryFigures(mem, parseMeminfo(hostText)), mem?.v2 ?? false);
    }),
    { ...containerRoot(em.info), mode: 0o444 },
  );
}
