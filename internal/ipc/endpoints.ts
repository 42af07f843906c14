/** Where each daemon listens and keeps its pid file, relative to the run dir. */
import { join } from "node:path";
import type { DaemonKind } from "./messages.ts";

/** Sysbox's run dir; `--run-dir` overrides it so tests can run isolated daemons. */
export const DEFAULT_RUN_DIR = "/run/sysbox";

/**
 * Parent of sysbox-fs's per-container FUSE mounts (`--mountpoint`); sysbox-runc
 * makes it a shared mount so those mounts reach the containers' binds.
 */
export const DEFAULT_MOUNT_ROOT = "/var/lib/sysboxfs";

export interface Endpoint {
  /** Program name, used in messages ("failed to connect to sysbox-mgr at ..."). */
  name: string;
  socket: string;
  pidFile: string;
}

export const ENDPOINTS: Record<DaemonKind, Endpoint> = {
  mgr: { name: "sysbox-mgr", socket: "sysmgr.sock", pidFile: "sysmgr.pid" },
  fs: { name: "sysbox-fs", socket: "sysfs.sock", pidFile: "sysfs.pid" },
};

export function socketPath(daemon: DaemonKind, runDir: string = DEFAULT_RUN_DIR): string {
  return join(runDir, ENDPOINTS[daemon].socket);
}

export function pidFilePath(daemon: DaemonKind, runDir: string = DEFAULT_RUN_DIR): string {
  return join(runDir, ENDPOINTS[daemon].pidFile);
}
