/**
 * OCI `linux.resources` (runtime-spec config-linux.md) as far as cgroups use
 * it, and the warning type for settings the manager skips.
 */

export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  /** Memory plus swap, as in cgroup v1; -1 is unlimited. */
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface LinuxPids {
  limit?: number;
}

export interface LinuxWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  /** e.g. "2MB", "1GB": the infix of the kernel's file names. */
  pageSize: string;
  limit: number;
}

export interface LinuxDeviceCgroup {
  allow: boolean;
  /** "a" (all), "c" or "b"; absent means all. */
  type?: string;
  /** Absent or -1 means any. */
  major?: number | null;
  minor?: number | null;
  access?: string;
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: { classID?: number; priorities?: { name: string; priority: number }[] };
  rdma?: Record<string, { hcaHandles?: number; hcaObjects?: number }>;
  /** cgroup2 file name → value, written verbatim (v2 only). */
  unified?: Record<string, string>;
}

export interface ApplyResult {
  /** Settings skipped, as "<OCI field>: <why>", e.g. "memory.kernel: kernel memory limits are deprecated and ignored". */
  warnings: string[];
}
