/**
 * /proc/swaps, emulated, read-only (EACCES at open for writing).
 *
 * The header only: no swap device is visible to the container, as in
 * Sysbox. LXCFS adds a synthesized line from the cgroup's swap limit and
 * usage; that needs the container's cgroup, which registration does not
 * carry yet.
 */
import { file, type FileSpec } from "../fuse/tree.ts";
import { containerRoot, type Emulation } from "./container.ts";

/** The kernel's header line (mm/swapfile.c swap_show). */
export const SWAPS_HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

export function procSwaps(em: Emulation): FileSpec {
  return file(() => SWAPS_HEADER, { ...containerRoot(em.info), mode: 0o444 });
}
