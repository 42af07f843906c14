/**
 * cgroup v2 writer: one directory, `<controller>.<knob>` files, v1-shaped OCI
 * values converted with runc's formulas (convert.ts). A missing knob usually
 * means the controller is not enabled in the parent's cgroup.subtree_control;
 * the error says so rather than a bare ENOENT.
 */
import type { IoOptions } from "./_io.ts";
import { v2Controllers, type Cgroup } from "./cgroup.ts";
import { blkioWeightToIoWeight, cpuSharesToWeight, memorySwapToV2, v2Bytes } from "./convert.ts";
import { V2_DEVICES_WARNING } from "./devices.ts";
import { applyContext, hasKnob, isCode, readKnob, warn, writeKnob, type ApplyContext } from "./_knob.ts";
import { UNIFIED } from "./path.ts";
import type { LinuxResources } from "./spec.ts";

type Setter = (ctx: ApplyContext, dir: string, r: LinuxResources) => void;

/** In runc's fs2 order; `unified` last so raw values override converted ones. */
const V2_SETTERS: Setter[] = [setPids, setMemory, setIo, setCpu, setDevices, setCpuset, setHugetlb, setOther, setUnified];

export function applyV2(cg: Cgroup, r: LinuxResources, warnings: string[], opts: IoOptions): void {
  const dir = cg.paths[UNIFIED];
  if (dir === undefined) throw new Error(`Cgroup ${cg.path} has no cgroup2 directory`);
  const ctx = applyContext(cg, warnings, opts);
  for (const set of V2_SETTERS) set(ctx, dir, r);
}

/** Writes a knob of `controller`, turning ENOENT into "controller not enabled here". */
function writeCtl(ctx: ApplyContext, dir: string, file: string, value: string | number): void {
  try {
    writeKnob(ctx, dir, file, value);
  } catch (e) {
    if (!isCode(e, "ENOENT")) throw e;
    const controller = file.slice(0, file.indexOf("."));
    const avail = v2Controllers(ctx.io, dir);
    if (!avail.includes(controller)) {
      throw new Error(
        `Cannot set ${file}: the ${controller} controller is not enabled for ${dir} ` +
          `(cgroup.controllers: ${avail.join(" ") || "none"}; enable it in the parent's cgroup.subtree_control)`,
        { cause: e },
      );
    }
    throw e;
  }
}

function setPids(ctx: ApplyContext, dir: string, r: LinuxResources): void {
  const limit = r.pids?.limit;
  if (limit === undefined || limit === 0) return; // 0 is "unset", as in runc 1.1
  writeCtl(ctx, dir, "pids.max", limit > 0 ? String(limit) : "max");
}

function setMemory(ctx: ApplyContext, dir: string, r: LinuxResources): void {
  const m = r.memory;
  if (m === undefined) return;
  if (m.kernel) warn(ctx, "memory.kernel", "kernel memory limits do not exist on cgroup v2; ignored");
  if (m.kernelTCP) warn(ctx, "memory.kernelTCP", "kernel TCP memory limits do not exist on cgroup v2; ignored");
  if (m.swappiness !== undefined && m.swappiness !== -1) {
    warn(ctx, "memory.swappiness", "cgroup v2 has no per-cgroup swappiness; ignored");
  }
  if (m.disableOOMKiller) warn(ctx, "memory.disableOOMKiller", "cgroup v2 cannot disable the OOM killer; ignored");
  if (!m.limit && !m.reservation && !m.swap) return;

  const swap = memorySwapToV2(m.swap ?? 0, m.limit ?? 0);
  // swap == limit means "no swap": 0, which v2Bytes would read as "unset".
  const swapStr = swap === 0 && (m.swap ?? 0) > 0 ? "0" : v2Bytes(swap);
  if (swapStr !== undefined) {
    try {
      writeKnob(ctx, dir, "memory.swap.max", swapStr);
    } catch (e) {
      if (!isCode(e, "ENOENT") || !v2Controllers(ctx.io, dir).includes("memory")) throw e;
      // No swap accounting (swapaccount=0 or no swap at all): same answer as Docker's warning.
      if (swapStr !== "max" && swapStr !== "0") {
        warn(ctx, "memory.swap", "the kernel has no swap accounting (memory.swap.max); swap limit skipped");
      }
    }
  }
  const max = v2Bytes(m.limit);
  if (max !== undefined) writeCtl(ctx, dir, "memory.max", max);
  const low = v2Bytes(m.reservation);
  if (low !== undefined) writeCtl(ctx, dir, "memory.low", low);
}

