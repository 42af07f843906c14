/** kill(2) that treats an already-gone process as done. */
import { kill as sysKill } from "../sys/proc.ts";
import { isSysError } from "../sys/errno.ts";

export { parseSignal } from "../sys/proc.ts";

export function killProcess(pid: number, sig: number): boolean {
  try {
    sysKill(pid, sig);
    return true;
  } catch (e) {
    if (isSysError(e, "ESRCH")) return false;
    throw e;
  }
}
