/**
 * /proc/uptime, emulated, read-only (a write is refused at open: EACCES).
 *
 *   "<up> <idle>\n", two decimals each, like the kernel prints it:
 *   up    seconds since the container started (host boot clock minus its
 *         start), so it counts from 0 at container start
 *   idle  approximated as up × the host's idle/up ratio (the host's idle
 *         time is summed over CPUs, so the ratio carries the CPU count);
 *         LXCFS-style idle from the container's own CPU usage needs its
 *         cgroup, which registration does not carry yet
 */
import { file, type FileSpec } from "../fuse/mod.ts";
import { containerRoot, type Emulation } from "./container.ts";

export function uptimeText(em: Emulation): string {
  const host = em.host.uptime();
  const up = Math.max(0, host.up - em.info.startBoot);
  const idle = host.up > 0 ? (up * host.idle) / host.up : 0;
  return `${up.toFixed(2)} ${idle.toFixed(2)}\n`;
}

export function procUptime(em: Emulation): FileSpec {
  return file(() => uptimeText(em), { ...containerRoot(em.info), mode: 0o444 });
}
