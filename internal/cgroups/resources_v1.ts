/**
 * cgroup v1 writer: one directory per controller, legacy file names. Order of
 * controllers and of writes within one follows runc's fs driver, which has
 * learnt where the kernel is picky (memory vs memsw, cfs period vs quota).
 */
import type { IoOptions } from "./_io.ts";
import { controllerDir, type Cgroup } from "./cgroup.ts";
import { v1DeviceWrites } from "./devices.ts";
import { applyContext, hasKnob, isCode, readKnob, warn, writeKnob, type ApplyContext } from "./_knob.ts";
import { UNIFIED } from "./path.ts";
import type { LinuxResources } from "./spec.ts";

type Setter = (ctx: ApplyContext, dir: string | undefined, r: LinuxResources) => void;

/** [controller, setter] in runc's subsystem order. */
const V1_SETTERS: [string, Setter][] = [
  ["cpuset", setCpuset],
  ["devices", setDevices],
  ["memory", setMemory],
  ["cpu", setCpu],
  ["pids", setPids],
  ["blkio", setBlkio],
  ["hugetlb", setHugetlb],
  ["net_cls", setNetCls],
  ["net_prio", setNetPrio],
];

export function applyV1(cg: Cgroup, r: LinuxResources, warnings: string[], opts: IoOptions): void {
  if (r.unified !== undefined && Object.keys(r.unified).length > 0) {
    throw new Error(`linux.resources.unified needs cgroup v2, but this host runs cgroup ${cg.layout.mode}`);
  }
  const ctx = applyContext(cg, warnings, opts);
  for (const [controller, set] of V1_SETTERS) set(ctx, controllerDir(cg, controller, opts), r);
  if (r.rdma !== undefined && Object.keys(r.rdma).length > 0) {
    warn(ctx, "rdma", "rdma limits are not supported yet; skipped");
  }
}

function missing(ctx: ApplyContext, resource: string, controller: string): void {
  warn(ctx, resource, `the ${controller} cgroup controller is not mounted; skipped`);
}

function setCpuset(ctx: ApplyContext, dir: string | undefined, r: LinuxResources): void {
  const { cpus, mems } = r.cpu ?? {};
  if (!cpus && !mems) return;
  if (dir === undefined) return missing(ctx, "cpu.cpus", "cpuset");
  if (cpus) writeKnob(ctx, dir, "cpuset.cpus", cpus);
  if (mems) writeKnob(ctx, dir, "cpuset.mems", mems);
}

function setDevices(ctx: ApplyContext, dir: string | undefined, r: LinuxResources): void {
  if (r.devices === undefined || r.devices.length === 0) return;
  // Running without device restrictions would be a silent security hole (runc treats it as fatal too).
  if (dir === undefined) throw new Error("The devices cgroup controller is not mounted; cannot apply device rules");
  for (const w of v1DeviceWrites(r.devices)) writeKnob(ctx, dir, w.file, w.line);
}

function setMemoryLimit(ctx: ApplyContext, dir: string, limit: number | undefined): void {
  if (limit === undefined || limit === 0) return;
  try {
    writeKnob(ctx, dir, "memory.limit_in_bytes", limit);
  } catch (e) {
    if (!isCode(e, "EBUSY")) throw e;
    // EBUSY: the new limit is below what the cgroup already uses.
    const usage = readKnob(ctx, dir, "memory.usage_in_bytes");
    const peak = readKnob(ctx, dir, "memory.max_usage_in_bytes");
    throw new Error(`Unable to set memory limit to ${limit} (current usage: ${usage}, peak usage: ${peak})`, { cause: e });
  }
}

function setSwapLimit(ctx: ApplyContext, dir: string, swap: number | undefined): void {
  if (swap === undefined || swap === 0) return;
  writeKnob(ctx, dir, "memory.memsw.limit_in_bytes", swap);
}

