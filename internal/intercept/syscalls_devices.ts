/**
 * The trapped syscalls for device nodes and sysinfo(2): their numbers per
 * arch (merged into syscalls.ts's table) and their arguments decoded.
 * aarch64 and riscv64 have no mknod, only mknodat.
 */
import type { SyscallId } from "./syscalls.ts";

export const DEVICE_TRAPPED = ["mknod", "mknodat", "sysinfo"] as const;
export type DeviceTrappedName = (typeof DEVICE_TRAPPED)[number];

/** By the arch names of syscalls.ts's table. */
export const DEVICE_NR: Record<string, Partial<Record<DeviceTrappedName, number>>> = {
  x86_64: { mknod: 133, mknodat: 259, sysinfo: 99 },
  i386: { mknod: 14, mknodat: 297, sysinfo: 116 },
  aarch64: { mknodat: 33, sysinfo: 179 },
  arm: { mknod: 14, mknodat: 324, sysinfo: 116 },
  riscv64: { mknodat: 33, sysinfo: 179 },
  ppc64le: { mknod: 14, mknodat: 288, sysinfo: 116 },
  s390x: { mknod: 14, mknodat: 290, sysinfo: 116 },
};

/** AT_FDCWD as the kernel reads the int dirfd argument. */
export const AT_FDCWD = -100;

export type DeviceCall =
  | { syscall: "mknod" | "mknodat"; dirfd: number; path: bigint; mode: number; dev: DevNumber }
  | { syscall: "sysinfo"; info: bigint };

export interface DevNumber {
  major: number;
  minor: number;
}

/**
 * The kernel's dev_t from mknod's unsigned int argument (new_decode_dev):
 * major in bits 8-19, minor in bits 0-7 and 20-31.
 */
export function decodeDev(raw: number): DevNumber {
  const dev = raw >>> 0;
  return { major: (dev & 0xfff00) >>> 8, minor: (dev & 0xff) | ((dev >>> 12) & 0xfff00) };
}

export function isDeviceCall(name: string): name is DeviceTrappedName {
  return (DEVICE_TRAPPED as readonly string[]).includes(name);
}

export function decodeDeviceCall(id: SyscallId & { name: DeviceTrappedName }, args: readonly bigint[]): DeviceCall {
  const a = (i: number) => (id.narrow ? BigInt.asUintN(32, args[i] ?? 0n) : BigInt.asUintN(64, args[i] ?? 0n));
  const int = (i: number) => Number(BigInt.asIntN(32, args[i] ?? 0n));
  const uint = (i: number) => Number(BigInt.asUintN(32, args[i] ?? 0n));
  if (id.name === "sysinfo") return { syscall: "sysinfo", info: a(0) };
  if (id.name === "mknod") return { syscall: "mknod", dirfd: AT_FDCWD, path: a(0), mode: uint(1), dev: decodeDev(uint(2)) };
  return { syscall: "mknodat", dirfd: int(0), path: a(1), mode: uint(2), dev: decodeDev(uint(3)) };
}
