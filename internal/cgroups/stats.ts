/**
 * Usage numbers from a cgroup: enough for `docker stats` (memory usage and
 * limit, cpu time, pids) and for runc's `events --stats` JSON, whose field
 * names and omitempty rules (runc types/events.go) `eventsStats` reproduces.
 */
import * as posix from "node:path/posix";
import { ioOf, readOptional, type CgroupIo, type IoOptions } from "./_io.ts";
import type { Cgroup } from "./cgroup.ts";
import { BLKIO_FAMILIES, MEMORY_STAT, V1_CPU, V2_CPU, V2_MEMORY, v1MemoryFiles } from "./files.ts";
import { parseBlkio, parseIds, parseIoStat, parseKeyed, parseUint, parseUsageAll, UINT64_MAX, type BlkioEntry } from "./parse.ts";
import { UNIFIED } from "./path.ts";

export interface MemoryEntry {
  limit: number;
  usage: number;
  max: number;
  failcnt: number;
}

export interface CgroupStats {
  cpu: {
    /** Nanoseconds. */
    usage: { total: number; percpu: number[]; percpuKernel: number[]; percpuUser: number[]; kernel: number; user: number };
    throttling: { periods: number; throttledPeriods: number; throttledTime: number };
  };
  memory: {
    cache: number;
    usage: MemoryEntry;
    /** memory+swap, as v1 memsw reports it (v2 figures are summed to match). */
    swap: MemoryEntry;
    kernel: MemoryEntry;
    kernelTCP: MemoryEntry;
    raw: Record<string, number>;
  };
  /** `limit` 0 means unlimited. */
  pids: { current: number; limit: number };
  blkio: { ioServiceBytesRecursive: BlkioEntry[]; ioServicedRecursive: BlkioEntry[] };
}

/** USER_HZ, the unit of cpuacct.stat; 100 on every Linux ABI that matters. */
const CLOCK_TICKS = 100;
const NS_PER_TICK = 1e9 / CLOCK_TICKS;

const zeroEntry = (): MemoryEntry => ({ limit: 0, usage: 0, max: 0, failcnt: 0 });

function emptyStats(): CgroupStats {
  return {
    cpu: {
      usage: { total: 0, percpu: [], percpuKernel: [], percpuUser: [], kernel: 0, user: 0 },
      throttling: { periods: 0, throttledPeriods: 0, throttledTime: 0 },
    },
    memory: { cache: 0, usage: zeroEntry(), swap: zeroEntry(), kernel: zeroEntry(), kernelTCP: zeroEntry(), raw: {} },
    pids: { current: 0, limit: 0 },
    blkio: { ioServiceBytesRecursive: [], ioServicedRecursive: [] },
  };
}

function read(io: CgroupIo, dir: string, file: string): string | undefined {
  return readOptional(io, posix.join(dir, file));
}

function num(io: CgroupIo, dir: string, file: string): number {
  return parseUint(read(io, dir, file));
}

