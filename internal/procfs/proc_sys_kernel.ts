/**
 * Emulated entries under /proc/sys/kernel. Global kernel settings get a
 * per-container value; the kernel's namespaced entries (hostname,
 * domainname, shm and msg limits...) are not listed here: they pass through
 * to the caller's own namespaces (proc_sys.ts).
 *
 *   file                    policy      accepted values
 *   kernel/panic            container   any int
 *   kernel/panic_on_oops    container   any int
 *   kernel/pid_max          container   301..4194304 (the kernel's bounds on 64-bit)
 *   kernel/sysrq            container   0..511
 *   kernel/kptr_restrict    container   0..2
 *   kernel/dmesg_restrict   container   0..1
 *   kernel/printk           container   up to 4 ints; a shorter write keeps the rest
 *   kernel/yama/ptrace_scope container  0..3
 *   kernel/cap_last_cap     read-only   (host value)
 *   kernel/ngroups_max      read-only   (host value)
 */
import { anyInt, intRange, intVector, type SysctlSpec } from "./sysctl.ts";

export const KERNEL_SYSCTLS: readonly SysctlSpec[] = [
  { path: "kernel/panic", policy: "container", parse: anyInt },
  { path: "kernel/panic_on_oops", policy: "container", parse: anyInt },
  { path: "kernel/pid_max", policy: "container", parse: intRange(301, 4194304) },
  { path: "kernel/sysrq", policy: "container", parse: intRange(0, 511) },
  { path: "kernel/kptr_restrict", policy: "container", parse: intRange(0, 2) },
  { path: "kernel/dmesg_restrict", policy: "container", parse: intRange(0, 1) },
  { path: "kernel/printk", policy: "container", parse: intVector(4) },
  { path: "kernel/yama/ptrace_scope", policy: "container", parse: intRange(0, 3) },
  { path: "kernel/cap_last_cap", policy: "read-only" },
  { path: "kernel/ngroups_max", policy: "read-only" },
];
