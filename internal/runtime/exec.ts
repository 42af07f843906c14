/**
 * `exec`: runs a new process in a running container. The C stage joins every
 * namespace of the container's init (user first, mount last), forks into its
 * pid namespace, and re-executes sysbox-runc as the init stage in exec mode,
 * which prepares the process and execs it. Without --detach we wait for it:
 * sysbox-runc makes itself a child subreaper so the process is its to reap.
 */
import { readFileSync } from "node:fs";
import { spawnInNamespaces, awaitExec } from "../ns/mod.ts";
import { execJoinOrder } from "../ns/mod.ts";
import { O_FLAGS } from "../sys/fs.ts";
import { PR, exitCodeOf } from "../sys/proc.ts";
import { linuxSys, type Sys } from "../sys/linux.ts";
import { fromNodeError } from "../sys/errno.ts";
import { parseProcess } from "../oci/mod.ts";
import { loadState } from "./state.ts";
import { withContainerLock } from "./lock.ts";
import { statusOf } from "./status.ts";
import { awaitExecDone, sendSync } from "./syncmsg.ts";
import { selfExec, type SelfExec } from "./self.ts";
import { writePidFile, connectConsole, openDevNull, connectInterceptorFd, FdSet } from "./fds.ts";
import { addExecProcess, reopenCgroup } from "./cgroup.ts";
import { execSubCgroup } from "./exec_cgroup.ts";
import { loadSpec } from "./spec.ts";
import type { ProcessSpec } from "./process.ts";
import { systemContainerProcess } from "../syscont/mod.ts";
import { boundingSet } from "../sys/caps.ts";
import type { Logger } from "../log/mod.ts";

export interface ExecOptions {
  root: string;
  id: string;
  processFile?: string;
  args: string[];
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  tty: boolean;
  cwd?: string;
  env: string[];
  user?: string;
  preserveFds: number;
  /** `--cgroup [<controllers>:]<path>` entries: a sub-cgroup to run in (exec_cgroup.ts). */
  cgroups?: string[];
  log: Logger;
}

function readProcessFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw fromNodeError(e, path);
  }
}

function buildProcess(opts: ExecOptions, defaults: ProcessSpec | undefined): ProcessSpec {
  if (opts.processFile) return parseProcess(readProcessFile(opts.processFile), opts.processFile);
  if (opts.args.length === 0) throw new Error("exec: a command is required (or --process FILE)");
  const [uid, gid] = (opts.user ?? "0:0").split(":").map(Number);
  return {
    ...(defaults ?? { cwd: "/" }),
    args: opts.args,
    terminal: opts.tty,
    cwd: opts.cwd ?? defaults?.cwd ?? "/",
    env: [...(defaults?.env ?? []), ...opts.env],
    user: { uid: uid ?? 0, gid: gid ?? 0 },
  } as ProcessSpec;
}

/** Everything exec acts through; linuxExecDeps is the real one. */
export interface ExecDeps {
  sys: Sys;
  spawnInNamespaces: typeof spawnInNamespaces;
  awaitExec: typeof awaitExec;
  connectConsole: (path: string, sys: Sys) => number;
  connectInterceptor: () => Promise<number>;
  self: () => SelfExec;
  writePidFile: (path: string, pid: number) => void;
  /** The host's capability bounding set (a system container's exec keeps only those). */
  boundingSet: () => bigint;
}

export const linuxExecDeps: ExecDeps = {
  sys: linuxSys, spawnInNamespaces, awaitExec, connectConsole, connectInterceptor: connectInterceptorFd,
  self: selfExec, writePidFile, boundingSet,
};

export async function execInContainer(opts: ExecOptions, deps: ExecDeps = linuxExecDeps): Promise<number> {
  const { sys } = deps;
  // Held until the process is started, not while a foreground one runs: a
  // `delete --force` must be able to stop it.
  const started = await withContainerLock(opts.root, opts.id, () => startExec(opts, deps));
  if (opts.detach) return 0;
  for (;;) {
    const r = sys.waitpid(started, 0);
    if (r.pid === started) return exitCodeOf(r.status);
  }
}

/** Starts the process in the container; returns its host pid once its execve succeeded. */
async function startExec(opts: ExecOptions, deps: ExecDeps): Promise<number> {
  const { sys } = deps;
  const st = loadState(opts.root, opts.id);
  const status = statusOf(opts.root, st);
  if (status !== "running" && status !== "created") throw new Error(`cannot exec in a ${status} container`);
  const spec = loadSpec(st.configPath);
  const built = buildProcess(opts, spec.process);
  const proc = st.userns ? systemContainerProcess(built, deps.boundingSet()) : built;

  const fds = new FdSet(sys);
  try {
    // The mount namespace is entered by the init stage itself, once it runs:
    // the C stage execs sysbox-runc from the host's root, so its libraries
    // load from there and not from an image that may lack them (Alpine).
    const order = execJoinOrder(st.namespaces);
    const join = order.filter((ns) => ns.proc !== "mnt").map((ns) => ({
      fd: fds.add(sys.open(`/proc/${st.pid}/ns/${ns.proc}`, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC)), type: ns.flag,
    }));
    const mntFd = order.some((ns) => ns.proc === "mnt") ? fds.add(sys.open(`/proc/${st.pid}/ns/mnt`, O_FLAGS.RDONLY)) : -1;
    const consoleFd = opts.consoleSocket ? fds.add(deps.connectConsole(opts.consoleSocket, sys)) : -1;
    const self = deps.self();
    const execFd = fds.add(sys.open(self.path, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC));
    const nullFd = proc.terminal ? fds.add(openDevNull(sys)) : -1;
    const interceptFd = st.fs ? fds.add(await deps.connectInterceptor()) : -1;
    if (!opts.detach) sys.prctl(PR.SET_CHILD_SUBREAPER, 1);
    const cgPath = st.procsCgroupPath ?? st.cgroupPath;
    const cg = cgPath ? execSubCgroup(reopenCgroup(cgPath), opts.cgroups ?? []) : undefined;
    const spawned = deps.spawnInNamespaces({
      flags: 0, join, execFd, argv: [...self.argv, "init"], env: [], setIds: st.userns, stdioFd: nullFd,
      onReady: (pid) => { if (cg) addExecProcess(cg, pid, st.pid, (opts.cgroups ?? []).length === 0); },
    });
    fds.add(spawned.syncFd);
    deps.awaitExec(spawned.syncFd);
    sendSync(sys, spawned.syncFd, { t: "exec", id: opts.id, interceptFd, mntFd, process: proc, consoleFd, preserveFds: opts.preserveFds, spec });
    awaitExecDone(sys, spawned.syncFd, (msg) => opts.log.warn(msg));
    if (opts.pidFile) deps.writePidFile(opts.pidFile, spawned.pid);
    return spawned.pid;
  } finally {
    // Close errors are not exec's failure: the kernel releases the fd anyway.
    try { fds.closeAll(); } catch { /* released all the same */ }
  }
}
