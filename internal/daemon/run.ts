/**
 * The life of a daemon process, shared by sysbox-mgr and sysbox-fs:
 *
 *   startDaemon:  mkdir run dir (0700) -> pid file -> setup() -> serve socket (0600)
 *   untilSignal:  wait for SIGTERM or SIGINT
 *   close:        stop accepting, finish in-flight requests,
 *                 remove socket, remove pid file
 *
 * An exit without close() (a crash) still removes both files from an
 * `exit` hook, so the next start does not have to treat them as stale.
 */
import type { Logger } from "../log/mod.ts";
import { mkdirSync, unlinkSync } from "node:fs";
import { ENDPOINTS, pidFilePath, socketPath } from "../ipc/mod.ts";
import type { DaemonKind, DaemonMessages, Handler, Handlers, ResponseInput } from "../ipc/mod.ts";
import { serve, type Server } from "../ipc/mod.ts";
import { COMMIT, VERSION } from "../version/mod.ts";
import { acquirePidFile } from "./pidfile.ts";

export interface StartOptions<K extends DaemonKind> {
  runDir: string;
  /** One handler per request type the daemon serves (DaemonMessages[K]). */
  handlers: Handlers<DaemonMessages[K]>;
  logger?: Logger;
  maxFrame?: number;
  /**
   * Runs once this process owns the pid file and before the socket is
   * served, so a second instance never touches the first one's state. A
   * throw releases the pid file and fails the start.
   */
  setup?: () => void | Promise<void>;
}

export interface RunningDaemon {
  readonly name: string;
  readonly socketPath: string;
  readonly pidFile: string;
  readonly server: Server;
  /** Graceful stop; safe to call more than once. */
  close(): Promise<void>;
}

/** Claims the pid file and starts serving; throws AlreadyRunningError or the listen failure. */
export async function startDaemon<K extends DaemonKind>(daemon: K, opts: StartOptions<K>): Promise<RunningDaemon> {
  const { name } = ENDPOINTS[daemon];
  const sock = socketPath(daemon, opts.runDir);
  mkdirSync(opts.runDir, { recursive: true, mode: 0o700 });
  const pid = acquirePidFile(pidFilePath(daemon, opts.runDir), name);
  let server: Server;
  try {
    await opts.setup?.();
    server = await serve(sock, opts.handlers, {
      name,
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.maxFrame !== undefined ? { maxFrame: opts.maxFrame } : {}),
    });
  } catch (e) {
    pid.release();
    throw e;
  }
  const onExit = () => {
    try {
      unlinkSync(sock);
    } catch {
      // Already gone, or never ours; nothing else can be done while exiting.
    }
    pid.release();
  };
  process.on("exit", onExit);
  let closing: Promise<void> | undefined;
  return {
    name,
    socketPath: sock,
    pidFile: pid.path,
    server,
    close() {
      closing ??= (async () => {
        try {
          await server.close();
        } finally {
          pid.release();
          process.off("exit", onExit);
        }
      })();
      return closing;
    },
  };
}

/**
 * Resolves with the first of `signals` to arrive. The handlers are removed
 * then, so a second signal during shutdown terminates the process at once.
 */
export function untilSignal(signals: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"]): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handlers = signals.map((sig) => {
      const h = () => {
        for (const [s, fn] of handlers) process.off(s, fn);
        resolve(sig);
      };
      process.on(sig, h);
      return [sig, h] as const;
    });
  });
}

/** What every daemon's `status` reply says about the process. */
export function statusBody(name: string) {
  return {
    daemon: name,
    version: VERSION,
    commit: COMMIT,
    pid: process.pid,
    uptimeSeconds: Math.round(process.uptime() * 1000) / 1000,
  } satisfies ResponseInput<"status">;
}

/** The `status` handler every daemon serves. */
export function statusHandler(name: string): Handler<"status"> {
  return () => statusBody(name);
}
