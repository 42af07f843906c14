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
  readonly log?: Logger;
}

/** Owner of emulated nodes: the container's root. */
export function containerRoot(info: ContainerInfo): { uid: number; gid: number } {
  return { uid: info.uidFirst, gid: info.gidFirst };
}
