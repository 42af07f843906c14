/** Whether a container's init still runs: its pid with the same start time (against pid reuse). */
import { readFileSync } from "node:fs";

/** Field 22 of /proc/PID/stat (start time in clock ticks), or null when the process is gone or a zombie. */
export function processStartTime(pid: number, procRoot = "/proc"): string | null {
  try {
    const stat = readFileSync(`${procRoot}/${pid}/stat`, "utf8");
    // comm (field 2) may hold spaces and parens: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z" || rest[0] === "X") return null;
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

export function initAlive(init: { pid: number; startTime: string }, procRoot?: string): boolean {
  return processStartTime(init.pid, procRoot) === init.startTime;
}
