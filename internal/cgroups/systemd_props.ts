/**
 * The unit properties of a container's transient scope, as runc's systemd
 * drivers send them (libcontainer/cgroups/systemd v1.go, v2.go, common.go):
 * the scope's own settings, then OCI linux.resources in systemd's names, v2
 * names on a unified host and the legacy ones on v1 and hybrid hosts. Pure code.
 *
 * Device rules are not sent: with no DevicePolicy/DeviceAllow systemd leaves
 * the devices controller alone, and the cgroupfs code applies the rules.
 */
import { Variant } from "../dbus/mod.ts";
import { cpuSharesToWeight, memorySwapToV2 } from "./convert.ts";
import type { CgroupMode } from "./layout.ts";
import type { LinuxResources } from "./spec.ts";
import { parseCpuList } from "./parse.ts";

/** One element of StartTransientUnit's a(sv). */
export type UnitProperty = [name: string, value: Variant];

export interface ScopeSpec {
  /** Parent slice, e.g. "system.slice". */
  slice: string;
  /** e.g. "docker-<id>.scope"; a name ending in .slice makes a slice instead. */
  unitName: string;
  /** The process to put in the scope (a scope cannot start empty). */
  pid: number;
  resources?: LinuxResources;
  /** Delegate=yes: the container may manage sub-cgroups. Default true. */
  delegate?: boolean;
  /** Default "libcontainer container <unitName>"; runc uses the container id. */
  description?: string;
}

export interface PropertyOptions {
  /** v2 property names on a unified host, legacy names on v1 and hybrid ones. */
  cgroupMode: CgroupMode;
  /** systemd's version (e.g. 252); -1 when unknown, which omits the properties new versions added. */
  systemdVersion: number;
}

/** runc's default when a quota comes without a period (µs), the kernel's too. */
const DEFAULT_CPU_PERIOD = 100_000n;
/** systemd's USEC_INFINITY / "infinity" for every uint64 limit. */
export const UINT64_MAX = (1n << 64n) - 1n;

const u64 = (n: number | bigint): Variant => new Variant("t", BigInt.asUintN(64, BigInt(n)));
const bool = (b: boolean): Variant => new Variant("b", b);

/**
 * A cpuset list ("0-3,8") as systemd's CPU mask: bit N of byte N/8 is CPU
 * (or memory node) N, trailing zero bytes dropped. Throws on an empty set.
 */
export function cpusetMask(list: string): Uint8Array {
  const bits = parseCpuList(list, { strict: true });
  if (bits.length === 0) throw new RangeError(`Empty cpuset ${JSON.stringify(list)}`);
  const mask = new Uint8Array(Math.floor(Math.max(...bits) / 8) + 1);
  for (const i of bits) mask[i >> 3]! |= 1 << (i & 7);
  return mask;
}

/**
 * CPUQuotaPerSecUSec from a CFS quota and period: µs of CPU time per second,
 * rounded up to whole percents (10 ms) because systemd stores a percentage;
 * no quota (0 or -1) with a period set is "infinity".
 */
export function cpuQuotaPerSecUSec(quota: number, period: number): bigint {
  if (quota <= 0) return UINT64_MAX;
  const p = period > 0 ? BigInt(period) : DEFAULT_CPU_PERIOD;
  let perSec = (BigInt(quota) * 1_000_000n) / p;
  if (perSec % 10_000n !== 0n) perSec = (perSec / 10_000n + 1n) * 10_000n;
  return perSec;
}

function cpuQuota(out: UnitProperty[], quota: number, period: number, version: number): void {
  if (period !== 0 && version >= 242) out.push(["CPUQuotaPeriodUSec", u64(period)]);
  if (quota !== 0 || period !== 0) out.push(["CPUQuotaPerSecUSec", new Variant("t", cpuQuotaPerSecUSec(quota, period))]);
}

function cpuset(out: UnitProperty[], cpus: string | undefined, mems: string | undefined, version: number): void {
  if (version < 244) return; // AllowedCPUs/AllowedMemoryNodes came in systemd 244; cgroupfs still gets them
  if (cpus) out.push(["AllowedCPUs", new Variant("ay", cpusetMask(cpus))]);
  if (mems) out.push(["AllowedMemoryNodes", new Variant("ay", cpusetMask(mems))]);
}

function pidsLimit(out: UnitProperty[], limit: number | undefined): void {
  if (limit !== undefined && (limit > 0 || limit === -1)) out.push(["TasksMax", u64(limit)]);
}

const UNIFIED_MEMORY: Record<string, string> = {
  "memory.high": "MemoryHigh", "memory.low": "MemoryLow", "memory.min": "MemoryMin",
  "memory.max": "MemoryMax", "memory.swap.max": "MemorySwapMax",
};

