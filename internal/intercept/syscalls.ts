/**
 * Which trapped syscall a notification is, from seccomp_data's (arch, nr),
 * and its arguments decoded per ABI. A static table: the supervisor never
 * needs libseccomp to read a notification. The unit test checks it against
 * libseccomp's own tables where that library is installed.
 */
import { DEVICE_NR, DEVICE_TRAPPED } from "./syscalls_devices.ts";

import { SETTINGS_NR, type SettingsSyscall } from "./settings_syscalls.ts";

/** The syscalls the notify filter traps (client.ts installs it). */
export const TRAPPED = [
  "mount", "umount2", "umount",
  ...DEVICE_TRAPPED,
] as const;
/** A trapped syscall: always (TRAPPED), or for containers whose settings ask (settings_syscalls.ts). */
export type TrappedName = (typeof TRAPPED)[number] | SettingsSyscall;

/** AUDIT_ARCH_* values the kernel reports in seccomp_data.arch. */
export const AUDIT_ARCH = {
  X86_64: 0xc000_003e,
  I386: 0x4000_0003,
  AARCH64: 0xc000_00b7,
  ARM: 0x4000_0028,
  RISCV64: 0xc000_00f3,
  PPC64LE: 0xc000_0015,
  S390X: 0x8000_0016,
} as const;

/** x32 shares AUDIT_ARCH_X86_64 and sets this bit in the syscall number. */
export const X32_SYSCALL_BIT = 0x4000_0000;

interface ArchTable {
  name: string;
  /** Pointers and longs are 32 bits: the upper halves of args are ignored. */
  narrow: boolean;
  nr: Partial<Record<TrappedName, number>>;
}

/** Numbers from each arch's syscall table (asm-generic for aarch64 and riscv64). */
const ARCHES: Record<number, ArchTable> = {
  [AUDIT_ARCH.X86_64]: { name: "x86_64", narrow: false, nr: { mount: 165, umount2: 166 } },
  [AUDIT_ARCH.I386]: { name: "i386", narrow: true, nr: { mount: 21, umount: 22, umount2: 52 } },
  [AUDIT_ARCH.AARCH64]: { name: "aarch64", narrow: false, nr: { mount: 40, umount2: 39 } },
  [AUDIT_ARCH.ARM]: { name: "arm", narrow: true, nr: { mount: 21, umount2: 52 } },
  [AUDIT_ARCH.RISCV64]: { name: "riscv64", narrow: false, nr: { mount: 40, umount2: 39 } },
  [AUDIT_ARCH.PPC64LE]: { name: "ppc64le", narrow: false, nr: { mount: 21, umount: 22, umount2: 52 } },
  [AUDIT_ARCH.S390X]: { name: "s390x", narrow: false, nr: { mount: 21, umount: 22, umount2: 52 } },
};

for (const t of Object.values(ARCHES)) Object.assign(t.nr, DEVICE_NR[t.name]);

export interface SyscallId {
  name: TrappedName;
  /** Architecture label for logs ("x86_64", "x32", "i386", ...). */
  arch: string;
  narrow: boolean;
}

/** The trapped syscall for (arch, nr), or undefined for anything else. */
export function syscallOf(arch: number, nr: number): SyscallId | undefined {
  const table = ARCHES[arch >>> 0];
  if (!table) return undefined;
  let n = nr;
  let label = table.name;
  let narrow = table.narrow;
  if (arch >>> 0 === AUDIT_ARCH.X86_64 && nr >= 0 && (nr & X32_SYSCALL_BIT) !== 0) {
    n = nr & ~X32_SYSCALL_BIT;
    label = "x32";
    narrow = true;
  }
  for (const name of TRAPPED) if (table.nr[name] === n) return { name, arch: label, narrow };
  for (const [name, nr] of Object.entries(SETTINGS_NR[table.name] ?? {})) if (nr === n) return { name: name as SettingsSyscall, arch: label, narrow };
  return undefined;
}

/** The numbers the table knows for one arch, for the cross-check test. */
export function archNumbers(arch: number): Partial<Record<TrappedName, number>> {
  const table = ARCHES[arch >>> 0];
  return { ...(table?.nr ?? {}), ...(table ? SETTINGS_NR[table.name] : {}) };
}

/** An argument as the callee sees it: truncated to 32 bits on narrow ABIs. */
export function argValue(raw: bigint, narrow: boolean): bigint {
  return narrow ? BigInt.asUintN(32, raw) : BigInt.asUintN(64, raw);
}

/** mount(2)'s legacy magic in the top 16 bits of flags, stripped by the kernel (do_mount). */
const MS_MGC_MSK = 0xffff_0000n;
const MS_MGC_VAL = 0xc0ed_0000n;

/** mount(2) flags the way the kernel reads them (unsigned long, legacy magic removed). */
export function mountFlags(raw: bigint, narrow: boolean): number {
  let f = argValue(raw, narrow);
  if ((f & MS_MGC_MSK) === MS_MGC_VAL) f &= ~MS_MGC_MSK;
  // Every MS_* flag the kernel defines fits in 32 bits.
  return Number(f & 0xffff_ffffn);
}

/** A trapped call with the arguments the policy reads. Pointers stay unread addresses. */
export type DecodedCall =
  | { syscall: "mount"; source: bigint; target: bigint; fstype: bigint; flags: number; data: bigint }
  | { syscall: "umount2" | "umount"; target: bigint; flags: number };

export function decodeCall(id: SyscallId & { name: DecodedCall["syscall"] }, args: readonly bigint[]): DecodedCall {
  const a = (i: number) => argValue(args[i] ?? 0n, id.narrow);
  if (id.name === "mount") {
    return { syscall: "mount", source: a(0), target: a(1), fstype: a(2), flags: mountFlags(args[3] ?? 0n, id.narrow), data: a(4) };
  }
  if (id.name === "umount2") return { syscall: "umount2", target: a(0), flags: Number(a(1) & 0xffff_ffffn) };
  return { syscall: "umount", target: a(0), flags: 0 };
}
