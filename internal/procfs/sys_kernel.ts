/**
 * /sys/kernel, for sysbox-runc to bind over the same path.
 *
 *   sys/kernel/                 the host's /sys/kernel, read-only: every node keeps the
 *                               host's owner (host root: nobody in the container) and mode,
 *                               and nothing is writable through us (EACCES at open)
 *     config/ debug/ tracing/ security/
 *                               emulated empty dirs owned by the container's root, present
 *                               even when the host has no configfs/debugfs/tracefs/securityfs,
 *                               so nothing of those filesystems shows through
 *
 * Symbolic links (the slab aliases) are left out.
 */
import { dir, type DirSpec } from "../fuse/mod.ts";
import { hostMirrorDir } from "./_mirror.ts";
import { containerRoot, type Emulation } from "./container.ts";

export const SYS_KERNEL_EMPTY_DIRS: Readonly<Record<string, number>> = { config: 0o755, debug: 0o700, tracing: 0o700, security: 0o755 };

export function sysKernel(em: Emulation): DirSpec {
  const owner = containerRoot(em.info);
  const children = Object.fromEntries(Object.entries(SYS_KERNEL_EMPTY_DIRS).map(([name, mode]) => [name, dir({}, { ...owner, mode })]));
  return hostMirrorDir(em, "/sys/kernel", { children });
}