function parseU64(key: string, v: string): bigint {
  if (v === "max") return UINT64_MAX;
  if (!/^\d+$/.test(v)) throw new RangeError(`linux.resources.unified[${JSON.stringify(key)}]: invalid value ${JSON.stringify(v)}`);
  return BigInt(v);
}

/** runc's unifiedResToSystemdProps: the raw cgroup2 keys systemd has a property for; others go to cgroupfs only. */
function unifiedProps(out: UnitProperty[], unified: Record<string, string>, version: number): void {
  for (const [key, raw] of Object.entries(unified)) {
    const v = raw.trim();
    if (key === "cpu.max") {
      const [q = "", p] = v.split(/\s+/);
      const quota = q === "max" ? 0 : Number(parseU64(key, q));
      const period = p === undefined ? Number(DEFAULT_CPU_PERIOD) : Number(parseU64(key, p));
      cpuQuota(out, quota, period, version);
    } else if (key === "cpu.weight") {
      out.push(["CPUWeight", new Variant("t", parseU64(key, v))]);
    } else if (key === "cpuset.cpus") {
      cpuset(out, v, undefined, version);
    } else if (key === "cpuset.mems") {
      cpuset(out, undefined, v, version);
    } else if (key in UNIFIED_MEMORY) {
      out.push([UNIFIED_MEMORY[key]!, new Variant("t", parseU64(key, v))]);
    } else if (key === "pids.max") {
      out.push(["TasksMax", new Variant("t", parseU64(key, v))]);
    }
  }
}

/** runc's genV2ResourcesProperties. */
function v2Resources(r: LinuxResources, version: number): UnitProperty[] {
  const out: UnitProperty[] = [];
  const m = r.memory ?? {};
  if (m.limit) out.push(["MemoryMax", u64(m.limit)]);
  if (m.reservation) out.push(["MemoryLow", u64(m.reservation)]);
  const swap = memorySwapToV2(m.swap ?? 0, m.limit ?? 0);
  if (swap !== 0) out.push(["MemorySwapMax", u64(swap)]);
  const shares = r.cpu?.shares ?? 0;
  if (shares !== 0) out.push(["CPUWeight", u64(cpuSharesToWeight(shares))]);
  cpuQuota(out, r.cpu?.quota ?? 0, r.cpu?.period ?? 0, version);
  pidsLimit(out, r.pids?.limit);
  cpuset(out, r.cpu?.cpus, r.cpu?.mems, version);
  if (r.unified) unifiedProps(out, r.unified, version);
  return out;
}

/** runc's genV1ResourcesProperties. */
function v1Resources(r: LinuxResources, version: number): UnitProperty[] {
  const out: UnitProperty[] = [];
  if (r.memory?.limit) out.push(["MemoryLimit", u64(r.memory.limit)]);
  if (r.cpu?.shares) out.push(["CPUShares", u64(r.cpu.shares)]);
  cpuQuota(out, r.cpu?.quota ?? 0, r.cpu?.period ?? 0, version);
  if (r.blockIO?.weight) out.push(["BlockIOWeight", u64(r.blockIO.weight)]);
  pidsLimit(out, r.pids?.limit);
  cpuset(out, r.cpu?.cpus, r.cpu?.mems, version);
  return out;
}

/** The limit properties alone, for SetUnitProperties on a live unit (docker update). */
export function resourceProperties(r: LinuxResources, opts: PropertyOptions): UnitProperty[] {
  return opts.cgroupMode === "v2" ? v2Resources(r, opts.systemdVersion) : v1Resources(r, opts.systemdVersion);
}

/** Every property for StartTransientUnit, in runc's order. */
export function scopeProperties(scope: ScopeSpec, opts: PropertyOptions): UnitProperty[] {
  const v2 = opts.cgroupMode === "v2";
  const isSlice = scope.unitName.endsWith(".slice");
  const props: UnitProperty[] = [["Description", new Variant("s", scope.description ?? `libcontainer container ${scope.unitName}`)]];
  if (isSlice) {
    props.push(["Wants", new Variant("s", scope.slice)]);
  } else {
    props.push(["Slice", new Variant("s", scope.slice)]);
    if (scope.delegate ?? true) props.push(["Delegate", bool(true)]);
  }
  if (scope.pid > 0) props.push(["PIDs", new Variant("au", [scope.pid])]);
  props.push(
    ["MemoryAccounting", bool(true)],
    ["CPUAccounting", bool(true)],
    [v2 ? "IOAccounting" : "BlockIOAccounting", bool(true)],
    ["TasksAccounting", bool(true)],
    ["DefaultDependencies", bool(false)],
  );
  const r = scope.resources ?? {};
  props.push(...(v2 ? v2Resources(r, opts.systemdVersion) : v1Resources(r, opts.systemdVersion)));
  return props;
}
