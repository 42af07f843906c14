/**
 * `create`: the parent side. Reads the bundle, makes the state dir and exec
 * fifo, starts the init stage in the container's namespaces (nsexec.c), puts
 * it in its cgroup, sends it the plan, and returns once init waits on the
 * fifo. Anything that fails undoes what was made: no state dir, no cgroup,
 * no process is left behind.
 *
 * System-container work (sysbox-mgr ID ranges, ID-mapped rootfs, sysbox-fs
 * mounts) plugs in at `prepareSpec` and `onInitReady`.
 */
import { readFileSync, existsSync, writeFileSync, renameSync, mkdirSync, chmodSync } from "node:fs";
import { ensureMountPropagation } from "../idmap/rootfs.ts";
import { isAbsolute, join, resolve } from "node:path";
import { spawnInNamespaces, awaitExec } from "../sys/nsexec.ts";
import { open, close, mkfifo, chmod, chown, setCloexec, O_FLAGS } from "../sys/fs.ts";
import { planNamespaces } from "./namespaces.ts";
import { makeContainerDir, removeState, saveState, processStartTime, EXEC_FIFO, type ContainerState } from "./state.ts";
import { recvSync, sendSync } from "./sync.ts";
import { runHooks } from "./hooks.ts";
import { selfExec } from "./self.ts";
import type { Logger } from "./logger.ts";
import { loadSpec, type Spec } from "./spec.ts";
import { oomReason, setupContainerCgroup, type ContainerCgroup } from "./cgroup.ts";
import { killProcess } from "./signals.ts";
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
  noPivot: boolean;
  preserveFds: number;
  systemdCgroup: boolean;
  log: Logger;
}

/** Undo steps run in reverse order when create fails. */
type Undo = Array<() => void | Promise<unknown>>;

export function writePidFile(path: string, pid: number): void {
  // Written then renamed: the shim reads it as soon as we exit.
  const abs = resolve(path);
  const tmp = `${abs}.tmp-${process.pid}`;
  writeFileSync(tmp, String(pid));
  renameSync(tmp, abs);
}

