/**
 * sysbox-runc's side of sysbox-fs: one function per message, each failure
 * an FsError whose message says which step failed:
 *
 *   failed to register with sysbox-fs: failed to connect to sysbox-fs at
 *   /run/sysbox/sysfs.sock: ENOENT (is sysbox-fs running?)
 */
import { connectDaemon, DAEMON_RESTART_GRACE_MS, DaemonError, describeFailure, type ConnectOptions } from "./client.ts";
import type { RequestInput, ResponseBody } from "./messages.ts";

export interface FsClientOptions {
  /** Default /run/sysbox. */
  runDir?: string;
  /** Per-request timeout; default the IPC client's (30 s). */
  timeoutMs?: number;
  /** How long a restarting sysbox-fs is waited for; default DAEMON_RESTART_GRACE_MS. */
  restartGraceMs?: number;
}

export type FsRegistration = ResponseBody<"fsRegister">;
export type FsContainer = Omit<RequestInput<"fsRegister">, "id">;

/** A failed exchange with sysbox-fs. `code` is the daemon's error code or the IPC failure ("connect", "timeout", ...). */
export class FsError extends DaemonError {
  override name = "FsError";
}

function wrap(what: string, e: unknown): FsError {
  const { message, code } = describeFailure("sysbox-fs", what, e);
  return new FsError(message, code, { cause: e });
}

async function exchange<T>(what: string, opts: FsClientOptions, fn: (c: Awaited<ReturnType<typeof connectDaemon<"fs">>>, t: { timeoutMs?: number }) => Promise<T>): Promise<T> {
  const conn: ConnectOptions & { runDir?: string; restartGraceMs?: number } = { restartGraceMs: opts.restartGraceMs ?? DAEMON_RESTART_GRACE_MS };
  if (opts.runDir !== undefined) conn.runDir = opts.runDir;
  if (opts.timeoutMs !== undefined) conn.timeoutMs = opts.timeoutMs;
  try {
    using c = await connectDaemon("fs", conn);
    return await fn(c, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs });
  } catch (e) {
    throw wrap(what, e);
  }
}

/**
 * Once the init process exists and before the container's /proc is in
 * place: mounts the container's FUSE dir and returns the binds to make.
 */
export function registerWithFs(id: string, container: FsContainer, opts: FsClientOptions = {}): Promise<FsRegistration> {
  return exchange("failed to register with sysbox-fs", opts, (c, t) => c.request("fsRegister", { id, ...container }, t));
}

/** At delete: "released", or "unknown" for an id sysbox-fs does not serve. */
export async function unregisterFromFs(id: string, opts: FsClientOptions = {}): Promise<ResponseBody<"fsUnregister">["result"]> {
  return (await exchange("failed to unregister from sysbox-fs", opts, (c, t) => c.request("fsUnregister", { id }, t))).result;
}
