/**
 * Syscall numbers for calls libc has no wrapper for, per architecture.
 * x86_64 from arch/x86/entry/syscalls/syscall_64.tbl; arm64 uses the generic
 * table (include/uapi/asm-generic/unistd.h).
 */
const X86_64 = {
  pivot_root: 155, capget: 125, capset: 126, seccomp: 317, pidfd_send_signal: 424,
  open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432,
  pidfd_open: 434, clone3: 435, close_range: 436, pidfd_getfd: 438, mount_setattr: 442,
  setresuid: 117, setresgid: 119, setgroups: 116, execveat: 322, memfd_create: 319,
  setfsuid: 122, setfsgid: 123,
} as const;

const ARM64: Record<keyof typeof X86_64, number> = {
  pivot_root: 41, capget: 90, capset: 91, seccomp: 277, pidfd_send_signal: 424,
  open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432,
  pidfd_open: 434, clone3: 435, close_range: 436, pidfd_getfd: 438, mount_setattr: 442,
  setresuid: 147, setresgid: 149, setgroups: 159, execveat: 281, memfd_create: 279,
  setfsuid: 151, setfsgid: 152,
};

export type SyscallName = keyof typeof X86_64;

export const SYS: Record<SyscallName, number> = process.arch === "arm64" ? ARM64 : X86_64;
