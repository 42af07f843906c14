/**
 * The runtime's side of syscall interception (sequence in wire.ts):
 *
 *   sysbox-runc, on the host:   fd = connectInterceptor(runDir)   // handed to the init, CLOEXEC off
 *   init, after its last mount: mounts = initialMounts()
 *                               nfd = installNotifyFilter()
 *                               sendNotifyFd(fd, nfd, {containerId, mounts})
 *                               close(nfd); close(fd); execve(...)
 *
 * A process exec'd into the container does the same with `{containerId}` and
 * no mounts. Once the filter is loaded, every mount/umount of the process
 * and its descendants waits for sysbox-fs; if registration fails, no one
 * will ever answer them (they fail with ENOSYS once the fd is closed), so the
 * runtime must treat a failure here as fatal for the process.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isSysError } from "../sys/errno.ts";
import { close } from "../sys/fs.ts";
import { libseccomp, NR_SCMP_ERROR, SCMP_ACT, SCMP_ARCH, SCMP_FLTATR, type Libseccomp } from "../sys/seccomp.ts";
import { POLL, encodePollfds, poll, pollRevents } from "../sys/seccomp_notify.ts";
import { recv, send, sendFds, unixConnect, SOCK } from "../sys/socket.ts";
import { DAEMON_RESTART_GRACE_MS, DEFAULT_RUN_DIR, isRestartGap } from "../ipc/mod.ts";
import { FrameDecoder } from "../ipc/mod.ts";
import { TRAPPED } from "./syscalls.ts";
import { TRAP_GROUPS, type TrapGroup } from "./settings_syscalls.ts";
import { MountView, isReadOnly } from "./view.ts";
import { MAX_REGISTRATION_FRAME, encodeRequest, parseReply, type RegisterMounts } from "./wire.ts";

/** The interceptor's socket, under the daemons' run dir. */
export const INTERCEPT_SOCKET = "sysfs-seccomp.sock";

export function interceptSocketPath(runDir: string = DEFAULT_RUN_DIR): string {
  return join(runDir, INTERCEPT_SOCKET);
}

/** Registration failed or sysbox-fs cannot be reached; the message says which and why. */
export class InterceptorError extends Error {
  override name = "InterceptorError";
}

/** Compat ABIs a process of the native arch can also call the kernel through. */
const COMPAT_ARCHES: Record<string, Array<keyof typeof SCMP_ARCH>> = {
  x86_64: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  aarch64: ["SCMP_ARCH_ARM"],
};

/** libseccomp's API level for SCMP_ACT_NOTIFY (libseccomp 2.5, Linux 5.7 or later). */
const NOTIFY_API_LEVEL = 5;

export interface FilterOptions {
  /** The libseccomp layer; tests pass a recording fake. */
  sys?: Libseccomp;
  /** Groups trapped besides TRAPPED, for a container whose settings ask (settings_syscalls.ts). */
  groups?: readonly TrapGroup[];
}

/**
 * Loads a filter into the calling thread that allows everything but sends
 * mount, umount2 and umount (where the ABI has it) to a listener, and
 * returns the listener fd (close-on-exec). Needs CAP_SYS_ADMIN in the
 * caller's user namespace or no_new_privs; does not set no_new_privs.
 * Calls from the process's compat ABIs (i386 and x32 on x86_64, arm on
 * arm64) are trapped too; other foreign ABIs are allowed, leaving them to
 * the container's own profile.
 */
export function installNotifyFilter(opts: FilterOptions = {}): number {
  const sys = opts.sys ?? libseccomp;
  const level = sys.apiLevel();
  if (level < NOTIFY_API_LEVEL) {
    throw new InterceptorError(`seccomp notify unsupported: libseccomp API level ${level}, need ${NOTIFY_API_LEVEL} (libseccomp 2.5 and Linux 5.7 or later)`);
  }
  const ctx = sys.init(SCMP_ACT.ALLOW);
  try {
    sys.attrSet(ctx, SCMP_FLTATR.CTL_NNP, 0);
    sys.attrSet(ctx, SCMP_FLTATR.ACT_BADARCH, SCMP_ACT.ALLOW);
    const native = Object.values(SCMP_ARCH).find((a) => a.token === sys.archNative());
    for (const key of COMPAT_ARCHES[native?.name ?? ""] ?? []) {
      try {
        sys.archAdd(ctx, SCMP_ARCH[key].token, key);
      } catch (e) {
        if (!isSysError(e, "EEXIST")) throw e;
      }
    }
    const names = [...TRAPPED, ...(opts.groups ?? []).flatMap((g) => TRAP_GROUPS[g])];
    for (const name of names) {
      const nr = sys.syscallResolveName(name);
      if (nr === NR_SCMP_ERROR) continue;
      sys.ruleAdd(ctx, SCMP_ACT.NOTIFY, nr, [], name);
    }
    sys.load(ctx);
    return sys.notifyFd(ctx);
  } finally {
    sys.release(ctx);
  }
}

