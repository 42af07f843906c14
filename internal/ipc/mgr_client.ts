/**
 * sysbox-runc's side of sysbox-mgr: one function per message, each failure
 * an MgrError whose message says which step failed and, when the daemon
 * cannot be reached, that it may not be running:
 *
 *   failed to register with sysbox-mgr: failed to connect to sysbox-mgr at
 *   /run/sysbox/sysmgr.sock: ENOENT (is sysbox-mgr running?)
 *
 * The one-shot functions open a connection per call; openMgr() keeps one
 * open for several calls (create sends register, prepareMounts, update).
 */
import { connectDaemon, DAEMON_RESTART_GRACE_MS, DaemonError, describeFailure, type Client, type ConnectOptions } from "./client.ts";
import type { DaemonMessages, MgrMountKind, RequestInput, ResponseBody } from "./messages.ts";

export interface MgrOptions {
  /** Default /run/sysbox. */
  runDir?: string;
  /** Per-request timeout; default the IPC client's (30 s). */
  timeoutMs?: number;
  /** How long a restarting sysbox-mgr is waited for; default DAEMON_RESTART_GRACE_MS. */
  restartGraceMs?: number;
}

export type MgrRange = ResponseBody<"register">;
export type MgrMount = ResponseBody<"prepareMounts">["mounts"][number];
export type UnregisterResult = ResponseBody<"unregister">["result"];

/** A failed exchange with sysbox-mgr. `code` is the daemon's error code or the IPC failure ("connect", "timeout", ...). */
export class MgrError extends DaemonError {
  override name = "MgrError";
}

function wrap(what: string, e: unknown): MgrError {
  const { message, code } = describeFailure("sysbox-mgr", what, e);
  return new MgrError(message, code, { cause: e });
}

/** An open connection to sysbox-mgr. */
export class MgrSession {
  #client: Client<DaemonMessages["mgr"]>;
  #timeout: { timeoutMs?: number };

  /** Use openMgr(). */
  constructor(client: Client<DaemonMessages["mgr"]>, opts: MgrOptions) {
    this.#client = client;
    this.#timeout = opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs };
  }

  /** Before the init process exists: the container's exclusive ID range (the same one again for a known id). */
  async register(id: string, opts: { rootfs?: string; mapping?: RequestInput<"register">["mapping"] } = {}): Promise<MgrRange> {
    try {
      return await this.#client.request("register", { id, ...opts }, this.#timeout);
    } catch (e) {
      throw wrap("failed to register with sysbox-mgr", e);
    }
  }

  /** Host-backed dirs owned by `owner`, and the mounts to add to the spec. */
  async prepareMounts(id: string, owner: { uid: number; gid: number }, opts: { kinds?: MgrMountKind[] } = {}): Promise<MgrMount[]> {
    try {
      return (await this.#client.request("prepareMounts", { id, ...owner, ...opts }, this.#timeout)).mounts;
    } catch (e) {
      throw wrap("failed to get mounts from sysbox-mgr", e);
    }
  }

  /** Once the init process exists; `startTime` is field 22 of /proc/PID/stat. */
  async update(id: string, init: { pid: number; startTime: string }): Promise<void> {
    try {
      await this.#client.request("update", { id, initPid: init.pid, initStartTime: init.startTime }, this.#timeout);
    } catch (e) {
      throw wrap("failed to update sysbox-mgr", e);
    }
  }

  /** At delete: "released", or "kept" while the rootfs exists (a stopped Docker container), or "unknown". */
  async unregister(id: string): Promise<UnregisterResult> {
    try {
      return (await this.#client.request("unregister", { id }, this.#timeout)).result;
    } catch (e) {
      throw wrap("failed to unregister from sysbox-mgr", e);
    }
  }

  close(): void {
    this.#client.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Connects to sysbox-mgr; MgrError("connect") names the step as `what` (default "failed to reach sysbox-mgr"). */
export async function openMgr(opts: MgrOptions & { what?: string } = {}): Promise<MgrSession> {
  const conn: ConnectOptions & { runDir?: string; restartGraceMs?: number } = { restartGraceMs: opts.restartGraceMs ?? DAEMON_RESTART_GRACE_MS };
  if (opts.runDir !== undefined) conn.runDir = opts.runDir;
  if (opts.timeoutMs !== undefined) conn.timeoutMs = opts.timeoutMs;
  try {
    return new MgrSession(await connectDaemon("mgr", conn), opts);
  } catch (e) {
    throw wrap(opts.what ?? "failed to reach sysbox-mgr", e);
  }
}

export async function registerWithMgr(
  id: string,
  opts: MgrOptions & { rootfs?: string; mapping?: RequestInput<"register">["mapping"] } = {},
): Promise<MgrRange> {
  const { runDir, timeoutMs, restartGraceMs, ...rest } = opts;
  using mgr = await openMgr({ runDir, timeoutMs, restartGraceMs, what: "failed to register with sysbox-mgr" });
  return await mgr.register(id, rest);
}

export async function prepareMgrMounts(
  id: string,
  owner: { uid: number; gid: number },
  opts: MgrOptions & { kinds?: MgrMountKind[] } = {},
): Promise<MgrMount[]> {
  const { runDir, timeoutMs, restartGraceMs, ...rest } = opts;
  using mgr = await openMgr({ runDir, timeoutMs, restartGraceMs, what: "failed to get mounts from sysbox-mgr" });
  return await mgr.prepareMounts(id, owner, rest);
}

export async function updateMgr(id: string, init: { pid: number; startTime: string }, opts: MgrOptions = {}): Promise<void> {
  using mgr = await openMgr({ ...opts, what: "failed to update sysbox-mgr" });
  return await mgr.update(id, init);
}

export async function unregisterFromMgr(id: string, opts: MgrOptions = {}): Promise<UnregisterResult> {
  using mgr = await openMgr({ ...opts, what: "failed to unregister from sysbox-mgr" });
  return await mgr.unregister(id);
}
