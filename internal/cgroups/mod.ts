/**
 * cgroup management for sysbox-runc: layout detection (v1, hybrid, v2),
 * OCI cgroupsPath handling, and a manager as plain functions over a `Cgroup`
 * data object (create, apply resources, join, freeze, kill, stats, destroy,
 * delegate). For sysbox-fs: a process's cgroups found from /proc/PID/cgroup
 * (of_pid.ts) and what they allow and account (of_pid_figures.ts). The
 * parsers of cgroupfs files (parse.ts) and their names (files.ts) serve both.
 * Everything is file I/O on cgroupfs through the `CgroupIo` seam, except the
 * systemd driver's transient units, asked of systemd over D-Bus (systemd.ts);
 * functions that wait (freezer, kill, destroy) are async, the rest synchronous.
 */
export { realIo, withSysErrors, type CgroupIo, type DirEntry, type IoOptions } from "./_io.ts";
export {
  parseMountinfo,
  parseProcCgroup,
  procCgroupPaths,
  unescapeMountPath,
  type MountInfoEntry,
  type ProcCgroupEntry,
} from "./mountinfo.ts";
export {
  DEFAULT_CGROUP_ROOT,
  detectLayout,
  layoutFromMountinfo,
  v1Hierarchies,
  type CgroupLayout,
  type CgroupMode,
  type DetectOptions,
  type V1Mount,
  type V2Mount,
} from "./layout.ts";
export {
  DEFAULT_CGROUP_PARENT,
  DEFAULT_SYSTEMD_PREFIX,
  UNIFIED,
  cgroupfsPath,
  cleanPath,
  expandSlice,
  parseCgroupsPath,
  resolvePaths,
  systemdCgroupPath,
  systemdUnitName,
  type CgroupsPathSpec,
  type ResolveOptions,
} from "./path.ts";
export {
  addProcess,
  cgroupDirs,
  cgroupExists,
  controllerDir,
  createCgroup,
  destroyCgroup,
  listPids,
  openCgroup,
  type Cgroup,
  type CreateOptions,
} from "./cgroup.ts";
export type * from "./spec.ts";
export { applyResources } from "./resources.ts";
export { blkioWeightToIoWeight, cpuSharesToWeight, memorySwapToV2 } from "./convert.ts";
export { deviceRuleLine, v1DeviceWrites, V2_DEVICES_WARNING, type DeviceWrite } from "./devices.ts";
export { freeze, state, thaw, type CgroupState, type FreezerState } from "./freezer.ts";
export { killAll, type KillResult } from "./kill.ts";
export { oomEvents, oomKillCount, parseOomKill, type OomEvent } from "./oom.ts";
export {
  blkioFromIoStat,
  eventsJson,
  eventsStats,
  stats,
  type CgroupStats,
  type MemoryEntry,
  type StatsEvent,
} from "./stats.ts";
export {
  byDevice,
  parseBlkio,
  parseCpuList,
  parseIoStat,
  parseKeyed,
  parseLimit,
  parseUint,
  parseUsageAll,
  UINT64_MAX,
  type BlkioEntry,
} from "./parse.ts";
export { BLKIO_FAMILIES, MEMORY_STAT_KEYS, type BlkioFile, type MemoryStatFigure } from "./files.ts";
export {
  containerCgroupDir,
  controllerDirs,
  pathInMount,
  pidCgroups,
  type ControllerDirs,
  type PidCgroups,
  type PidCgroupsOptions,
} from "./of_pid.ts";
export {
  blkioFamilyCounters,
  cpuQuotaOfPid,
  cpusOfPid,
  cpuTimeOfPid,
  ioOfPid,
  MAX_THREAD_DIRS,
  memoryOfPid,
  threadsOfPid,
  type BlkioFamilyCounters,
  type PidCpuTime,
  type PidIo,
  type PidMemory,
} from "./of_pid_figures.ts";
export { delegateV1, delegateV2, V2_DELEGATE_FILES, type DelegateV2Options, type Owner } from "./delegate.ts";
export { cpuQuotaPerSecUSec, cpusetMask, resourceProperties, scopeProperties, type PropertyOptions, type ScopeSpec, type UnitProperty } from "./systemd_props.ts";
export {
  connectSystemd,
  defaultAddresses,
  resetFailedUnit,
  setUnitResources,
  startTransientScope,
  stopUnit,
  SystemdBus,
  SystemdJobError,
  SystemdUnavailableError,
  SYSTEMD_PRIVATE_SOCKET,
  SYSTEM_BUS_SOCKET,
  type ScopeOptions,
  type SystemdAddress,
  type SystemdConnectOptions,
  type TransientScope,
} from "./systemd.ts";
