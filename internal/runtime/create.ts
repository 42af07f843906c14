/**
 * `create`: the parent side. Reads the bundle, makes the state dir and exec
 * fifo, starts the init stage in the container's namespaces (internal/ns
 * nsexec), puts it in its cgroup, sends it the create message (syncmsg.ts),
 * and returns once init waits on the fifo. Anything that fails undoes what
 * was made: no state dir, no cgroup, no process, no fd is left behind.
 *
 * planCreate is pure (what to make, from the spec); runCreate does it
 * through a `CreateDeps`, so its sequence and its undo at every step are
 * unit-tested with a recording fake (create.test.ts). System-container work
 * (sysbox-mgr ID ranges, ID-mapped rootfs, sysbox-fs mounts) plugs in around
 * it in createContainer.
 *
 * sysbox-fs's client is imported lazily (sysbox-runc runs once per container
 * operation; containers without sysbox-fs never load the socket client).
 */
import { existsSync, mkdirSync, chmodSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { ensureMountPropagation } from "../idmap/mod.ts";
import { DEFAULT_MOUNT_ROOT } from "../ipc/mod.ts";
import { spawnInNamespaces, awaitExec } from "../ns/mod.ts";
import { planNamespaces, type NamespacePlan } from "../ns/mod.ts";
import { CLONE } from "../sys/flags.ts";
import { O_FLAGS } from "../sys/fs.ts";
import { SIG } from "../sys/proc.ts";
import { linuxSys, type Sys } from "../sys/linux.ts";
import { makeContainerDir, removeState, saveState, processStartTime, EXEC_FIFO, type ContainerState } from "./state.ts";
import { awaitInitReady, sendSync, UnexpectedMessageError, type CreateMsg } from "./syncmsg.ts";
import { runHooks } from "./hooks.ts";
import { selfExec, type SelfExec } from "./self.ts";
import type { Logger } from "../log/mod.ts";
import { loadSpec, type Spec } from "./spec.ts";
import { oomReason, setupContainerCgroup, type ContainerCgroup, type CgroupSetupOptions } from "./cgroup.ts";
import { killProcess } from "./signals.ts";
import { consoleMode } from "./foreground.ts";
import { agentMessage, seccompAgentOf, AGENT_WITH_INTERCEPTION } from "./seccomp_agent.ts";
import { connectConsole, connectInterceptorFd, FdSet, openDevNull, writePidFile } from "./fds.ts";
import { resolveSettings, trapGroups, SYSBOX_SETTING_DEFAULTS, type ContainerSettings, type IdRange } from "../syscont/mod.ts";
import { prepareSystemContainer, stageIdmappedMounts, removeStaged, syncInnerImagesIn, upperDirOf, type StagedMounts, type SysContainer } from "./syscont.ts";

export interface CreateOptions {
  root: string;
  /** Skip sysbox-fs: /proc and /sys are not virtualized (--no-sysbox-fs). */
  noSysboxFs?: boolean;
  /** Skip sysbox-mgr and use Sysbox's fixed ID range (--no-sysbox-mgr). */
  noSysboxMgr?: boolean;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  /** A connected socket (inherited by the init) that gets the pty master instead of --console-socket: foreground.ts. */
  consoleFd?: number;
  noPivot: boolean;
  preserveFds: number;
  systemdCgroup: boolean;
  log: Logger;
}

/** Undo steps run in reverse order when create fails. */
export type Undo = Array<() => void | Promise<unknown>>;

export async function createContainer(opts: CreateOptions): Promise<ContainerState> {
  const bundle = resolve(opts.bundle);
  const spec = loadSpec(join(bundle, "config.json"));
  const undo: Undo = [];
  let sc: SysContainer | undefined;
  try {
    if (!spec.root?.path) throw new Error("config.json: root.path: required");
    // create is detached; `run` in the foreground checks for itself and passes consoleFd.
    if (opts.consoleFd === undefined) consoleMode(spec.process?.terminal === true, opts.consoleSocket, true);
    const rootfs = isAbsolute(spec.root.path) ? spec.root.path : join(bundle, spec.root.path);
    if (!existsSync(rootfs)) throw new Error(`root.path: rootfs "${rootfs}" does not exist`);
    const dir = makeContainerDir(opts.root, opts.id);
    undo.push(() => removeState(opts.root, opts.id));
    // System container: its own ID range and a spec rewritten for system software.
    sc = await prepareSystemContainer(spec, { id: opts.id, rootfs, noMgr: opts.noSysboxMgr === true });
    syncInnerImagesIn(sc.stores, rootfs, opts.log);
    const range = sc.range;
    // Not in syscont mode (SYSBOX_SYSCONT_MODE=FALSE): a plain container, nothing virtualized or trapped.
    const useFs = !opts.noSysboxFs && sc.settings.syscontMode;
    // FUSE mounts sysbox-fs makes under its root must propagate into this container's mount namespace.
    if (useFs) {
      mkdirSync(DEFAULT_MOUNT_ROOT, { recursive: true, mode: 0o711 });
      // Container roots must reach their files through it; they may not list it.
      chmodSync(DEFAULT_MOUNT_ROOT, 0o711);
      ensureMountPropagation(DEFAULT_MOUNT_ROOT, "shared");
    }
    const fsRegister = !useFs ? undefined : async (pid: number) => {
      const { registerWithFs, unregisterFromFs } = await import("../ipc/mod.ts");
      const reg = await registerWithFs(opts.id, { initPid: pid, uidFirst: range.uid, uidSize: range.size, gidFirst: range.gid, gidSize: range.size });
      undo.push(() => unregisterFromFs(opts.id));
      return reg.binds;
    };
    const plan = planCreate(sc.spec, { ...opts, bundle, rootfs, dir, fs: fsRegister !== undefined, settings: sc.settings });
    const st = await runCreate(plan, { root: opts.root, log: opts.log, stores: sc.stores, mgr: opts.noSysboxMgr !== true, undo, ...(fsRegister ? { fsRegister } : {}) }, linuxCreateDeps);
    await sc.initStarted(st.pid, st.pidStartTime);
    return st;
  } catch (e) {
    for (const u of undo.reverse()) {
      try { await u(); } catch (ue) { opts.log.debug(`cleanup after failed create: ${String(ue)}`); }
    }
    if (sc) await sc.abandon().catch((ue) => opts.log.debug(`cleanup after failed create: ${String(ue)}`));
    throw e;
  }
}

type FsBinds = Array<{ source: string; destination: string }>;

/** What create will make, decided from the spec alone. */
export interface CreatePlan {
  id: string;
  bundle: string;
  rootfs: string;
  spec: Spec;
  /** The stored copy of the spec that exec and delete read. */
  configPath: string;
  fifoPath: string;
  ns: NamespacePlan;
  /** The container has a user namespace, new or joined: the stage becomes its root. */
  userns: boolean;
  /** Written to /proc/PID/{uid,gid}_map while stage 1 waits; null without a new user namespace. */
  idMaps: { uid: string; gid: string } | null;
  /** Host ids container root maps to: owner of the fifo and of the delegated cgroup. */
  hostRoot: { uid: number; gid: number };
  /** The ID range the ID-mapped mounts use. */
  range: IdRange;
  /** The fds the init stage inherits. */
  fds: { consoleSocket: string | null; consoleFd: number; devNull: boolean; interceptor: boolean };
  cgroup: Pick<CgroupSetupOptions, "systemd" | "delegateTo">;
  /** The container's SYSBOX_* settings, kept in its state for exec. */
  settings: ContainerSettings;
  /** The create message, fds and staged mounts left to fill in. */
  message: Omit<CreateMsg, "interceptFd" | "fifoFd" | "consoleFd" | "fsBinds" | "cgroupV1" | "cgroupV2Path" | "spec" | "rootfs">;
  pidFile: string | null;
  /** linux.seccomp.listenerPath, when the profile notifies an agent. */
  seccompAgent?: { path: string; metadata: string };
}

export interface PlanOptions {
  id: string;
  bundle: string;
  rootfs: string;
  /** The container's state dir. */
  dir: string;
  consoleSocket?: string | undefined;
  consoleFd?: number | undefined;
  pidFile?: string | undefined;
  noPivot: boolean;
  preserveFds: number;
  systemdCgroup: boolean;
  /** Registered with sysbox-fs: the init gets an interceptor connection. */
  fs: boolean;
  /** The container's settings; default Sysbox's. */
  settings?: ContainerSettings;
}

/** The host id that container id 0 maps to (0 without a user namespace). */
function hostIdOf(m: ReadonlyArray<{ containerID: number; hostID: number }> | undefined): number {
  return m?.find((e) => e.containerID === 0)?.hostID ?? 0;
}

function idMapText(m: ReadonlyArray<{ containerID: number; hostID: number; size: number }> | undefined): string {
  return (m ?? []).map((e) => `${e.containerID} ${e.hostID} ${e.size}\n`).join("");
}

/** Pure: everything create decides from the spec and the command line. */
export function planCreate(spec: Spec, opts: PlanOptions): CreatePlan {
  const ns = planNamespaces(spec.linux?.namespaces ?? []);
  const newUserns = (ns.flags & CLONE.NEWUSER) !== 0;
  const userns = newUserns || ns.join.some((j) => j.type === "user");
  const hostRoot = { uid: hostIdOf(spec.linux?.uidMappings), gid: hostIdOf(spec.linux?.gidMappings) };
  const agent = seccompAgentOf(spec);
  if (agent && opts.fs) throw new Error(AGENT_WITH_INTERCEPTION);
  const settings = opts.settings ?? resolveSettings({}, SYSBOX_SETTING_DEFAULTS);
  return {
    ...(agent ? { seccompAgent: agent } : {}),
    id: opts.id, bundle: opts.bundle, rootfs: opts.rootfs, spec,
    configPath: join(opts.dir, "config.json"),
    fifoPath: join(opts.dir, EXEC_FIFO),
    ns, userns, hostRoot,
    idMaps: newUserns ? { uid: idMapText(spec.linux?.uidMappings), gid: idMapText(spec.linux?.gidMappings) } : null,
    range: { uid: hostRoot.uid, gid: hostRoot.gid, size: 65536 },
    fds: { consoleSocket: opts.consoleSocket ?? null, consoleFd: opts.consoleFd ?? -1, devNull: spec.process?.terminal === true, interceptor: opts.fs },
    cgroup: { systemd: opts.systemdCgroup, delegateTo: hostRoot },
    settings,
    message: {
      t: "create", id: opts.id, bundle: opts.bundle, noPivot: opts.noPivot, userns,
      ...(opts.fs && trapGroups(settings).length ? { traps: trapGroups(settings) } : {}),
      cgroupDelegated: true, cgroupns: ns.owned.includes("cgroup") && (ns.flags & CLONE.NEWCGROUP) !== 0,
      preserveFds: opts.preserveFds,
    },
    pidFile: opts.pidFile ?? null,
  };
}

/** Everything runCreate acts through; linuxCreateDeps is the real one. */
export interface CreateDeps {
  sys: Sys;
  spawnInNamespaces: typeof spawnInNamespaces;
  awaitExec: typeof awaitExec;
  runHooks: typeof runHooks;
  setupCgroup: (id: string, spec: Spec, opts: CgroupSetupOptions) => ContainerCgroup;
  stageMounts: typeof stageIdmappedMounts;
  removeStaged: typeof removeStaged;
  connectConsole: (path: string, sys: Sys) => number;
  connectInterceptor: () => Promise<number>;
  self: () => SelfExec;
  startTime: (pid: number) => string | null;
  saveState: (root: string, st: ContainerState) => void;
  writePidFile: (path: string, pid: number) => void;
  kill: (pid: number, sig: number) => unknown;
}

export const linuxCreateDeps: CreateDeps = {
  sys: linuxSys, spawnInNamespaces, awaitExec, runHooks, setupCgroup: setupContainerCgroup,
  stageMounts: stageIdmappedMounts, removeStaged, connectConsole, connectInterceptor: connectInterceptorFd,
  self: selfExec, startTime: processStartTime, saveState, writePidFile, kill: killProcess,
};

export interface RunCreateOptions {
  root: string;
  log: Logger;
  stores: ContainerState["stores"];
  /** Registered with sysbox-mgr (released at delete). */
  mgr: boolean;
  /** Filled as things are made; the caller runs it in reverse when create fails. */
  undo: Undo;
  /** Registers with sysbox-fs once init exists; returns the files to bind. */
  fsRegister?: (pid: number) => Promise<FsBinds>;
}

/** Writes /proc/PID/<name>, naming the file and value when the kernel refuses. */
function writeProcFile(sys: Sys, pid: number, name: string, value: string): void {
  try {
    sys.writeFile(`/proc/${pid}/${name}`, value);
  } catch (e) {
    throw new Error(`write /proc/${pid}/${name} (${JSON.stringify(value.trim())}): ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

/** Does the plan: on failure, `opts.undo` holds what to take back, in order made. */
export async function runCreate(plan: CreatePlan, opts: RunCreateOptions, deps: CreateDeps): Promise<ContainerState> {
  const { sys } = deps;
  const { id, spec } = plan;
  const { undo, log } = opts;
  sys.writeFile(plan.configPath, JSON.stringify(spec));

  sys.mkfifo(plan.fifoPath, 0o622);
  // Whatever our umask: a non-root user process must be able to open it for writing.
  sys.chmod(plan.fifoPath, 0o622);
  // The container's root opens it from inside its user namespace (runc chowns it the same way).
  sys.chown(plan.fifoPath, plan.hostRoot.uid, plan.hostRoot.gid);

  const cgroup = deps.setupCgroup(id, spec, { ...plan.cgroup, log });
  undo.push(() => cgroup.destroy());

  const fds = new FdSet(sys);
  undo.push(() => fds.closeAll());
  // fds the init stage inherits (no O_CLOEXEC): the fifo (reopened for writing later) and the console socket.
  const fifoFd = fds.add(sys.open(plan.fifoPath, O_FLAGS.PATH));
  // A foreground console's fd (plan.fds.consoleFd) stays the caller's to close.
  const consoleFd = plan.fds.consoleSocket !== null ? fds.add(deps.connectConsole(plan.fds.consoleSocket, sys)) : plan.fds.consoleFd;
  const joinFds = plan.ns.join.map((j) => ({ fd: fds.add(sys.open(j.path, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC)), type: j.flag }));
  const self = deps.self();
  const execFd = fds.add(sys.open(self.path, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC));
  const nullFd = plan.fds.devNull ? fds.add(openDevNull(sys)) : -1;
  // The init hands its seccomp listener to sysbox-fs over this (it cannot reach host paths itself), so it is inherited.
  const interceptFd = plan.fds.interceptor ? fds.add(await deps.connectInterceptor()) : -1;
  // Connected here, used by the init once its filter is loaded (it cannot reach host paths then).
  const agentFd = plan.seccompAgent ? fds.add(deps.connectConsole(plan.seccompAgent.path, sys)) : -1;
  let staged: StagedMounts | undefined;
  undo.push(() => { staged?.detach(); deps.removeStaged(id); });

  const spawned = deps.spawnInNamespaces({
    flags: plan.ns.flags,
    join: joinFds,
    execFd,
    argv: [...self.argv, "init"],
    env: [],
    setIds: plan.userns,
    setsid: false,
    stdioFd: nullFd,
    onReady: (pid) => {
      if (plan.idMaps) {
        writeProcFile(sys, pid, "uid_map", plan.idMaps.uid);
        writeProcFile(sys, pid, "gid_map", plan.idMaps.gid);
      }
      staged = deps.stageMounts(pid, spec, plan.rootfs, { id, range: plan.range, log, skipUidShift: plan.settings.skipUidShift });
      cgroup.add(pid);
      if (spec.process?.oomScoreAdj !== undefined) writeProcFile(sys, pid, "oom_score_adj", String(spec.process.oomScoreAdj));
    },
  });
  const pid = spawned.pid;
  fds.add(spawned.syncFd);
  undo.push(() => { deps.kill(pid, SIG.SIGKILL); });
  try {
    deps.awaitExec(spawned.syncFd);
  } catch (e) {
    // An init killed before its exec shows as EPIPE here; the kernel may know why.
    const why = oomReason(cgroup.cg);
    if (why) throw new Error(`container init exited before it was ready: ${why}`, { cause: e });
    throw e;
  }
  // The container's mount namespace now holds its own copy of the staged mounts.
  staged?.detach();

  const state: ContainerState = {
    id, pid, pidStartTime: deps.startTime(pid) ?? "", bundle: plan.bundle, rootfs: plan.rootfs,
    created: new Date().toISOString(), owner: "",
    annotations: spec.annotations ?? {}, cgroupPath: cgroup.cg.path, cgroupPaths: cgroup.paths, procsCgroupPath: cgroup.procsPath, namespaces: plan.ns.owned, userns: plan.userns,
    configPath: plan.configPath, settings: plan.settings, mgr: opts.mgr, fs: opts.fsRegister !== undefined, stores: opts.stores, upperDir: upperDirOf(plan.rootfs),
  };
  const hookState = { ociVersion: spec.ociVersion, id, pid, status: "creating", bundle: plan.bundle, annotations: state.annotations };
  deps.runHooks("prestart", spec.hooks?.prestart, hookState);
  deps.runHooks("createRuntime", spec.hooks?.createRuntime, hookState);

  // sysbox-fs mounts the container's FUSE dir now; it propagates into the
  // container's mount namespace, which init has not pivoted out of yet.
  const fsBinds = opts.fsRegister ? await opts.fsRegister(pid) : [];

  const seccompAgent = plan.seccompAgent
    ? { fd: agentFd, state: agentMessage({ spec, id, bundle: plan.bundle, pid, metadata: plan.seccompAgent.metadata, status: "creating" }) }
    : null;
  sendSync(sys, spawned.syncFd, {
    ...plan.message, interceptFd, fsBinds, fifoFd, consoleFd, seccompAgent,
    spec: { ...spec, mounts: staged?.mounts ?? spec.mounts, ...(staged?.devices ? { linux: { ...spec.linux, devices: staged.devices } } : {}) }, rootfs: staged?.rootfs ?? plan.rootfs,
    cgroupV1: cgroup.v1Mounts, cgroupV2Path: cgroup.v2Path,
  });
  try {
    awaitInitReady(sys, spawned.syncFd, (msg) => log.warn(msg), (h) =>
      deps.runHooks("createContainer", spec.hooks?.createContainer, { ...hookState, status: "creating", pid: h.pid }, { enter: pid }));
  } catch (e) {
    // An init that died before it was ready was often OOM-killed: say so.
    const why = e instanceof UnexpectedMessageError && e.received === "EOF" ? oomReason(cgroup.cg) : undefined;
    if (why) throw new Error(`${e instanceof Error ? e.message : String(e)}: ${why}`, { cause: e });
    throw e;
  }
  fds.closeAll();
  deps.saveState(opts.root, state);
  if (plan.pidFile) deps.writePidFile(plan.pidFile, pid);
  return state;
}
