/**
 * The init stage: sysbox-runc re-executed by nsexec.c inside the container's
 * namespaces. For `create` it builds the rootfs, reports ready, waits on the
 * exec fifo for `start`, then becomes the user process; for `exec` it only
 * prepares and becomes the process. Errors go back to the parent over the
 * sync socket, which prints them; nothing here writes to the container's stdio.
 */
import { existsSync, statSync, writeFileSync } from "node:fs";
import { sendHello } from "../ns/nsexec.ts";
import { open, close, write, setCloexec, dup3, O_FLAGS } from "../sys/fs.ts";
import { sendSync, recvSync, type SyncMessage } from "./sync.ts";
import { setupRootfs, type CgroupMountInfo } from "./rootfs.ts";
import { runHooks } from "./hooks.ts";
import { execProcess, finalizeProcess, lookPath, prepareProcess, type ProcessSpec } from "./process.ts";
import type { Spec } from "./spec.ts";
import { joinMountNamespace, sethostname, setdomainname, setsid } from "../sys/proc.ts";
import { preloadLibseccomp } from "../sys/seccomp.ts";
import { mount } from "../sys/mount.ts";
import { MS } from "../sys/flags.ts";

interface CreateMsg {
  t: "create";
  id: string;
  /** Connected to sysbox-fs's seccomp socket by the parent, or -1. */
  interceptFd: number;
  /** sysbox-fs files to bind over /proc and /sys entries (skipped where the container has no such entry). */
  fsBinds: Array<{ source: string; destination: string }>;
  spec: Spec;
  rootfs: string;
  fifoFd: number;
  consoleFd: number;
  noPivot: boolean;
  userns: boolean;
  cgroupV1: CgroupMountInfo[] | null;
  cgroupV2Path: string;
  cgroupns: boolean;
  cgroupDelegated: boolean;
  preserveFds: number;
}

interface ExecMsg {
  t: "exec";
  id: string;
  interceptFd: number;
  /** The container's mount namespace, to enter first; -1 if it shares the host's. */
  mntFd: number;
  process: ProcessSpec;
  consoleFd: number;
  preserveFds: number;
  /** Container spec defaults that exec processes inherit (seccomp, no_new_privs...). */
  spec: Spec;
}

export function runInit(): never {
  const syncFd = Number(process.env.NSEXEC_SYNC_FD);
  if (!Number.isInteger(syncFd)) {
    process.stderr.write("sysbox-runc init: this command is internal and is run by sysbox-runc itself\n");
    process.exit(2);
  }
  sendHello(syncFd);
  const warn = (msg: string) => sendSync(syncFd, { t: "warn", msg });
  try {
    const msg = recvSync(syncFd) as SyncMessage | null;
    if (!msg) process.exit(1);
    if (msg.t === "create") initContainer(syncFd, msg as unknown as CreateMsg, warn);
    else if (msg.t === "exec") initExec(syncFd, msg as unknown as ExecMsg, warn);
    else throw new Error(`init: unexpected message "${msg.t}"`);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    try {
      sendSync(syncFd, { t: "error", msg });
    } catch {
      // After "ready" the parent is gone: the container's stderr is all that is left.
      process.stderr.write(`sysbox-runc init: ${msg}\n`);
    }
    process.exit(1);
  }
  process.exit(1);
}

function hookState(spec: Spec, status: string) {
  return { ociVersion: spec.ociVersion, id: spec.hostname ?? "", pid: process.pid, status, bundle: "", annotations: spec.annotations ?? {} };
}

