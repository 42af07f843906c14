/**
 * A process's start time from /proc/PID/stat: the identity that survives pid
 * reuse, shared by sysbox-runc's state, sysbox-mgr and sysbox-fs. Plain file
 * reads, no ffi, so sysbox-runc's `state` and `list` load nothing more.
 */
import { readFileSync } from "node:fs";

/** A process's start time and whether it has exited but is not reaped yet. */
export interface StartTime {
  /** Field 22 of /proc/PID/stat: clock ticks since boot, as text (compared, never computed with). */
  ticks: string;
  /** State Z or X: the pid is still taken, but the process no longer runs. */
  zombie: boolean;
}

/**
 * The start time of `pid`, the identity that survives pid reuse (a reused pid
 * has a later start), or undefined when there is no such process. Callers
 * decide what a zombie counts as. `procRoot` is for tests.
 */
export function processStartTime(pid: number, procRoot = "/proc"): StartTime | undefined {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  return parseStatStart(stat);
}

/** The start time in a /proc/PID/stat line; comm (field 2) may hold spaces and parens, so split after the last ')'. */
export function parseStatStart(stat: string): StartTime | undefined {
  const end = stat.lastIndexOf(")");
  if (end === -1) return undefined;
  const rest = stat.slice(end + 2).split(" ");
  const ticks = rest[19];
  if (ticks === undefined || !/^\d+$/.test(ticks)) return undefined;
  return { ticks, zombie: rest[0] === "Z" || rest[0] === "X" };
}
