/**
 * The init stage: sysbox-runc re-executed by nsexec.c inside the container's
 * namespaces. For `create` it builds the rootfs, reports ready, waits on the
 * exec fifo for `start`, then becomes the user process; for `exec` it only
 * prepares and becomes the process. Errors go back to the parent over the
 * sync socket, which prints them; nothing here writes to the container's stdio.
 *
 * The intercept client and the pty code are required lazily: the init runs
 * for every container start and exec, and only containers with sysbox-fs or
 * a terminal need them.
 */
import { existsSync, statSync } from "node:fs";
import { sendHello } from "../ns/mod.ts";
import { joinMountNamespace } from "../ns/mod.ts";
import { O_FLAGS } from "../sys/fs.ts";
import { MS } from "../sys/flags.ts";
import { preloadLibseccomp } from "../sys/seccomp.ts";
import { sendFds } from "../sys/socket.ts";
import { linuxSys, type Sys } from "../sys/linux.ts";
import { awaitRequest, requestHooks, sendSync, type CreateMsg, type ExecMsg } from "./syncmsg.ts";
import { applySysctls, bindEmulated, makeDevices, maskAndRo, mountSpec, pivot, type RootfsPlan } from "./rootfs.ts";
import { secureJoin } from "./securejoin.ts";
import { runHooks } from "./hooks.ts";
import { execProcess, finalizeProcess, lookPath, prepareProcess } from "./process.ts";
import type { Spec } from "./spec.ts";

export function runInit(sys: Sys = linuxSys): never {
  const syncFd = Number(process.env.NSEXEC_SYNC_FD);
  if (!Number.isInteger(syncFd)) {
    process.stderr.write("sysbox-runc init: this command is internal and is run by sysbox-runc itself\n");
    process.exit(2);
  }
  sendHello(syncFd);
  const warn = (msg: string) => sendSync(sys, syncFd, { t: "warn", msg });
  try {
    const msg = awaitRequest(sys, syncFd);
    if (!msg) process.exit(1);
    if (msg.t === "create") initContainer(syncFd, msg, warn, { sys, runHooks: hooksVia(syncFd, sys), pid: process.pid });
    else initExec(syncFd, msg, warn, sys);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    try {
      sendSync(sys, syncFd, { t: "error", msg });
    } catch {
      // After "ready" the parent is gone: the container's stderr is all that is left.
      process.stderr.write(`sysbox-runc init: ${msg}\n`);
    }
    process.exit(1);
  }
  process.exit(1);
}

/**
 * createContainer hooks are run by the parent, as the host's root, inside our
 * namespaces but the user namespace (hooks.ts says why); the others here.
 */
function hooksVia(syncFd: number, sys: Sys): typeof runHooks {
  return (name, hooks, state, opts) => {
    if (name !== "createContainer") return runHooks(name, hooks, state, opts);
    if (hooks?.length) requestHooks(sys, syncFd, { t: "hooks", name, pid: state.pid ?? process.pid });
  };
}

/** What the init's create steps act through: syscalls, hooks, and its own pid (for hook state). */
export interface InitDeps {
  sys: Sys;
  runHooks: typeof runHooks;
  pid: number;
}

/** The OCI state the createContainer and startContainer hooks read on stdin. */
export function hookState(m: Pick<CreateMsg, "id" | "bundle" | "spec">, pid: number, status: string) {
  return { ociVersion: m.spec.ociVersion, id: m.id, pid, status, bundle: m.bundle, annotations: m.spec.annotations ?? {} };
}

/** The rootfs part of a create message. */
export function rootfsPlan(m: CreateMsg): RootfsPlan {
  const spec = m.spec;
  const linux = spec.linux ?? {};
  return {
    rootfs: m.rootfs,
    mounts: spec.mounts ?? [],
    devices: linux.devices ?? [],
    readonly: spec.root?.readonly ?? false,
    ...(linux.rootfsPropagation !== undefined ? { propagation: linux.rootfsPropagation } : {}),
    noPivot: m.noPivot,
    maskedPaths: linux.maskedPaths ?? [],
    readonlyPaths: linux.readonlyPaths ?? [],
    cgroupV1: m.cgroupV1,
    cgroupV2Path: m.cgroupV2Path,
    cgroupns: m.cgroupns,
    cgroupDelegated: m.cgroupDelegated,
    optionalBinds: m.fsBinds,
    userns: m.userns,
  };
}

function setHostname(spec: Spec, sys: Sys): void {
  if (spec.hostname) sys.sethostname(spec.hostname);
  if (spec.domainname) sys.setdomainname(spec.domainname);
}

export interface CreateStep {
  name: string;
  run: () => void;
}

/**
 * The container's file system and identity, in the order runc's
 * prepareRootfs uses: the spec's mounts; sysctls through the kernel's own
 * /proc files before sysbox-fs's cover them; sysbox-fs's binds; devices; the
 * createContainer hooks (in the container's namespaces, before pivot_root);
 * pivot_root; hostname; masked and read-only paths last, so nothing mounted
 * earlier uncovers them.
 */
