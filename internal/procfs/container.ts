/**
 * What the emulated files know about the container they serve, and the
 * per-container state they keep (sysctl values), which the daemon saves so
 * a restarted sysbox-fs serves the same values.
 */
import type { Logger } from "../log/mod.ts";
import type { Host } from "./host.ts";
import type { PassThrough } from "./passthrough.ts";

export interface ContainerInfo {
  id: string;
  /** The init process, on the host. */
  initPid: number;
  /** When the container started, in seconds since host boot. */
  startBoot: number;
  /** Host ids of the container's uid/gid 0, and the range sizes. */
  uidFirst: number;
  uidSize: number;
  gidFirst: number;
  gidSize: number;
}

export interface ContainerState {
  /**
   * Per-container values of emulated files: sysctls keyed by their path
   * under /proc/sys ("kernel/panic"), other files by their absolute path
   * ("/sys/module/nf_conntrack/parameters/hashsize").
   */
  sysctls: Record<string, string>;
}

/** A container's 1, 5 and 15 minute load averages, kernel fixed point (proc_loadavg.ts). */
export interface LoadAverages {
  avg: [number, number, number];
}


/** Everything a handler module needs; one per container. */
export interface Emulation {
  readonly info: ContainerInfo;
  readonly state: ContainerState;
  /** Called after `state` changed, so it can be saved. */
  changed(): void;
  readonly host: Host;
  readonly passThrough: PassThrough;
  /** The same in a fresh sysfs mounted in the caller's namespaces (its network devices under /sys). */
  readonly sysfsPassThrough: PassThrough;
  /** Load averages the daemon's sampler keeps for this container (proc_loadavg.ts); zeros when absent. */
  readonly load?: LoadAverages;
  /** Generated files kept for a moment (SERVE_AGAIN_MS); without it every read computes afresh. */
  readonly cache?: FileCache;
  readonly log?: Logger;
}

/**
 * How long a container's generated file is served again before it is
 * computed afresh, in ms: never longer than the kernel's own figures lag
 * behind. The kernel folds per-CPU vm counters into /proc/meminfo and
 * memory.stat once a second (vm.stat_interval; v2 memory and io.stat flush
 * at most every 2 s), counts /proc/stat in 10 ms ticks, and cpuinfo follows
 * cpuset and quota writes. uptime and loadavg are computed on every read
 * (loadavg counts the reader itself).
 */
export const SERVE_AGAIN_MS = { meminfo: 100, cpuinfo: 100, stat: 10, diskstats: 100 } as const;

export type CachedFile = keyof typeof SERVE_AGAIN_MS;

/** One container's generated files, each with when it was made. */
export interface FileCache {
  /** `make()`'s result, or the one kept from less than SERVE_AGAIN_MS[file] ago. */
  get(file: CachedFile, make: () => Uint8Array): Uint8Array;
}

const enc = new TextEncoder();

/** A fresh cache; `now` in ms (default performance.now). */
export function newFileCache(now: () => number = () => performance.now()): FileCache {
  const kept = new Map<CachedFile, { at: number; bytes: Uint8Array }>();
  return {
    get(file, make) {
      const t = now();
      const k = kept.get(file);
      if (k && t - k.at < SERVE_AGAIN_MS[file]) return k.bytes;
      const bytes = make();
      kept.set(file, { at: t, bytes });
      return bytes;
    },
  };
}

/** The file's content from the container's cache when it has one, else made now. */
export function cachedText(em: Emulation, file: CachedFile, make: () => string): string | Uint8Array {
  return em.cache ? em.cache.get(file, () => enc.encode(make())) : make();
}

/** Owner of emulated nodes: the container's root. */
export function containerRoot(info: ContainerInfo): { uid: number; gid: number } {
  return { uid: info.uidFirst, gid: info.gidFirst };
}
