/**
 * One trapped mknod/mknodat or sysinfo from arguments to verdict (mknod.ts
 * decides); the notify loop carries out the two verdicts that need it.
 */
import { isSysError } from "../sys/errno.ts";
import type { SeccompNotif } from "../sys/seccomp_notify.ts";
import type { CallerIo, Evaluation } from "./evaluate.ts";
import { decideMknod } from "./mknod.ts";
import type { SyscallId } from "./syscalls.ts";
import { decodeDeviceCall, type DeviceTrappedName } from "./syscalls_devices.ts";

export function evaluateDeviceCall(notif: SeccompNotif, id: SyscallId & { name: DeviceTrappedName }, io: Pick<CallerIo, "readString">): Evaluation {
  const call = decodeDeviceCall(id, notif.data.args);
  if (call.syscall === "sysinfo") {
    // The struct is written into the caller before the answer: re-validate first.
    return { verdict: { action: "sysinfo", addr: call.info, arch: id.arch, reason: "the container's figures" }, syscall: id.name, readCaller: true };
  }
  let path: string;
  try {
    path = io.readString(notif.pid, call.path);
  } catch (e) {
    // The kernel reads the same memory after CONTINUE and reports the error itself.
    if (isSysError(e)) return { verdict: { action: "continue", reason: `path argument unreadable: ${e.code}` }, syscall: id.name, readCaller: true };
    throw e;
  }
  return { verdict: decideMknod(call, path), syscall: id.name, target: path, readCaller: true };
}