export function createSteps(m: CreateMsg, deps: InitDeps): CreateStep[] {
  const { sys } = deps;
  const spec = m.spec;
  const plan = rootfsPlan(m);
  return [
    { name: "mountSpec", run: () => mountSpec(plan, sys) },
    { name: "applySysctls", run: () => applySysctls(spec.linux?.sysctl, secureJoin(plan.rootfs, "/proc"), sys) },
    { name: "bindEmulated", run: () => bindEmulated(plan, sys) },
    { name: "makeDevices", run: () => makeDevices(plan, sys) },
    { name: "createContainerHooks", run: () => deps.runHooks("createContainer", spec.hooks?.createContainer, hookState(m, deps.pid, "creating")) },
    { name: "pivot", run: () => pivot(plan, sys) },
    { name: "setHostname", run: () => setHostname(spec, sys) },
    { name: "maskAndRo", run: () => maskAndRo(plan, sys) },
  ];
}

function initContainer(syncFd: number, m: CreateMsg, warn: (s: string) => void, deps: InitDeps): never {
  const { sys } = deps;
  const spec = m.spec;
  preloadLibseccomp();
  for (const step of createSteps(m, deps)) step.run();
  const proc = spec.process;
  if (!proc) throw new Error("process: the container has no process to run");
  if (proc.terminal) setupConsole(sys, m.consoleFd, true);
  else sys.setsid();
  // As runc: rlimits, user, capabilities and cwd are set, and the program
  // found as that user, before create returns, so their errors fail create.
  const prepared = prepareProcess(proc, { sys, spec, warn, seccompAgent: m.seccompAgent ?? null, ...interceptor(m, true) });
  const path = lookPath(proc);
  const fifoFd = m.fifoFd;
  sendSync(sys, syncFd, { t: "ready", pid: deps.pid });
  sys.close(syncFd);

  // Blocks until `start` opens the fifo for reading.
  const fifo = sys.open(`/proc/self/fd/${fifoFd}`, O_FLAGS.WRONLY | O_FLAGS.CLOEXEC);
  sys.writeAll(fifo, new Uint8Array([48]));
  sys.close(fifo);
  sys.close(fifoFd);
  // The process is not running yet: "created", as runc reports it.
  deps.runHooks("startContainer", spec.hooks?.startContainer, hookState(m, deps.pid, "created"));
  execProcess(proc, path, prepared, { sys, spec, preserveFds: m.preserveFds, warn: () => {}, seccompAgent: m.seccompAgent ?? null });
}

function initExec(syncFd: number, m: ExecMsg, warn: (s: string) => void, sys: Sys): never {
  preloadLibseccomp();
  if (m.mntFd >= 0) joinMountNamespace(m.mntFd, sys);
  const proc = m.process;
  const path = lookPath(proc);
  if (proc.terminal) setupConsole(sys, m.consoleFd, true);
  else sys.setsid();
  sendSync(sys, syncFd, { t: "ready", pid: process.pid });
  // The parent learns the exec worked when the sync socket closes on exec.
  sys.setCloexec(syncFd, true);
  finalizeProcess(proc, path, { sys, spec: m.spec, preserveFds: m.preserveFds, warn, seccompAgent: m.seccompAgent ?? null, onExecError: (msg) => sendSync(sys, syncFd, { t: "error", msg }), ...interceptor(m, false) });
}

/**
 * mount and umount2 of the process (and what the container's settings add) go to sysbox-fs (seccomp user
 * notification); the init also registers the mounts it leaves in place, which
 * the container may then not unmount or make writable.
 */
function interceptor(m: Pick<CreateMsg, "interceptFd" | "id" | "traps">, init: boolean): { intercept?: () => void } {
  const { interceptFd: fd, id } = m;
  if (fd < 0) return {};
  return {
    intercept: () => {
      const { installNotifyFilter, sendNotifyFd, initialMounts, closeQuietly } = require("../intercept/mod.ts") as typeof import("../intercept/mod.ts");
      // The container's settings may add the chown or xattr family (SYSBOX_IGNORE_SYSFS_CHOWN, SYSBOX_ALLOW_TRUSTED_XATTR).
      const listener = installNotifyFilter({ groups: m.traps ?? [] });
      try {
        sendNotifyFd(fd, listener, { containerId: id, mounts: initialMounts(), exec: !init });
      } finally {
        closeQuietly(listener);
        closeQuietly(fd);
      }
    },
  };
}

/** Opens a pty in the container's devpts, hands the master to the console socket, and makes the slave our stdio. */
function setupConsole(sys: Sys, consoleFd: number, ctty: boolean): void {
  const { openPty, setControllingTty } = require("../sys/pty.ts") as typeof import("../sys/pty.ts");
  if (consoleFd < 0) throw new Error("process.terminal is true but no --console-socket was given");
  const pty = openPty();
  sendFds(consoleFd, [pty.master], new TextEncoder().encode("/dev/ptmx"));
  sys.close(pty.master);
  sys.close(consoleFd);
  sys.setsid();
  for (const fd of [0, 1, 2]) sys.dup3(pty.slave, fd, 0);
  if (ctty) setControllingTty(0);
  if (pty.slave > 2) sys.close(pty.slave);
  // /dev/console, when present as a mount point, shows the same pty (runc binds it).
  if (existsSync("/dev/console") && statSync("/dev/console").isFile()) {
    sys.mount(pty.slavePath, "/dev/console", null, MS.BIND);
  }
}
