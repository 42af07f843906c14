/**
 * `exec`: runs a new process in a running container. The C stage joins every
 * namespace of the container's init (user first, mount last), forks into its
 * pid namespace, and re-executes sysbox-runc as the init stage in exec mode,
 * which prepares the process and execs it. Without --detach we wait for it:
 * sysbox-runc makes itself a child subreaper so the process is its to reap.
 */
import { readFileSync } from "node:fs";
import { spawnInNamespaces, awaitExec } from "../sys/nsexec.ts";
import { open, close, O_FLAGS } from "../sys/fs.ts";
import { prctl, PR, waitpid, exitCodeOf } from "../sys/proc.ts";
import { parseProcess } from "../oci/mod.ts";
import { loadState } from "./state.ts";
import { statusOf } from "./status.ts";
import { execJoinOrder } from "./namespaces.ts";
import { recvSync, sendSync } from "./sync.ts";
import { selfExec } from "./self.ts";
import { writePidFile, connectConsole, openDevNull, connectInterceptorFd } from "./create.ts";
import { addExecProcess, reopenCgroup } from "./cgroup.ts";
import { loadSpec } from "./spec.ts";
import type { ProcessSpec } from "./process.ts";
import { systemContainerProcess } from "../syscont/spec.ts";
import { boundingSet } from "../sys/caps.ts";
import type { Logger } from "./logger.ts";

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
  log: Logger;
}

function buildProcess(opts: ExecOptions, defaults: ProcessSpec | undefined): ProcessSpec {
  if (opts.processFile) return parseProcess(readFileSync(opts.processFile, "utf8"), opts.processFile);
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

export async function execInContainer(opts: ExecOptions): Promise<number> {
  const st = loadState(opts.root, opts.id);
  const status = statusOf(opts.root, st);
  if (status !== "running" && status !== "created") throw new Error(`cannot exec in a ${status} container`);
  const spec = loadSpec(st.configPath);
  const built = buildProcess(opts, spec.process);
  const proc = st.userns ? systemContainerProcess(built, boundingSet()) : built;

  const fds: number[] = [];
  try {
    // The mount namespace is entered by the init stage itself, once it runs:
    // the C stage execs sysbox-runc from the host's root, so its libraries
    // load from there and not from an image that may lack them (Alpine).
    const order = execJoinOrder(st.namespaces);
    const join = order.filter((ns) => ns.proc !== "mnt").map((ns) => {
      const fd = open(`/proc/${st.pid}/ns/${ns.proc}`, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
      fds.push(fd);
      return { fd, type: ns.flag };
    });
    let mntFd = -1;
    if (order.some((ns) => ns.proc === "mnt")) {
      mntFd = open(`/proc/${st.pid}/ns/mnt`, O_FLAGS.RDONLY);
      fds.push(mntFd);
    }
    let consoleFd = -1;
    if (opts.consoleSocket) {
      consoleFd = connectConsole(opts.consoleSocket);
      fds.push(consoleFd);
    }
    const self = selfExec();
    const execFd = open(self.path, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
    fds.push(execFd);
    const nullFd = proc.terminal ? openDevNull() : -1;
    if (nullFd >= 0) fds.push(nullFd);
    const interceptFd = st.fs ? await connectInterceptorFd() : -1;
    if (interceptFd >= 0) fds.push(interceptFd);
    if (!opts.detach) prctl(PR.SET_CHILD_SUBREAPER, 1);
    const cgPath = st.procsCgroupPath ?? st.cgroupPath;
    const cg = cgPath ? reopenCgroup(cgPath) : undefined;
    const spawned = spawnInNamespaces({
      flags: 0, join, execFd, argv: [...self.argv, "init"], env: [], setIds: st.userns, stdioFd: nullFd,
      onReady: (pid) => { if (cg) addExecProcess(cg, pid, st.pid); },
    });
    fds.push(spawned.syncFd);
    awaitExec(spawned.syncFd);
    sendSync(spawned.syncFd, { t: "exec", id: opts.id, interceptFd, mntFd, process: proc, consoleFd, preserveFds: opts.preserveFds, spec });
    for (;;) {
      const m = recvSync(spawned.syncFd);
      if (m === null) break; // closed by a successful execve
      if (m.t === "warn") opts.log.warn(m.msg);
      else if (m.t === "error") throw new Error(m.msg);
    }
    if (opts.pidFile) writePidFile(opts.pidFile, spawned.pid);
    if (opts.detach) return 0;
    for (;;) {
      const r = waitpid(spawned.pid, 0);
      if (r.pid === spawned.pid) return exitCodeOf(r.status);
    }
  } finally {
    for (const fd of fds) try { close(fd); } catch { /* already closed */ }
  }
}