export async function createContainer(opts: CreateOptions): Promise<ContainerState> {
  const bundle = resolve(opts.bundle);
  const spec = loadSpec(join(bundle, "config.json"));
  const undo: Undo = [];
  let sc: SysContainer | undefined;
  try {
    if (!spec.root?.path) throw new Error("config.json: root.path: required");
    const rootfs = isAbsolute(spec.root.path) ? spec.root.path : join(bundle, spec.root.path);
    if (!existsSync(rootfs)) throw new Error(`root.path: rootfs "${rootfs}" does not exist`);
    const dir = makeContainerDir(opts.root, opts.id);
    undo.push(() => removeState(opts.root, opts.id));
    // System container: its own ID range and a spec rewritten for system software.
    sc = await prepareSystemContainer(spec, { id: opts.id, rootfs, noMgr: opts.noSysboxMgr === true });
    syncInnerImagesIn(sc.stores, rootfs, opts.log);
    const range = sc.range;
    // FUSE mounts sysbox-fs makes under its root must propagate into this container's mount namespace.
    if (!opts.noSysboxFs) {
      mkdirSync(SYSBOXFS_ROOT, { recursive: true, mode: 0o711 });
      // Container roots must reach their files through it; they may not list it.
      chmodSync(SYSBOXFS_ROOT, 0o711);
      ensureMountPropagation(SYSBOXFS_ROOT, "shared");
    }
    const fsRegister = opts.noSysboxFs ? undefined : async (pid: number) => {
      const { registerWithFs, unregisterFromFs } = await import("../sysboxfs/client.ts");
      const reg = await registerWithFs(opts.id, { initPid: pid, uidFirst: range.uid, uidSize: range.size, gidFirst: range.gid, gidSize: range.size });
      undo.push(() => unregisterFromFs(opts.id));
      return reg.binds;
    };
    const st = await doCreate(opts, bundle, sc.spec, rootfs, dir, undo, sc.stores, fsRegister);
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

/** sysbox-fs's default mount root (its --mountpoint). */
export const SYSBOXFS_ROOT = "/var/lib/sysboxfs";

async function doCreate(
  opts: CreateOptions, bundle: string, spec: Spec, rootfs: string, dir: string, undo: Undo,
  stores: ContainerState["stores"], fsRegister: ((pid: number) => Promise<FsBinds>) | undefined,
): Promise<ContainerState> {
  const { root, id, log } = opts;
  // exec and delete read this copy, so exec'd processes get the same treatment.
  const configPath = join(dir, "config.json");
  writeFileSync(configPath, JSON.stringify(spec));
  const usedRange = { uid: hostIdOf(spec.linux?.uidMappings), gid: hostIdOf(spec.linux?.gidMappings), size: 65536 };
  const ns = planNamespaces(spec.linux?.namespaces ?? []);
  const userns = (ns.flags & 0x10000000) !== 0 || ns.join.some((j) => j.type === "user");

  const fifo = join(dir, EXEC_FIFO);
  mkfifo(fifo, 0o622);
  // Whatever our umask: a non-root user process must be able to open it for writing.
  chmod(fifo, 0o622);
  // The container's root opens it from inside its user namespace (runc chowns it the same way).
  chown(fifo, hostIdOf(spec.linux?.uidMappings), hostIdOf(spec.linux?.gidMappings));

  const cgroup: ContainerCgroup = setupContainerCgroup(id, spec, {
    systemd: opts.systemdCgroup, log,
    delegateTo: { uid: hostIdOf(spec.linux?.uidMappings), gid: hostIdOf(spec.linux?.gidMappings) },
  });
  undo.push(() => cgroup.destroy());

  // fds the init stage inherits (no O_CLOEXEC): the fifo (reopened for writing later) and the console socket.
  const fifoFd = open(fifo, O_FLAGS.PATH);
  undo.push(() => close(fifoFd));
  const consoleFd = opts.consoleSocket ? connectConsole(opts.consoleSocket) : -1;
  if (consoleFd >= 0) undo.push(() => close(consoleFd));
  const joinFds = ns.join.map((j) => ({ fd: open(j.path, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC), type: j.flag }));
  undo.push(() => joinFds.forEach((j) => close(j.fd)));

  const self = selfExec();
  const execFd = open(self.path, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
  undo.push(() => close(execFd));
  const nullFd = spec.process?.terminal ? openDevNull() : -1;
  if (nullFd >= 0) undo.push(() => close(nullFd));
  // The init hands its seccomp listener to sysbox-fs over this (it cannot reach host paths itself), so it is inherited.
  const interceptFd = fsRegister ? await connectInterceptorFd() : -1;
  if (interceptFd >= 0) undo.push(() => close(interceptFd));
  let staged: StagedMounts | undefined;
  undo.push(() => { staged?.detach(); removeStaged(id); });

  const spawned = spawnInNamespaces({
    flags: ns.flags,
    join: joinFds,
    execFd,
    argv: [...self.argv, "init"],
    env: [],
    setIds: userns,
    setsid: false,
    stdioFd: nullFd,
    onReady: (pid) => {
      if (ns.flags & 0x10000000) writeIdMaps(pid, spec);
      staged = stageIdmappedMounts(pid, spec, rootfs, { id, range: usedRange, log });
      cgroup.add(pid);
      if (spec.process?.oomScoreAdj !== undefined) writeProcFile(pid, "oom_score_adj", String(spec.process.oomScoreAdj));
    },
  });
  const pid = spawned.pid;
  undo.push(() => { killProcess(pid, 9); close(spawned.syncFd); });
  try {
    awaitExec(spawned.syncFd);
  } catch (e) {
    // An init killed before its exec shows as EPIPE here; the kernel may know why.
    const why = oomReason(cgroup.cg);
    if (why) throw new Error(`container init exited before it was ready: ${why}`, { cause: e });
    throw e;
  }
  // The container's mount namespace now holds its own copy of the staged mounts.
  staged?.detach();

  const state: ContainerState = {
    id, pid, pidStartTime: processStartTime(pid) ?? "", bundle, rootfs,
    created: new Date().toISOString(), owner: "",
    annotations: spec.annotations ?? {}, cgroupPath: cgroup.cg.path, cgroupPaths: cgroup.paths, procsCgroupPath: cgroup.procsPath, namespaces: ns.owned, userns,
    configPath, mgr: opts.noSysboxMgr !== true, fs: fsRegister !== undefined, stores, upperDir: upperDirOf(rootfs),
  };
  const hookState = { ociVersion: spec.ociVersion, id, pid, status: "creating", bundle, annotations: state.annotations };
  runHooks("prestart", spec.hooks?.prestart, hookState);
  runHooks("createRuntime", spec.hooks?.createRuntime, hookState);

  // sysbox-fs mounts the container's FUSE dir now; it propagates into the
  // container's mount namespace, which init has not pivoted out of yet.
  const fsBinds = fsRegister ? await fsRegister(pid) : [];

  sendSync(spawned.syncFd, {
    t: "create", id, interceptFd, fsBinds, spec: { ...spec, mounts: staged?.mounts ?? spec.mounts }, rootfs: staged?.rootfs ?? rootfs, fifoFd, consoleFd, noPivot: opts.noPivot, userns,
    cgroupV1: cgroup.v1Mounts, cgroupV2Path: cgroup.v2Path, cgroupDelegated: true, cgroupns: ns.owned.includes("cgroup") && (ns.flags & 0x02000000) !== 0,
    preserveFds: opts.preserveFds,
  });
  for (;;) {
    const m = recvSync(spawned.syncFd);
    if (m === null) {
      const why = oomReason(cgroup.cg);
      throw new Error(`container init exited before it was ready${why ? `: ${why}` : ""}`);
    }
    if (m.t === "warn") log.warn(m.msg);
    else if (m.t === "error") throw new Error(m.msg);
    else if (m.t === "ready") break;
  }
  close(spawned.syncFd);
  if (interceptFd >= 0) close(interceptFd);
  close(fifoFd);
  if (consoleFd >= 0) close(consoleFd);
  close(execFd);
  if (nullFd >= 0) close(nullFd);
  saveState(root, state);
  if (opts.pidFile) writePidFile(opts.pidFile, pid);
  return state;
}

/** The host id that container id 0 maps to (0 without a user namespace). */
function hostIdOf(m: ReadonlyArray<{ containerID: number; hostID: number }> | undefined): number {
  return m?.find((e) => e.containerID === 0)?.hostID ?? 0;
}

/** Writes /proc/PID/<name>, naming the file and value when the kernel refuses. */
function writeProcFile(pid: number, name: string, value: string): void {
  try {
    writeFileSync(`/proc/${pid}/${name}`, value);
  } catch (e) {
    throw new Error(`write /proc/${pid}/${name} (${JSON.stringify(value.trim())}): ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

function writeIdMaps(pid: number, spec: Spec): void {
  const fmt = (m: ReadonlyArray<{ containerID: number; hostID: number; size: number }> | undefined) =>
    (m ?? []).map((e) => `${e.containerID} ${e.hostID} ${e.size}\n`).join("");
  writeProcFile(pid, "uid_map", fmt(spec.linux?.uidMappings));
  writeProcFile(pid, "gid_map", fmt(spec.linux?.gidMappings));
}

/** A connected, inheritable socket to sysbox-fs's syscall interceptor. */
export async function connectInterceptorFd(): Promise<number> {
  const { connectInterceptor } = await import("../intercept/client.ts");
  return connectInterceptor();
}

/** A terminal process gets the pty as stdio; until then it holds /dev/null, never our pipes. */
export function openDevNull(): number {
  return open("/dev/null", O_FLAGS.RDWR | O_FLAGS.CLOEXEC);
}

/** Connects to the console socket; the fd is left inheritable for the init stage. */
export function connectConsole(path: string): number {
  // Imported lazily: only `-t` containers need the socket layer.
  const { unixConnect } = require("../sys/socket.ts") as typeof import("../sys/socket.ts");
  const fd = unixConnect(path);
  setCloexec(fd, false);
  return fd;
}