function setMemory(ctx: ApplyContext, dir: string | undefined, r: LinuxResources): void {
  const m = r.memory;
  if (m === undefined) return;
  const wanted = m.limit || m.reservation || m.swap || m.disableOOMKiller || (m.swappiness !== undefined && m.swappiness !== -1);
  if (dir === undefined) {
    if (wanted) missing(ctx, "memory", "memory");
    return;
  }
  if (m.kernel) warn(ctx, "memory.kernel", "kernel memory limits are deprecated and ignored");
  if (m.kernelTCP) warn(ctx, "memory.kernelTCP", "kernel TCP memory limits are deprecated and ignored");

  let swap = m.swap;
  const swapKnob = hasKnob(ctx, dir, "memory.memsw.limit_in_bytes");
  if (m.limit === -1 && !swap && swapKnob) swap = -1; // unlimited memory lifts swap too
  if (swap && !swapKnob) {
    if (swap !== -1) warn(ctx, "memory.swap", "the kernel has no swap accounting (memory.memsw.limit_in_bytes); swap limit skipped");
    swap = undefined;
  }
  // memsw must stay >= memory at every step: raise whichever grows first.
  let swapFirst = false;
  if (m.limit && swap) {
    const cur = Number(readKnob(ctx, dir, "memory.limit_in_bytes") ?? 0);
    swapFirst = swap === -1 || cur < swap;
  }
  if (swapFirst) {
    setSwapLimit(ctx, dir, swap);
    setMemoryLimit(ctx, dir, m.limit);
  } else {
    setMemoryLimit(ctx, dir, m.limit);
    setSwapLimit(ctx, dir, swap);
  }

  if (m.reservation) writeKnob(ctx, dir, "memory.soft_limit_in_bytes", m.reservation);
  if (m.disableOOMKiller) writeKnob(ctx, dir, "memory.oom_control", "1");
  if (m.swappiness !== undefined && m.swappiness !== -1) {
    if (!Number.isInteger(m.swappiness) || m.swappiness < 0 || m.swappiness > 100) {
      throw new Error(`Invalid memory swappiness value: ${m.swappiness} (valid range is 0-100)`);
    }
    writeKnob(ctx, dir, "memory.swappiness", m.swappiness);
  }
}

function setCpu(ctx: ApplyContext, dir: string | undefined, r: LinuxResources): void {
  const c = r.cpu;
  if (c === undefined) return;
  const wanted = c.shares || c.quota || c.period || c.burst !== undefined || c.idle !== undefined;
  if (dir === undefined) {
    if (wanted) missing(ctx, "cpu", "cpu");
    return;
  }
  if (c.shares) {
    writeKnob(ctx, dir, "cpu.shares", c.shares);
    // The kernel clamps shares silently; report the clamp instead of pretending.
    const got = Number(readKnob(ctx, dir, "cpu.shares"));
    if (c.shares > got) throw new Error(`The maximum allowed cpu-shares is ${got}`);
    if (c.shares < got) throw new Error(`The minimum allowed cpu-shares is ${got}`);
  }
  // A smaller period can be refused (EINVAL) while the old quota/new period
  // exceeds the parent's; then set it again after the quota.
  let periodLater = false;
  if (c.period) {
    try {
      writeKnob(ctx, dir, "cpu.cfs_period_us", c.period);
    } catch (e) {
      if (!isCode(e, "EINVAL") || !c.quota) throw e;
      periodLater = true;
    }
  }
  let burstLater = false;
  if (c.burst !== undefined) {
    try {
      writeKnob(ctx, dir, "cpu.cfs_burst_us", c.burst);
    } catch (e) {
      if (isCode(e, "ENOENT")) warn(ctx, "cpu.burst", "the kernel has no cpu.cfs_burst_us; skipped");
      else if (!isCode(e, "EINVAL") || !c.quota) throw e;
      else burstLater = true;
    }
  }
  if (c.quota) {
    writeKnob(ctx, dir, "cpu.cfs_quota_us", c.quota);
    if (periodLater) writeKnob(ctx, dir, "cpu.cfs_period_us", c.period!);
    if (burstLater) writeKnob(ctx, dir, "cpu.cfs_burst_us", c.burst!);
  }
  if (c.idle !== undefined) writeKnob(ctx, dir, "cpu.idle", c.idle);
  if (c.realtimeRuntime || c.realtimePeriod) {
    warn(ctx, "cpu.realtimeRuntime", "realtime scheduler limits are not supported; skipped");
  }
}

function setPids(ctx: ApplyContext, dir: string | undefined, r: LinuxResources): void {
  const limit = r.pids?.limit;
  // 0 is "unset", as in runc 1.1; Docker sends -1 for "unlimited".
  if (limit === undefined || limit === 0) return;
  if (dir === undefined) return missing(ctx, "pids", "pids");
  writeKnob(ctx, dir, "pids.max", limit > 0 ? String(limit) : "max");
}

