/**
 * sysbox-fs put together: the FUSE server (SysboxFs, one mount per
 * container) behind <run-dir>/sysfs.sock, and the seccomp interceptor
 * (seccomp/server.ts) behind <run-dir>/sysfs-seccomp.sock, whose new proc
 * and sysfs mounts inside a container get the same emulated files the
 * runtime binds at create (procfs BINDS under the same mount root).
 *
 *   start:  SysboxFs  ->  daemon socket (setup: fs.open(), saved containers)
 *                     ->  interceptor (adopts kept notify fds)
 *   close:  interceptor -> daemon socket -> SysboxFs   (the reverse)
 */
import type { Logger } from "../log/mod.ts";
import { join } from "node:path";
import { startDaemon, type RunningDaemon } from "../daemon/mod.ts";
import { BINDS } from "../procfs/mod.ts";
import { fsHandlers } from "./handlers.ts";
import { startInterceptServer } from "./seccomp/server.ts";
import { SysboxFs } from "./server.ts";
import { STATE_FILE } from "./state.ts";

export interface SysboxFsOptions {
  /** The name in status replies and logs. */
  name: string;
  /** Where the sockets, the pid file and both state files live. */
  runDir: string;
  /** Parent of the per-container FUSE mounts. */
  mountRoot: string;
  /** Keep FUSE connections and seccomp notify fds open across restarts in keeper processes. */
  keepers: boolean;
  /** Log each FUSE request and every seccomp decision. */
  debug: boolean;
}

export interface RunningSysboxFs {
  /** The daemon socket sysbox-runc registers containers on. */
  readonly socketPath: string;
  counts(): { containers: number };
  /** Stops the interceptor, the daemon socket, then the FUSE server; the first failure is thrown. */
  close(): Promise<void>;
}

/**
 * Starts serving. Throws what failed (the pid file is taken, a saved state
 * cannot be served, the interceptor cannot start) after undoing what had
 * started, except the FUSE server when the daemon itself failed to start.
 */
export async function startSysboxFs(opts: SysboxFsOptions, log: Logger): Promise<RunningSysboxFs> {
  const fs = new SysboxFs({
    mountRoot: opts.mountRoot,
    stateFile: join(opts.runDir, STATE_FILE),
    keepers: opts.keepers,
    log,
    trace: opts.debug,
  });
  const daemon: RunningDaemon = await startDaemon("fs", {
    runDir: opts.runDir, handlers: fsHandlers(fs, opts.name), logger: log, setup: () => fs.open(),
  });
  let intercept;
  try {
    intercept = await startInterceptServer({
      runDir: opts.runDir, logger: log, debug: opts.debug, keepers: opts.keepers,
      virtualFs: { mountRoot: opts.mountRoot, binds: BINDS },
    });
  } catch (e) {
    await daemon.close();
    await fs.close();
    throw new Error(`the seccomp interceptor: ${(e as Error).message}`, { cause: e });
  }
  fs.onFigures = (list) => intercept.setFigures(list);
  intercept.setFigures(fs.figures());
  return {
    socketPath: daemon.socketPath,
    counts: () => fs.counts(),
    async close() {
      await intercept.close();
      await daemon.close();
      await fs.close();
    },
  };
}
