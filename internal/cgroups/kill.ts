/**
 * Signalling every process of a cgroup. Listing pids and then signalling them
 * races with fork, so, like runc, the cgroup is frozen around it: a frozen
 * process cannot fork, and a SIGKILL takes effect once it is thawed. On
 * cgroup2 with SIGKILL, `cgroup.kill` (kernel 5.14+) does it atomically.
 */
import * as posix from "node:path/posix";
import { ioOf, type IoOptions } from "./_io.ts";
import { listPids, type Cgroup } from "./cgroup.ts";
import { freeze, thaw } from "./freezer.ts";
import { isCode } from "./_knob.ts";
import { UNIFIED } from "./path.ts";

export interface KillResult {
  /** Pids signalled individually ([] when cgroup.kill was used). */
  pids: number[];
  /** How it was done: the cgroup.kill knob, or a (frozen, if possible) pid walk. */
  method: "cgroup.kill" | "frozen-walk" | "walk";
}

function isSigkill(signal: number | NodeJS.Signals): boolean {
  return signal === 9 || signal === "SIGKILL";
}

/** Sends `signal` to every process in the cgroup and its descendants. */
export async function killAll(cg: Cgroup, signal: number | NodeJS.Signals, opts: IoOptions = {}): Promise<KillResult> {
  const io = ioOf(opts);
  const unified = cg.paths[UNIFIED];
  if (cg.layout.mode === "v2" && unified !== undefined && isSigkill(signal)) {
    try {
      io.writeFile(posix.join(unified, "cgroup.kill"), "1");
      return { pids: [], method: "cgroup.kill" };
    } catch (e) {
      if (!isCode(e, "ENOENT")) throw e; // older kernel: fall back to the walk
    }
  }
  let frozen = false;
  try {
    await freeze(cg, opts);
    frozen = true;
  } catch {
    // No freezer (or it would not settle): still signal, accepting the fork race.
  }
  try {
    const pids = listPids(cg, opts);
    for (const pid of pids) {
      try {
        io.kill(pid, signal);
      } catch (e) {
        if (!isCode(e, "ESRCH")) throw e; // already gone
      }
    }
    return { pids, method: frozen ? "frozen-walk" : "walk" };
  } finally {
    if (frozen) await thaw(cg, opts);
  }
}