/**
 * The ids the runtime registers, from the init's mountinfo right before the
 * user process execs: the topmost mounts at /, /proc and /sys, and every
 * mount that is read-only then.
 */
export function initialMounts(mountinfo: string = readFileSync("/proc/self/mountinfo", "utf8")): RegisterMounts {
  const view = MountView.parse(mountinfo);
  if (!view.root) throw new InterceptorError("no mount at / in the init's mountinfo");
  const at = (path: string) => view.mountedAt(view.root, path)?.id;
  const proc = at("/proc");
  const sys = at("/sys");
  return {
    root: view.root.id,
    ...(proc !== undefined ? { proc } : {}),
    ...(sys !== undefined ? { sys } : {}),
    readonly: view.entries.filter(isReadOnly).map((e) => e.id),
  };
}

/**
 * Connects to sysbox-fs's seccomp socket. The fd is not close-on-exec, so
 * the container's init inherits it; it must be closed before the user
 * process execs.
 */
export function connectInterceptor(runDir: string = DEFAULT_RUN_DIR, restartGraceMs: number = DAEMON_RESTART_GRACE_MS): number {
  const path = interceptSocketPath(runDir);
  const deadline = Date.now() + restartGraceMs;
  for (;;) {
    try {
      return unixConnect(path, SOCK.STREAM);
    } catch (e) {
      // sysbox-fs between two lives (a restart): its socket comes back.
      if (isSysError(e) && isRestartGap(e.code) && Date.now() < deadline) {
        Bun.sleepSync(50);
        continue;
      }
      throw connectError(path, e);
    }
  }
}

function connectError(path: string, e: unknown): unknown {
  if (!isSysError(e)) return e;
  const hint = isRestartGap(e.code) ? " (is sysbox-fs running?)" : "";
  return new InterceptorError(`cannot connect to sysbox-fs's seccomp socket ${path}: ${e.code}${hint}`, { cause: e });
}

export interface NotifyMeta {
  containerId: string;
  /** The process's mount ids (initialMounts()): the init's, or an exec'd process's as a fallback. */
  mounts?: RegisterMounts;
  /** A process exec'd into a running container (its mounts count only if sysbox-fs lost the init's). */
  exec?: boolean;
}

export interface SendOptions {
  /** How long to wait for the reply; default 10 s. */
  timeoutMs?: number;
}

/**
 * Sends the notify fd and the registration over an already-connected socket
 * and waits for "ack". Throws InterceptorError if sysbox-fs refuses the
 * registration, closes the socket, or does not answer in time.
 */
export function sendNotifyFd(sockFd: number, notifyFd: number, meta: NotifyMeta, opts: SendOptions = {}): void {
  const frame = encodeRequest(meta.mounts && !meta.exec
    ? { v: 1, kind: "init", containerId: meta.containerId, mounts: meta.mounts }
    : { v: 1, kind: "exec", containerId: meta.containerId, ...(meta.mounts ? { mounts: meta.mounts } : {}) });
  // The fd rides on the first sendmsg; a short write's rest goes without it.
  for (let off = sendFds(sockFd, [notifyFd], frame); off < frame.length; ) off += send(sockFd, frame.subarray(off));
  const reply = readReply(sockFd, opts.timeoutMs ?? 10_000);
  if (!reply.ok) throw new InterceptorError(`sysbox-fs refused the seccomp registration of ${meta.containerId}: ${reply.error}`);
}

function readReply(sockFd: number, timeoutMs: number) {
  const decoder = new FrameDecoder({ maxFrame: MAX_REGISTRATION_FRAME });
  const buf = new Uint8Array(4096);
  const pfd = encodePollfds([{ fd: sockFd, events: POLL.IN }]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0 || poll(pfd, left) === 0) {
      throw new InterceptorError(`sysbox-fs did not answer the seccomp registration within ${timeoutMs} ms`);
    }
    if ((pollRevents(pfd, 0) & (POLL.IN | POLL.HUP | POLL.ERR)) === 0) continue;
    const n = recv(sockFd, buf);
    if (n === 0) throw new InterceptorError("sysbox-fs closed the seccomp socket without answering the registration");
    for (const msg of decoder.push(buf.subarray(0, n))) return parseReply(msg);
  }
}

/** Closes an fd the init no longer needs, ignoring an fd that is already gone. */
export function closeQuietly(fd: number): void {
  try {
    close(fd);
  } catch (e) {
    if (!isSysError(e, "EBADF")) throw e;
  }
}
