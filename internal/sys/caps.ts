/**
 * Capabilities: the name table, capget/capset (v3), the bounding and ambient
 * sets, and `applyCapabilities` in runc's order. All of it acts on the calling
 * thread only; an execve() from that thread carries it into the program.
 */
import { ptr } from "bun:ffi";
import { readFileSync } from "node:fs";
import { rawSyscall } from "./libc.ts";
import { SYS } from "./arch.ts";
import { PR, prctl } from "./proc.ts";
import { pinned } from "./_pin.ts";

/** include/uapi/linux/capability.h */
export const CAPS = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4,
  CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10, CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15, CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20, CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24, CAP_SYS_TIME: 25, CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30, CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35, CAP_BLOCK_SUSPEND: 36, CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
} as const;

export type CapName = keyof typeof CAPS;

const CAP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(CAPS).map(([k, v]) => [v, k]));

/** The number for "CAP_SYS_ADMIN" (also "sys_admin"), or undefined. */
export function lookupCap(name: string): number | undefined {
  const up = name.toUpperCase();
  return (CAPS as Record<string, number>)[up.startsWith("CAP_") ? up : `CAP_${up}`];
}

export function parseCap(name: string): number {
  const n = lookupCap(name);
  if (n === undefined) throw new RangeError(`Unknown capability "${name}"`);
  return n;
}

/** "CAP_SYS_ADMIN" for 21; caps newer than this table print as "CAP_41". */
export function capName(cap: number): string {
  return CAP_NAMES[cap] ?? `CAP_${cap}`;
}

export function capMask(caps: Iterable<number>): bigint {
  let m = 0n;
  for (const c of caps) m |= 1n << BigInt(c);
  return m;
}

export function capsOf(mask: bigint): number[] {
  const out: number[] = [];
  for (let c = 0; c < 64; c++) if (mask & (1n << BigInt(c))) out.push(c);
  return out;
}

export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

const VERSION_3 = 0x20080522;

/**
 * capget(2) v3:
 *
 *   header (8 bytes)             data[2] (2 x 12 bytes; [0] caps 0-31, [1] caps 32-63)
 *   +---------+---------+        +-----------+-----------+-------------+
 *   | u32 ver | i32 pid |        | effective | permitted | inheritable |  (u32 each)
 *   +---------+---------+        +-----------+-----------+-------------+
 */
export function capget(pid = 0): CapSets {
  const hdr = new Uint32Array([VERSION_3, pid]);
  const data = new Uint32Array(6);
  pinned([hdr, data], () =>
    rawSyscall("capget", SYS.capget, [BigInt(ptr(hdr)), BigInt(ptr(data))], pid ? `pid ${pid}` : undefined),
  );
  const join = (i: number) => BigInt(data[i]!) | (BigInt(data[i + 3]!) << 32n);
  return { effective: join(0), permitted: join(1), inheritable: join(2) };
}

/** capset(2) v3 on the calling thread. */
export function capset(sets: CapSets): void {
  const hdr = new Uint32Array([VERSION_3, 0]);
  const lo = (m: bigint) => Number(m & 0xffffffffn);
  const hi = (m: bigint) => Number((m >> 32n) & 0xffffffffn);
  const { effective: e, permitted: p, inheritable: i } = sets;
  const data = new Uint32Array([lo(e), lo(p), lo(i), hi(e), hi(p), hi(i)]);
  pinned([hdr, data], () => rawSyscall("capset", SYS.capset, [BigInt(ptr(hdr)), BigInt(ptr(data))]));
}

/** Drops `cap` from the calling thread's bounding set; needs CAP_SETPCAP in effective. */
export function capBsetDrop(cap: number): void {
  prctl(PR.CAPBSET_DROP, cap);
}

const AMBIENT = { IS_SET: 1, RAISE: 2, LOWER: 3, CLEAR_ALL: 4 } as const;

/** The cap must already be in both permitted and inheritable. */
export function ambientRaise(cap: number): void {
  prctl(PR.CAP_AMBIENT, AMBIENT.RAISE, cap);
}

export function ambientClearAll(): void {
  prctl(PR.CAP_AMBIENT, AMBIENT.CLEAR_ALL);
}

/** The highest capability this kernel knows. */
export function lastCap(): number {
  return Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
}

/** The CapBnd mask from the text of a /proc/<pid>/status file. */
export function parseCapBnd(status: string): bigint {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  if (!m) throw new RangeError("No CapBnd line in the status text");
  return BigInt(`0x${m[1]}`);
}

/** The calling thread's bounding set (thread-self: the set is per thread). */
export function boundingSet(): bigint {
  return parseCapBnd(readFileSync("/proc/thread-self/status", "utf8"));
}

/** OCI `process.capabilities`: lists of names such as "CAP_SYS_ADMIN". */
export interface CapabilityRequest {
  bounding?: readonly string[];
  effective?: readonly string[];
  permitted?: readonly string[];
  inheritable?: readonly string[];
  ambient?: readonly string[];
}

/** The calls `applyCapabilities` makes; tests pass a recording fake. */
export interface CapOps {
  lastCap(): number;
  boundingSet(): bigint;
  capget(): CapSets;
  capset(sets: CapSets): void;
  capBsetDrop(cap: number): void;
  ambientClearAll(): void;
  ambientRaise(cap: number): void;
}

export const linuxCapOps: CapOps = {
  lastCap, boundingSet, capget: () => capget(0), capset, capBsetDrop, ambientClearAll, ambientRaise,
};

const SETPCAP = 1n << BigInt(CAPS.CAP_SETPCAP);

/**
 * Applies an OCI capability request to the calling thread the way runc does:
 * bounding set first (while CAP_SETPCAP is still effective), then capset,
 * then the ambient set. A requested cap the host's bounding set lacks, or the
 * kernel or this table does not know, is left out and returned by name so the
 * caller can warn; that is never an error.
 */
export function applyCapabilities(req: CapabilityRequest, ops: CapOps = linuxCapOps): string[] {
  const last = ops.lastCap();
  const host = ops.boundingSet();
  const dropped = new Set<string>();
  const mask = (names: readonly string[] = []): bigint => {
    let m = 0n;
    for (const name of names) {
      const c = lookupCap(name);
      if (c === undefined || c > last || !(host & (1n << BigInt(c)))) dropped.add(name);
      else m |= 1n << BigInt(c);
    }
    return m;
  };
  const bounding = mask(req.bounding);
  const want: CapSets = { effective: mask(req.effective), permitted: mask(req.permitted), inheritable: mask(req.inheritable) };
  const ambient = mask(req.ambient);

  const toDrop = capsOf(host & ~bounding).filter((c) => c <= last);
  if (toDrop.length) {
    // After setresuid() away from 0 with keepcaps, SETPCAP is only permitted: make it effective again.
    const cur = ops.capget();
    if (!(cur.effective & SETPCAP) && cur.permitted & SETPCAP) ops.capset({ ...cur, effective: cur.effective | SETPCAP });
    for (const c of toDrop) ops.capBsetDrop(c);
  }
  ops.capset(want);
  ops.ambientClearAll();
  // The kernel refuses an ambient cap that is not both permitted and inheritable; runc only warns.
  const allowed = want.permitted & want.inheritable;
  for (const c of capsOf(ambient)) {
    if (allowed & (1n << BigInt(c))) ops.ambientRaise(c);
    else dropped.add(`${capName(c)} (ambient: not permitted and inheritable)`);
  }
  return [...dropped];
}