function setBlkio(ctx: ApplyContext, dir: string | undefined, r: LinuxResources): void {
  const b = r.blockIO;
  if (b === undefined) return;
  const wanted = b.weight || b.leafWeight || b.weightDevice?.length || b.throttleReadBpsDevice?.length ||
    b.throttleWriteBpsDevice?.length || b.throttleReadIOPSDevice?.length || b.throttleWriteIOPSDevice?.length;
  if (!wanted) return;
  if (dir === undefined) return missing(ctx, "blockIO", "blkio");
  // CFQ's blkio.weight, or BFQ's blkio.bfq.weight on kernels without CFQ (runc detectWeightFilenames).
  const cfq = hasKnob(ctx, dir, "blkio.weight");
  const bfq = !cfq && hasKnob(ctx, dir, "blkio.bfq.weight");
  const weightFile = cfq ? "blkio.weight" : "blkio.bfq.weight";
  const weightDeviceFile = cfq ? "blkio.weight_device" : "blkio.bfq.weight_device";
  if (b.weight) {
    if (cfq || bfq) writeKnob(ctx, dir, weightFile, b.weight);
    else warn(ctx, "blockIO.weight", "no blkio.weight or blkio.bfq.weight (no proportional I/O scheduler); skipped");
  }
  if (b.leafWeight) {
    if (hasKnob(ctx, dir, "blkio.leaf_weight")) writeKnob(ctx, dir, "blkio.leaf_weight", b.leafWeight);
    else warn(ctx, "blockIO.leafWeight", "the kernel has no blkio.leaf_weight; skipped");
  }
  for (const wd of b.weightDevice ?? []) {
    if (wd.weight) {
      if (cfq || bfq) writeKnob(ctx, dir, weightDeviceFile, `${wd.major}:${wd.minor} ${wd.weight}`);
      else warn(ctx, "blockIO.weightDevice", `no proportional I/O scheduler; weight for ${wd.major}:${wd.minor} skipped`);
    }
    if (wd.leafWeight) {
      if (hasKnob(ctx, dir, "blkio.leaf_weight_device")) {
        writeKnob(ctx, dir, "blkio.leaf_weight_device", `${wd.major}:${wd.minor} ${wd.leafWeight}`);
      } else warn(ctx, "blockIO.weightDevice", `the kernel has no blkio.leaf_weight_device; skipped`);
    }
  }
  const throttles: [keyof typeof b, string][] = [
    ["throttleReadBpsDevice", "blkio.throttle.read_bps_device"],
    ["throttleWriteBpsDevice", "blkio.throttle.write_bps_device"],
    ["throttleReadIOPSDevice", "blkio.throttle.read_iops_device"],
    ["throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"],
  ];
  for (const [field, file] of throttles) {
    for (const td of (b[field] as { major: number; minor: number; rate: number }[] | undefined) ?? []) {
      writeKnob(ctx, dir, file, `${td.major}:${td.minor} ${td.rate}`);
    }
  }
}

function setHugetlb(ctx: ApplyContext, dir: string | undefined, r: LinuxResources): void {
  const limits = r.hugepageLimits ?? [];
  if (limits.length === 0) return;
  if (dir === undefined) return missing(ctx, "hugepageLimits", "hugetlb");
  // On hybrid hosts hugetlb may live on the cgroup2 hierarchy, with v2 file names.
  const suffix = dir === ctx.cg.paths[UNIFIED] ? ".max" : ".limit_in_bytes";
  let rsvd = true;
  for (const h of limits) {
    const prefix = `hugetlb.${h.pageSize}`;
    writeKnob(ctx, dir, prefix + suffix, h.limit);
    if (!rsvd) continue;
    try {
      writeKnob(ctx, dir, `${prefix}.rsvd${suffix}`, h.limit);
    } catch (e) {
      if (!isCode(e, "ENOENT")) throw e;
      rsvd = false; // reservation accounting needs kernel 5.7+
    }
  }
}

function setNetCls(ctx: ApplyContext, dir: string | undefined, r: LinuxResources): void {
  const id = r.network?.classID;
  if (!id) return;
  if (dir === undefined) return missing(ctx, "network.classID", "net_cls");
  writeKnob(ctx, dir, "net_cls.classid", id);
}

function setNetPrio(ctx: ApplyContext, dir: string | undefined, r: LinuxResources): void {
  const prios = r.network?.priorities ?? [];
  if (prios.length === 0) return;
  if (dir === undefined) return missing(ctx, "network.priorities", "net_prio");
  for (const p of prios) writeKnob(ctx, dir, "net_prio.ifpriomap", `${p.name} ${p.priority}`);
}
