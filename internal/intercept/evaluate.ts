/**
 * One notification from arguments to verdict: identify the syscall, decode
 * its arguments, read and resolve the path only when the rule needs it, and
 * apply the rule. I/O goes through `CallerIo`, so tests run the whole chain
 * on recorded mountinfo without a kernel.
 */
import { isSysError } from "../sys/errno.ts";
import type { SeccompNotif } from "../sys/seccomp_notify.ts";
import { decide, isNewMount, isVirtualFs, newMountVerdict, pathArg, type ContainerMounts, type Verdict } from "./policy.ts";
import { resolvePath, type ResolveEnv } from "./resolve.ts";
import { decodeCall, syscallOf, type DecodedCall } from "./syscalls.ts";
import { isSettingsSyscall } from "./settings_syscalls.ts";
import { evaluateSettingsCall } from "./settings_policy.ts";
import { evaluateDeviceCall } from "./evaluate_devices.ts";
import { isDeviceCall } from "./syscalls_devices.ts";

/** What the policy needs to know about the calling process. */
export interface CallerView extends ResolveEnv {
  /** "dev:ino" of the caller's mount namespace. */
  mountNs: string;
}

export interface CallerIo {
  /** The NUL-terminated string at `addr` in the caller; throws SysError (EFAULT, ENAMETOOLONG, ESRCH). */
  readString(pid: number, addr: bigint): string;
  /** The caller's mounts, root-relative cwd and lookups; throws if the process is gone. */
  caller(pid: number, container: ContainerMounts): CallerView;
  /** Whether the thread holds capability `cap` in its effective set; unknown counts as yes. */
  hasCap?(pid: number, cap: number): boolean;
}

export interface Evaluation {
  verdict: Verdict;
  /** "mount", "umount2"...; undefined for a syscall the table does not know. */
  syscall?: string;
  /** The path argument as the caller passed it, when it was read. */
  target?: string;
  /** Memory or /proc of the caller was read: re-validate the notification id before answering. */
  readCaller: boolean;
}

const cont = (reason: string): Verdict => ({ action: "continue", reason });

export function evaluate(notif: SeccompNotif, container: ContainerMounts, io: CallerIo): Evaluation {
  const id = syscallOf(notif.data.arch, notif.data.nr);
  if (!id) return { verdict: cont("not a trapped syscall"), readCaller: false };
  if (isSettingsSyscall(id.name)) return evaluateSettingsCall(notif, { ...id, name: id.name }, container, io);
  if (isDeviceCall(id.name)) return evaluateDeviceCall(notif, { ...id, name: id.name }, io);
  const call = decodeCall({ ...id, name: id.name }, notif.data.args);
  if (call.syscall === "mount" && isNewMount(call.flags) && call.fstype !== 0n) {
    return evaluateNewMount(notif.pid, call, io, id.name);
  }
  const arg = pathArg(call);
  if (!arg) return { verdict: decide(call, null, { container, sameMountNs: false }), syscall: id.name, readCaller: false };
  let target: string;
  try {
    target = io.readString(notif.pid, arg.addr);
  } catch (e) {
    // The kernel reads the same memory after CONTINUE and reports the error itself.
    if (isSysError(e)) return { verdict: cont(`path argument unreadable: ${e.code}`), syscall: id.name, readCaller: true };
    throw e;
  }
  let view: CallerView;
  try {
    view = io.caller(notif.pid, container);
  } catch (e) {
    if (isSysError(e) || (e as { code?: string }).code === "ENOENT" || (e as { code?: string }).code === "ESRCH") {
      return { verdict: cont("the caller is gone"), syscall: id.name, target, readCaller: true };
    }
    throw e;
  }
  const resolved = resolvePath(target, { follow: arg.follow }, view);
  const verdict = decide(call, resolved, {
    container, sameMountNs: view.mountNs === container.mountNs, childrenOf: (mid) => view.view.childrenOf(mid),
  });
  return { verdict, syscall: id.name, target, readCaller: true };
}

/**
 * A new mount: only proc and sysfs need more than the kernel, so the fstype
 * string is read first and the target and data strings only for those.
 */
function evaluateNewMount(pid: number, call: Extract<DecodedCall, { syscall: "mount" }>, io: CallerIo, name: string): Evaluation {
  let fstype: string;
  let target: string;
  let data = "";
  try {
    fstype = io.readString(pid, call.fstype);
    if (!isVirtualFs(fstype)) {
      return { verdict: newMountVerdict(fstype, "", call.flags, ""), syscall: name, readCaller: true };
    }
    target = io.readString(pid, call.target);
    if (call.data !== 0n) data = io.readString(pid, call.data);
  } catch (e) {
    if (isSysError(e)) return { verdict: cont(`argument unreadable: ${e.code}`), syscall: name, readCaller: true };
    throw e;
  }
  return { verdict: newMountVerdict(fstype, target, call.flags, data), syscall: name, target, readCaller: true };
}
