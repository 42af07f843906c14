/**
 * Emulated entries under /proc/sys/vm (all global in the kernel).
 *
 *   file                   policy      accepted values
 *   vm/overcommit_memory   container   0..2
 *   vm/mmap_min_addr       container   0..2^64-1
 *
 * Every other vm/ entry is the host's, read-only (proc_sys.ts).
 */
import { intRange, ULONG_MAX, type SysctlSpec } from "./sysctl.ts";

export const VM_SYSCTLS: readonly SysctlSpec[] = [
  { path: "vm/overcommit_memory", policy: "container", parse: intRange(0, 2) },
  { path: "vm/mmap_min_addr", policy: "container", parse: intRange(0, ULONG_MAX) },
];