/** io.stat's rbytes/wbytes/rios/wios as runc's Read/Write blkio entries; other keys are dropped. */
export function blkioFromIoStat(entries: readonly BlkioEntry[]): CgroupStats["blkio"] {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  const table: Record<string, [BlkioEntry[], string]> = {
    rbytes: [bytes, "Read"], wbytes: [bytes, "Write"], rios: [ios, "Read"], wios: [ios, "Write"],
  };
  for (const e of entries) {
    const t = Object.hasOwn(table, e.op) ? table[e.op] : undefined;
    if (t !== undefined) t[0].push({ ...e, op: t[1] });
  }
  return { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
}

function v1MemoryEntry(io: CgroupIo, dir: string, counter: Parameters<typeof v1MemoryFiles>[0]): MemoryEntry {
  const f = v1MemoryFiles(counter);
  if (read(io, dir, f.usage) === undefined) return zeroEntry(); // swap/kmem accounting is optional
  return { usage: num(io, dir, f.usage), max: num(io, dir, f.max), failcnt: num(io, dir, f.failcnt), limit: num(io, dir, f.limit) };
}

function statsV1(io: CgroupIo, cg: Cgroup, s: CgroupStats): void {
  const cpu = cg.paths["cpu"];
  if (cpu !== undefined) {
    const st = parseKeyed(read(io, cpu, V1_CPU.stat));
    s.cpu.throttling = { periods: st["nr_periods"] ?? 0, throttledPeriods: st["nr_throttled"] ?? 0, throttledTime: st["throttled_time"] ?? 0 };
  }
  const acct = cg.paths["cpuacct"];
  if (acct !== undefined) {
    const u = s.cpu.usage;
    u.total = num(io, acct, V1_CPU.acctUsage);
    u.percpu = (read(io, acct, V1_CPU.acctPercpu) ?? "").trim().split(/\s+/).filter(Boolean).map(Number);
    const st = parseKeyed(read(io, acct, V1_CPU.acctStat));
    u.user = (st["user"] ?? 0) * NS_PER_TICK;
    u.kernel = (st["system"] ?? 0) * NS_PER_TICK;
    for (const c of parseUsageAll(read(io, acct, V1_CPU.acctAll))) {
      u.percpuUser.push(c.user);
      u.percpuKernel.push(c.system);
    }
  }
  const mem = cg.paths["memory"];
  if (mem !== undefined) {
    s.memory.raw = parseKeyed(read(io, mem, MEMORY_STAT));
    s.memory.cache = s.memory.raw["cache"] ?? 0;
    s.memory.usage = v1MemoryEntry(io, mem, "");
    s.memory.swap = v1MemoryEntry(io, mem, "memsw");
    s.memory.kernel = v1MemoryEntry(io, mem, "kmem");
    s.memory.kernelTCP = v1MemoryEntry(io, mem, "kmem.tcp");
  }
  const pids = cg.paths["pids"];
  if (pids !== undefined) pidsStats(io, pids, s);
  const blkio = cg.paths["blkio"];
  if (blkio !== undefined) {
    // CFQ, then BFQ, then the throttle layer's counters, whichever has data (as runc).
    for (const f of BLKIO_FAMILIES) {
      const bytes = parseBlkio(read(io, blkio, f.bytes!));
      if (bytes.length === 0) continue;
      s.blkio = { ioServiceBytesRecursive: bytes, ioServicedRecursive: parseBlkio(read(io, blkio, f.serviced!)) };
      break;
    }
  }
}

function pidsStats(io: CgroupIo, dir: string, s: CgroupStats): void {
  const max = num(io, dir, "pids.max");
  s.pids = { current: num(io, dir, "pids.current"), limit: max === UINT64_MAX ? 0 : max };
}

function statsV2(io: CgroupIo, dir: string, s: CgroupStats): void {
  const cpu = parseKeyed(read(io, dir, V2_CPU.stat));
  s.cpu.usage.total = (cpu["usage_usec"] ?? 0) * 1000;
  s.cpu.usage.user = (cpu["user_usec"] ?? 0) * 1000;
  s.cpu.usage.kernel = (cpu["system_usec"] ?? 0) * 1000;
  s.cpu.throttling = {
    periods: cpu["nr_periods"] ?? 0,
    throttledPeriods: cpu["nr_throttled"] ?? 0,
    throttledTime: (cpu["throttled_usec"] ?? 0) * 1000,
  };
  const m = V2_MEMORY;
  if (read(io, dir, m.usage) !== undefined) {
    s.memory.raw = parseKeyed(read(io, dir, MEMORY_STAT));
    s.memory.cache = s.memory.raw["file"] ?? 0;
    const events = parseKeyed(read(io, dir, m.events));
    s.memory.usage = {
      usage: num(io, dir, m.usage),
      limit: num(io, dir, m.limit),
      max: num(io, dir, m.peak),
      failcnt: events["max"] ?? 0,
    };
    // Report memory+swap like v1 memsw, as runc does.
    const swapLimit = num(io, dir, m.swapLimit);
    s.memory.swap = {
      usage: num(io, dir, m.swapUsage) + s.memory.usage.usage,
      limit: swapLimit === UINT64_MAX || s.memory.usage.limit === UINT64_MAX ? UINT64_MAX : swapLimit + s.memory.usage.limit,
      max: 0,
      failcnt: 0,
    };
  }
  if (read(io, dir, "pids.current") !== undefined) pidsStats(io, dir, s);
  else s.pids.current = parseIds(read(io, dir, "cgroup.procs")).length;
  s.blkio = blkioFromIoStat(parseIoStat(read(io, dir, "io.stat")));
}

/** Reads the cgroup's counters; absent controllers leave zeros. */
export function stats(cg: Cgroup, opts: IoOptions = {}): CgroupStats {
  const io = ioOf(opts);
  const s = emptyStats();
  if (cg.layout.mode === "v2") statsV2(io, cg.paths[UNIFIED]!, s);
  else statsV1(io, cg, s);
  return s;
}

export interface StatsEvent {
  type: "stats";
  id: string;
  data: Record<string, unknown>;
}

/** Drops the keys Go's `omitempty` would drop (0, "", empty arrays and maps). */
function omitEmpty<T extends Record<string, unknown>>(obj: T, keys: (keyof T)[]): Partial<T> {
  const out: Partial<T> = { ...obj };
  for (const k of keys) {
    const v = obj[k];
    if (v === 0 || v === "" || v === undefined || (Array.isArray(v) && v.length === 0) ||
      (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)) delete out[k];
  }
  return out;
}

/** Go's `omitzero` on a struct: omitted when every field is zero. */
function isZero(obj: Record<string, unknown>): boolean {
  return Object.values(obj).every((v) => v === 0 || (Array.isArray(v) && v.length === 0));
}

function memEntry(m: MemoryEntry): Record<string, unknown> | undefined {
  if (isZero({ ...m })) return undefined;
  return omitEmpty({ limit: m.limit, usage: m.usage, max: m.max, failcnt: m.failcnt }, ["usage", "max"]);
}

function blkio(entries: BlkioEntry[]): Record<string, unknown>[] {
  return entries.map((e) => omitEmpty({ major: e.major, minor: e.minor, op: e.op, value: e.value }, ["major", "minor", "op", "value"]));
}

/** The `runc events --stats` object: `{type: "stats", id, data: {cpu, memory, pids, ...}}`. */
export function eventsStats(id: string, s: CgroupStats): StatsEvent {
  const u = s.cpu.usage;
  const usage = omitEmpty(
    { total: u.total, percpu: u.percpu, percpu_kernel: u.percpuKernel, percpu_user: u.percpuUser, kernel: u.kernel, user: u.user },
    ["total", "percpu", "percpu_kernel", "percpu_user"],
  );
  const t = s.cpu.throttling;
  const cpu: Record<string, unknown> = {};
  if (!isZero({ ...u })) cpu["usage"] = usage;
  if (!isZero({ ...t })) {
    cpu["throttling"] = omitEmpty({ periods: t.periods, throttledPeriods: t.throttledPeriods, throttledTime: t.throttledTime },
      ["periods", "throttledPeriods", "throttledTime"]);
  }
  const memory: Record<string, unknown> = omitEmpty({ cache: s.memory.cache, raw: s.memory.raw }, ["cache", "raw"]);
  for (const k of ["usage", "swap", "kernel", "kernelTCP"] as const) {
    const e = memEntry(s.memory[k]);
    if (e !== undefined) memory[k] = e;
  }
  return {
    type: "stats",
    id,
    data: {
      cpu,
      cpuset: {
        cpu_exclusive: 0, mem_hardwall: 0, mem_exclusive: 0, memory_migrate: 0, memory_spread_page: 0,
        memory_spread_slab: 0, memory_pressure: 0, sched_load_balance: 0, sched_relax_domain_level: 0,
      },
      memory,
      pids: omitEmpty({ current: s.pids.current, limit: s.pids.limit }, ["current", "limit"]),
      blkio: omitEmpty(
        { ioServiceBytesRecursive: blkio(s.blkio.ioServiceBytesRecursive), ioServicedRecursive: blkio(s.blkio.ioServicedRecursive) },
        ["ioServiceBytesRecursive", "ioServicedRecursive"],
      ),
      hugetlb: {},
      intel_rdt: {},
      network_interfaces: null,
    },
  };
}

const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/**
 * JSON text for an event. Counters above 2^53 (v1's "unlimited" page-counter
 * maximum, cgroup2 "max") are printed exactly as Go would print the uint64,
 * instead of JavaScript's rounded `9223372036854772000`.
 */
export function eventsJson(event: unknown): string {
  return JSON.stringify(event, (_k, v: unknown) => {
    if (typeof v !== "number" || v <= Number.MAX_SAFE_INTEGER || !Number.isInteger(v)) return v;
    return rawJSON(v >= UINT64_MAX ? "18446744073709551615" : BigInt(v).toString());
  });
}
