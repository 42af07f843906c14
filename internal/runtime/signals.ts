/** Signal names and numbers as `kill` accepts them (runc takes "KILL", "SIGKILL" or "9"). */
import { constants } from "node:os";
import { kill as sysKill } from "../sys/proc.ts";
import { isSysError } from "../sys/errno.ts";

const SIGNALS = constants.signals as Record<string, number>;

export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw new Error(`invalid signal "${s}"`);
    return n;
  }
  const name = s.toUpperCase().startsWith("SIG") ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
  if (rt) return 34 + Number(rt[1] ?? 0);
  const rtmax = /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rtmax) return 64 - Number(rtmax[1] ?? 0);
  const n = SIGNALS[name];
  if (n === undefined) throw new Error(`unknown signal "${s}"`);
  return n;
}

/** kill(2) that treats an already-gone process as done. */
export function killProcess(pid: number, sig: number): boolean {
  try {
    sysKill(pid, sig);
    return true;
  } catch (e) {
    if (isSysError(e, "ESRCH")) return false;
    throw e;
  }
}
