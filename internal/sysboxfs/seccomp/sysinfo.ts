/**
 * Answers a trapped sysinfo(2): the container's figures (procfs/sysinfo.ts,
 * the same sources as its /proc/meminfo, /proc/uptime and /proc/loadavg)
 * written into the caller's struct in its ABI's layout, and the call
 * returns 0. The load averages are the ones sysbox-fs's sampler keeps for
 * the container's /proc/loadavg, sent to this thread after each sample.
 */
import { isSysError } from "../../sys/errno.ts";
import { writeProcessMemory } from "../../sys/seccomp_notify.ts";
import { encodeSysinfo, sysinfoLayout, type SysinfoVerdict } from "../../intercept/mod.ts";
import { linuxHost, sysinfoFigures, type Host, type SysinfoSource } from "../../procfs/mod.ts";
import type { ActResult } from "./virtualfs.ts";

export function answerSysinfo(tid: number, v: SysinfoVerdict, src: SysinfoSource, host: Host = linuxHost): ActResult {
  const bytes = encodeSysinfo(sysinfoFigures(host, src), sysinfoLayout(v.arch), { bigEndian: v.arch === "s390x" });
  try {
    writeProcessMemory(tid, v.addr, bytes);
  } catch (e) {
    // A bad pointer is the caller's EFAULT, as the kernel would say.
    if (isSysError(e, "EFAULT") || isSysError(e, "EIO")) return { outcome: "error", errno: 14, reason: "the struct is not writable" };
    throw e;
  }
  return { outcome: "done", reason: `uptime, memory and loads of the container (init ${src.initPid})` };
}