function initContainer(syncFd: number, m: CreateMsg, warn: (s: string) => void): never {
  const spec = m.spec;
  preloadLibseccomp();
  const linux = spec.linux ?? {};
  setupRootfs({
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
    optionalBinds: m.fsBinds ?? [],
    userns: m.userns,
    beforePivot: () => runHooks("createContainer", spec.hooks?.createContainer, hookState(spec, "created")),
    beforeFsBinds: (procDir) => {
      for (const [key, value] of Object.entries(linux.sysctl ?? {})) {
        try {
          writeFileSync(`${procDir}/sys/${key.replace(/\./g, "/")}`, value);
        } catch (e) {
          throw new Error(`linux.sysctl: cannot set ${key}=${value}: ${(e as NodeJS.ErrnoException).code ?? e}`);
        }
      }
    },
    afterPivot: () => {
      if (spec.hostname) sethostname(spec.hostname);
      if (spec.domainname) setdomainname(spec.domainname);
    },
  });
  const proc = spec.process;
  if (!proc) throw new Error("process: the container has no process to run");
  if (proc.terminal) setupConsole(m.consoleFd, true);
  else setsid();
  // As runc: rlimits, user, capabilities and cwd are set, and the program
  // found as that user, before create returns, so their errors fail create.
  const env = prepareProcess(proc, { spec, warn, ...interceptor(m.interceptFd, m.id, true) });
  const path = lookPath(proc);
  const fifoFd = m.fifoFd;
  sendSync(syncFd, { t: "ready", pid: process.pid });
  close(syncFd);

  // Blocks until `start` opens the fifo for reading.
  const fifo = open(`/proc/self/fd/${fifoFd}`, O_FLAGS.WRONLY | O_FLAGS.CLOEXEC);
  write(fifo, new Uint8Array([48]));
  close(fifo);
  close(fifoFd);
  runHooks("startContainer", spec.hooks?.startContainer, hookState(spec, "running"));
  execProcess(proc, path, env, { spec, preserveFds: m.preserveFds, warn: () => {} });
}

function initExec(syncFd: number, m: ExecMsg, warn: (s: string) => void): never {
  preloadLibseccomp();
  if (m.mntFd >= 0) joinMountNamespace(m.mntFd);
  const proc = m.process;
  const path = lookPath(proc);
  if (proc.terminal) setupConsole(m.consoleFd, true);
  else setsid();
  sendSync(syncFd, { t: "ready", pid: process.pid });
  // The parent learns the exec worked when the sync socket closes on exec.
  setCloexec(syncFd, true);
  finalizeProcess(proc, path, { spec: m.spec, preserveFds: m.preserveFds, warn, onExecError: (msg) => sendSync(syncFd, { t: "error", msg }), ...interceptor(m.interceptFd, m.id, false) });
}

/**
 * mount and umount2 of the process go to sysbox-fs (seccomp user
 * notification); the init also registers the mounts it leaves in place, which
 * the container may then not unmount or make writable.
 */
function interceptor(fd: number, id: string, init: boolean): { intercept?: () => void } {
  if (fd < 0) return {};
  return {
    intercept: () => {
      const { installNotifyFilter, sendNotifyFd, initialMounts, closeQuietly } = require("../intercept/client.ts") as typeof import("../intercept/client.ts");
      const listener = installNotifyFilter();
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
function setupConsole(consoleFd: number, ctty: boolean): void {
  const { openPty, setControllingTty } = require("../sys/pty.ts") as typeof import("../sys/pty.ts");
  const { sendFds } = require("../sys/socket.ts") as typeof import("../sys/socket.ts");
  if (consoleFd < 0) throw new Error("process.terminal is true but no --console-socket was given");
  const pty = openPty();
  sendFds(consoleFd, [pty.master], new TextEncoder().encode("/dev/ptmx"));
  close(pty.master);
  close(consoleFd);
  setsid();
  for (const fd of [0, 1, 2]) dup3(pty.slave, fd, 0);
  if (ctty) setControllingTty(0);
  if (pty.slave > 2) close(pty.slave);
  // /dev/console, when present as a mount point, shows the same pty (runc binds it).
  if (existsSync("/dev/console") && statSync("/dev/console").isFile()) {
    mount(pty.slavePath, "/dev/console", null, MS.BIND);
  }
}