function setIo(ctx: ApplyContext, dir: string, r: LinuxResources): void {
  const b = r.blockIO;
  if (b === undefined) return;
  const bfqText = readKnob(ctx, dir, "io.bfq.weight");
  if (b.weight) {
    // BFQ takes the v1 range as is; io.weight (iocost) needs the conversion.
    if (bfqText !== undefined) writeKnob(ctx, dir, "io.bfq.weight", b.weight);
    else writeCtl(ctx, dir, "io.weight", blkioWeightToIoWeight(b.weight));
  }
  if (b.leafWeight) warn(ctx, "blockIO.leafWeight", "cgroup v2 has no leaf weights; ignored");
  // Per-device BFQ weights exist when io.bfq.weight reads "default N" rather than a bare number.
  const bfqPerDevice = bfqText !== undefined && !/^\d+$/.test(bfqText);
  for (const wd of b.weightDevice ?? []) {
    if (!wd.weight) continue;
    if (bfqPerDevice) writeKnob(ctx, dir, "io.bfq.weight", `${wd.major}:${wd.minor} ${wd.weight}`);
    else warn(ctx, "blockIO.weightDevice", `per-device weight for ${wd.major}:${wd.minor} needs BFQ; skipped`);
  }
  const throttles: [keyof typeof b, string][] = [
    ["throttleReadBpsDevice", "rbps"],
    ["throttleWriteBpsDevice", "wbps"],
    ["throttleReadIOPSDevice", "riops"],
    ["throttleWriteIOPSDevice", "wiops"],
  ];
  for (const [field, key] of throttles) {
    for (const td of (b[field] as { major: number; minor: number; rate: number }[] | undefined) ?? []) {
      writeCtl(ctx, dir, "io.max", `${td.major}:${td.minor} ${key}=${td.rate}`);
    }
  }
}

function setCpu(ctx: ApplyContext, dir: string, r: LinuxResources): void {
  const c = r.cpu;
  if (c === undefined) return;
  if (c.realtimeRuntime || c.realtimePeriod) {
    warn(ctx, "cpu.realtimeRuntime", "realtime scheduler limits are not supported on cgroup v2; skipped");
  }
  if (c.idle !== undefined) writeCtl(ctx, dir, "cpu.idle", c.idle);
  if (c.shares) writeCtl(ctx, dir, "cpu.weight", cpuSharesToWeight(c.shares));
  // A burst above the old quota is refused (EINVAL); then set it after cpu.max.
  let burstLater = false;
  if (c.burst !== undefined) {
    try {
      writeCtl(ctx, dir, "cpu.max.burst", c.burst);
    } catch (e) {
      if (!isCode(e, "EINVAL") || !c.quota) throw e;
      burstLater = true;
    }
  }
  if (c.quota || c.period) {
    const quota = c.quota && c.quota > 0 ? String(c.quota) : "max";
    writeCtl(ctx, dir, "cpu.max", `${quota} ${c.period || 100000}`);
    if (burstLater) writeCtl(ctx, dir, "cpu.max.burst", c.burst!);
  }
}

function setDevices(ctx: ApplyContext, _dir: string, r: LinuxResources): void {
  if (r.devices === undefined || r.devices.length === 0) return;
  warn(ctx, "devices", `${V2_DEVICES_WARNING} (${r.devices.length} rules)`);
}

function setCpuset(ctx: ApplyContext, dir: string, r: LinuxResources): void {
  if (r.cpu?.cpus) writeCtl(ctx, dir, "cpuset.cpus", r.cpu.cpus);
  if (r.cpu?.mems) writeCtl(ctx, dir, "cpuset.mems", r.cpu.mems);
}

function setHugetlb(ctx: ApplyContext, dir: string, r: LinuxResources): void {
  let rsvd = true;
  for (const h of r.hugepageLimits ?? []) {
    const prefix = `hugetlb.${h.pageSize}`;
    writeCtl(ctx, dir, `${prefix}.max`, h.limit);
    if (!rsvd) continue;
    if (hasKnob(ctx, dir, `${prefix}.rsvd.max`)) writeKnob(ctx, dir, `${prefix}.rsvd.max`, h.limit);
    else rsvd = false; // reservation accounting needs kernel 5.7+
  }
}

function setOther(ctx: ApplyContext, _dir: string, r: LinuxResources): void {
  if (r.network?.classID || r.network?.priorities?.length) {
    warn(ctx, "network", "net_cls/net_prio do not exist on cgroup v2; ignored");
  }
  if (r.rdma !== undefined && Object.keys(r.rdma).length > 0) warn(ctx, "rdma", "rdma limits are not supported yet; skipped");
}

/** Raw `unified` entries; a multi-line value is written one line per write(2), as the kernel parses one rule per write. */
function setUnified(ctx: ApplyContext, dir: string, r: LinuxResources): void {
  for (const [key, value] of Object.entries(r.unified ?? {})) {
    if (key.includes("/") || key === "" || key === "." || key === "..") {
      throw new Error(`Unified resource ${JSON.stringify(key)} must be a file name (no slashes)`);
    }
    const dot = key.indexOf(".");
    if (dot <= 0) throw new Error(`Unified resource ${JSON.stringify(key)} must be in the form CONTROLLER.PARAMETER`);
    const controller = key.slice(0, dot);
    try {
      for (const line of value.split("\n").filter((l, i, all) => l !== "" || all.length === 1)) {
        writeKnob(ctx, dir, key, line);
      }
    } catch (e) {
      if (isCode(e, "ENOENT", "EPERM", "EACCES") && controller !== "cgroup" && !v2Controllers(ctx.io, dir).includes(controller)) {
        throw new Error(`Unified resource ${JSON.stringify(key)} can't be set: controller ${JSON.stringify(controller)} not available`, { cause: e });
      }
      throw new Error(`Unable to set unified resource ${JSON.stringify(key)}: ${(e as Error).message}`, { cause: e });
    }
  }
}

