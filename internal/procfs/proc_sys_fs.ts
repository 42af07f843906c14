/**
 * Emulated entries under /proc/sys/fs.
 *
 *   file                     policy      accepted values
 *   fs/protected_hardlinks   container   0..1
 *   fs/protected_symlinks    container   0..1
 *   fs/protected_fifos       container   0..2
 *   fs/protected_regular     container   0..2
 *   fs/file-max              max         0..2^64-1 (may raise the host's, never lowers it)
 *   fs/nr_open               max         0..2^30
 *   fs/binfmt_misc           an empty directory (a container mounts its own there)
 *
 * fs/mqueue/* is IPC-namespaced and passes through; the rest is the host's, read-only.
 */
import { intRange, ULONG_MAX, type SysctlSpec } from "./sysctl.ts";

export const FS_SYSCTLS: readonly SysctlSpec[] = [
  { path: "fs/protected_hardlinks", policy: "container", parse: intRange(0, 1) },
  { path: "fs/protected_symlinks", policy: "container", parse: intRange(0, 1) },
  { path: "fs/protected_fifos", policy: "container", parse: intRange(0, 2) },
  { path: "fs/protected_regular", policy: "container", parse: intRange(0, 2) },
  { path: "fs/file-max", policy: "max", parse: intRange(0, ULONG_MAX) },
  { path: "fs/nr_open", policy: "max", parse: intRange(0, 2 ** 30) },
];

/** Directories shown empty instead of mirrored. */
export const FS_EMPTY_DIRS: readonly string[] = ["fs/binfmt_misc"];
