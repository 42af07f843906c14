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
import { file, type FileSpec } from "../fuse/tree.ts";
import { controllerDirs, minLimit, parseKeyed, readCg } from "./cgroup_view.ts";
import { containerRoot, type Emulation } from "./container.ts";
import type { Host } from "./host.ts";

/** memory.stat keys per cgroup version for each figure we need (v1: hierarchical totals). */
const STAT_KEYS = {
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

export interface MemoryFigures {
  limit: number;
  usage: number;
  stat: Record<keyof typeof STAT_KEYS, number>;
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

/** The container's memory figures in bytes, or undefined without a memory cgroup. */
export function memoryFigures(host: Host, pid: number, hostInfo: Map<string, number>): MemoryFigures | undefined {
  const cg = controllerDirs(host, pid, "memory");
  if (!cg) return undefined;
  const leaf = cg.dirs[0]!;
  const usageText = readCg(host, leaf, cg.v2 ? "memory.current" : "memory.usage_in_bytes");
  if (usageText === undefined) return undefined;
  const hostTotal = (hostInfo.get("MemTotal") ?? 0) * 1024;
  const hostSwap = (hostInfo.get("SwapTotal") ?? 0) * 1024;
  const limit = Math.min(minLimit(host, cg.dirs, cg.v2 ? "memory.max" : "memory.limit_in_bytes") ?? hostTotal, hostTotal);
  const usage = Number(usageText.trim()) || 0;
  const raw = parseKeyed(readCg(host, leaf, "memory.stat"));
  const stat = Object.fromEntries(
    Object.entries(STAT_KEYS).map(([k, [v1, v2]]) => [k, raw.get(cg.v2 ? v2 : v1) ?? 0]),
  ) as MemoryFigures["stat"];

  let swapTotal = 0;
  let swapUsed = 0;
  if (cg.v2) {
    const max = minLimit(host, cg.dirs, "memory.swap.max");
    const cur = readCg(host, leaf, "memory.swap.current");
    if (cur !== undefined) {
      swapTotal = Math.min(max ?? hostSwap, hostSwap);
      swapUsed = Number(cur.trim()) || 0;
    }
  } else {
    const memsw = minLimit(host, cg.dirs, "memory.memsw.limit_in_bytes");
    const memswUsage = readCg(host, leaf, "memory.memsw.usage_in_bytes");
    if (memswUsage !== undefined) {
      swapTotal = Math.min(memsw === undefined ? hostSwap : Math.max(0, memsw - limit), hostSwap);
      swapUsed = Math.max(0, (Number(memswUsage.trim()) || 0) - usage);
    }
  }
  return { limit, usage, stat, swapTotal, swapUsed: Math.min(swapUsed, swapTotal) };
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
    () => {
      const hostText = em.host.readFile("/proc/meminfo");
      const figures = memoryFigures(em.host, em.info.initPid, parseMeminfo(hostText));
      const v2 = controllerDirs(em.host, em.info.initPid, "memory")?.v2 ?? false;
      return meminfoText(hostText, figures, v2);
    },
    { ...containerRoot(em.info), mode: 0o444 },
  );
}
