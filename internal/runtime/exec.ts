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
import { agentMessage, seccompAgentOf, AGENT_WITH_INTERCEPTION } from "./seccomp_agent.ts";
import { consoleMode, consolePair, hostConsole, receiveMaster, runForeground } from "./foreground.ts";
import { loadSpec } from "./spec.ts";
import type { ProcessSpec } from "./process.ts";
import { execSettings, resolveSettings, systemContainerProcess, trapGroups, SYSBOX_SETTING_DEFAULTS } from "../syscont/mod.ts";
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
  /** A connected socket for the pty master instead of --console-socket (set by execInContainer). */
  consoleFd?: number;
  tty: boolean;
  cwd?: string;
  env: string[];
  user?: string;
  preserveFds: number;
  /** Exec even into a paused container (the process stays frozen until it is resumed), as runc's --ignore-paused. */
  ignorePaused?: boolean;
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
  /** Waiting in the foreground (signals, terminal); without it, a plain waitpid (unit tests). */
  foreground?: {
    hostConsole: typeof hostConsole;
    consolePair: typeof consolePair;
    receiveMaster: typeof receiveMaster;
    run: typeof runForeground;
  };
}

export const linuxExecDeps: ExecDeps = {
  sys: linuxSys, spawnInNamespaces, awaitExec, connectConsole, connectInterceptor: connectInterceptorFd,
  self: selfExec, writePidFile, boundingSet,
  foreground: { hostConsole, consolePair, receiveMaster, run: runForeground },
};

export async function execInContainer(opts: ExecOptions, deps: ExecDeps = linuxExecDeps): Promise<number> {
  const { sys } = deps;
  // Held until the process is started, not while a foreground one runs: a
  // `delete --force` must be able to stop it. Not at all with
  // --ignore-paused: the start waits for `resume`, which takes the lock.
  const locked = <T>(fn: () => Promise<T>) => (opts.ignorePaused ? fn() : withContainerLock(opts.root, opts.id, fn));
  if (opts.detach || !deps.foreground) {
    const started = await locked(() => startExec(opts, deps));
    if (opts.detach) return 0;
    for (;;) {
      const r = sys.waitpid(started, 0);
      if (r.pid === started) return exitCodeOf(r.status);
    }
  }
  const fg = deps.foreground;
  const terminal = opts.processFile ? parseProcess(readProcessFile(opts.processFile), opts.processFile).terminal === true : opts.tty;
  const mode = consoleMode(terminal, opts.consoleSocket, false);
  const host = mode === "foreground" ? fg.hostConsole() : undefined;
  const pair = host ? fg.consolePair() : undefined;
  let master: number | undefined;
  let started: number;
  try {
    started = await locked(() => startExec(pair ? { ...opts, consoleFd: pair.init } : opts, deps));
    if (pair) {
      sys.close(pair.init);
      pair.init = -1;
      master = fg.receiveMaster(pair.ours);
    }
  } catch (e) {
    if (host?.opened) sys.close(host.fd);
    throw e;
  } finally {
    if (pair) for (const fd of [pair.ours, pair.init]) if (fd >= 0) sys.close(fd);
  }
  return fg.run({ pid: started, reapAny: false, ...(master !== undefined ? { master } : {}), ...(host ? { host } : {}) });
}

/** Starts the process in the container; returns its host pid once its execve succeeded. */
async function startExec(opts: ExecOptions, deps: ExecDeps): Promise<number> {
  const { sys } = deps;
  const st = loadState(opts.root, opts.id);
  const status = statusOf(opts.root, st);
  if (status === "paused" && !opts.ignorePaused) throw new Error("cannot exec in a paused container (use --ignore-paused to override)");
  if (status !== "running" && status !== "created" && status !== "paused") throw new Error(`cannot exec in a ${status} container`);
  const spec = loadSpec(st.configPath);
  const built = buildProcess(opts, spec.process);
  // SYSBOX_HONOR_CAPS may be set per process; the container's other settings hold (and are dropped from its env).
  const { env, settings } = execSettings(built.env ?? [], st.settings ?? resolveSettings({}, SYSBOX_SETTING_DEFAULTS));
  const own = { ...built, env };
  const proc = st.userns && settings.syscontMode ? systemContainerProcess(own, deps.boundingSet(), { honorCaps: settings.honorCaps }) : own;
  const traps = st.fs ? trapGroups(settings) : [];

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
    const consoleFd = opts.consoleSocket ? fds.add(deps.connectConsole(opts.consoleSocket, sys)) : opts.consoleFd ?? -1;
    const self = deps.self();
    const execFd = fds.add(sys.open(self.path, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC));
    const nullFd = proc.terminal ? fds.add(openDevNull(sys)) : -1;
    const interceptFd = st.fs ? fds.add(await deps.connectInterceptor()) : -1;
    const agent = seccompAgentOf(spec);
    if (agent && st.fs) throw new Error(AGENT_WITH_INTERCEPTION);
    const agentFd = agent ? fds.add(deps.connectConsole(agent.path, sys)) : -1;
    if (!opts.detach) sys.prctl(PR.SET_CHILD_SUBREAPER, 1);
    const cgPath = st.procsCgroupPath ?? st.cgroupPath;
    const cg = cgPath ? execSubCgroup(reopenCgroup(cgPath), opts.cgroups ?? []) : undefined;
    const spawned = deps.spawnInNamespaces({
      flags: 0, join, execFd, argv: [...self.argv, "init"], env: [], setIds: st.userns, stdioFd: nullFd,
      onReady: (pid) => { if (cg) addExecProcess(cg, pid, st.pid, (opts.cgroups ?? []).length === 0); },
    });
    fds.add(spawned.syncFd);
    deps.awaitExec(spawned.syncFd);
    const seccompAgent = agent
      ? { fd: agentFd, state: agentMessage({ spec, id: opts.id, bundle: st.bundle, pid: spawned.pid, metadata: agent.metadata, status: "running", annotations: st.annotations }) }
      : null;
    sendSync(sys, spawned.syncFd, { t: "exec", id: opts.id, interceptFd, ...(traps.length ? { traps } : {}), mntFd, process: proc, consoleFd, preserveFds: opts.preserveFds, spec, seccompAgent });
    awaitExecDone(sys, spawned.syncFd, (msg) => opts.log.warn(msg));
    if (opts.pidFile) deps.writePidFile(opts.pidFile, spawned.pid);
    return spawned.pid;
  } finally {
    // Close errors are not exec's failure: the kernel releases the fd anyway.
    try { fds.closeAll(); } catch { /* released all the same */ }
  }
}
