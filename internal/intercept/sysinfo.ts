/**
 * struct sysinfo as the caller's ABI lays it out (include/uapi/linux/sysinfo.h;
 * the compat one for 32-bit processes on a 64-bit kernel). Pure: figures in,
 * bytes out. x32 calls the native syscall, so it gets the 64-bit layout.
 *
 *   64-bit (long = 8)                         32-bit (long = 4)
 *   0   uptime          long                  0   uptime
 *   8   loads[3]        unsigned long         4   loads[3]
 *   32  totalram ... freeswap (6 x ulong)     16  totalram ... freeswap
 *   80  procs           u16                   40  procs
 *   82  pad             u16                   42  pad
 *   88  totalhigh       ulong (after 4 pad)   44  totalhigh
 *   96  freehigh        ulong                 48  freehigh
 *   104 mem_unit        u32                   52  mem_unit
 *   size 112 (_f[0] + tail padding)           56  _f[8]; size 64
 *
 * Memory figures are counted in mem_unit bytes: 1 where they fit the
 * field, else the smallest power of two that makes them fit (the kernel
 * does the same for 32-bit callers).
 */
import type { SysinfoFigures } from "../procfs/mod.ts";

/** The figures sysbox-fs computes for a container (internal/procfs), as struct sysinfo carries them. */
export type SysinfoValues = SysinfoFigures;

export interface SysinfoLayout {
  /** Bytes per long. */
  long: 4 | 8;
  size: number;
  procs: number;
  totalhigh: number;
  memUnit: number;
}

export const SYSINFO_LAYOUT = {
  wide: { long: 8, size: 112, procs: 80, totalhigh: 88, memUnit: 104 },
  narrow: { long: 4, size: 64, procs: 40, totalhigh: 44, memUnit: 52 },
} as const satisfies Record<string, SysinfoLayout>;

/** The layout for an arch label of syscalls.ts ("x86_64", "x32", "i386"...). */
export function sysinfoLayout(arch: string): SysinfoLayout {
  return arch === "i386" || arch === "arm" ? SYSINFO_LAYOUT.narrow : SYSINFO_LAYOUT.wide;
}

const MEMORY = ["totalram", "freeram", "sharedram", "bufferram", "totalswap", "freeswap"] as const;

/** The struct's bytes, little-endian unless `bigEndian` (s390x). */
export function encodeSysinfo(v: SysinfoValues, layout: SysinfoLayout, opts: { bigEndian?: boolean } = {}): Uint8Array {
  const buf = new Uint8Array(layout.size);
  const dv = new DataView(buf.buffer);
  const le = !opts.bigEndian;
  const max = layout.long === 8 ? 2n ** 64n - 1n : 2n ** 32n - 1n;
  const put = (off: number, n: bigint) => {
    const x = n < 0n ? 0n : n > max ? max : n;
    if (layout.long === 8) dv.setBigUint64(off, x, le);
    else dv.setUint32(off, Number(x), le);
  };
  let unit = 1n;
  const biggest = MEMORY.reduce((m, k) => (BigInt(Math.floor(v[k])) > m ? BigInt(Math.floor(v[k])) : m), 0n);
  while (biggest / unit > max && unit < 1n << 30n) unit <<= 1n;
  put(0, BigInt(Math.floor(v.uptime)));
  v.loads.forEach((l, i) => put(layout.long * (1 + i), BigInt(Math.floor(l))));
  MEMORY.forEach((k, i) => put(layout.long * (4 + i), BigInt(Math.floor(v[k])) / unit));
  dv.setUint16(layout.procs, Math.min(0xffff, Math.max(0, v.procs)), le);
  dv.setUint32(layout.memUnit, Number(unit), le);
  return buf;
}
