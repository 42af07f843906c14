/** Whether a container's init still runs: its pid with the same start time (against pid reuse). */
import { processStartTime as startTimeOf } from "../sys/procstat.ts";

/** Field 22 of /proc/PID/stat (start time in clock ticks), or null when the process is gone or a zombie. */
export function processStartTime(pid: number, procRoot = "/proc"): string | null {
  const t = startTimeOf(pid, procRoot);
  return t && !t.zombie ? t.ticks : null;
}

export function initAlive(init: { pid: number; startTime: string }, procRoot?: string): boolean {
  return processStartTime(init.pid, procRoot) === init.startTime;
}
