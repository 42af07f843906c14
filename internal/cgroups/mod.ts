/**
 * cgroup management for sysbox-runc: layout detection (v1, hybrid, v2),
 * OCI cgroupsPath handling, and a manager as plain functions over a `Cgroup`
 * data object (create, apply resources, join, freeze, kill, stats, destroy,
 * delegate). Everything is file I/O on cgroupfs through the `CgroupIo` seam,
 * except the systemd driver's transient units, asked of systemd over D-Bus
 * (systemd.ts); functions that wait (freezer, kill, destroy) are async, the rest synchronous.
 */
export { realIo, type CgroupIo, type DirEntry, type IoOptions } from "./_io.ts";
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
export {
  eventsJson,
  eventsStats,
  stats,
  type BlkioEntry,
  type CgroupStats,
  type MemoryEntry,
  type StatsEvent,
} from "./stats.ts";
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
