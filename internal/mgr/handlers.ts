/** sysbox-mgr's request table: each message goes to the Manager method of the same name. */
import { statusBody } from "../daemon/mod.ts";
import type { DaemonMessages, Handlers } from "../ipc/mod.ts";
import type { Manager } from "./manager.ts";

export function mgrHandlers(mgr: Manager, name = "sysbox-mgr"): Handlers<DaemonMessages["mgr"]> {
  return {
    // A status reply counts only containers that still exist.
    status: () => {
      mgr.sweep();
      return { ...statusBody(name), mgr: mgr.counts() };
    },
    register: (body) => mgr.register(body),
    update: (body) => mgr.update(body),
    prepareMounts: (body) => mgr.prepareMounts(body),
    unregister: (body) => mgr.unregister(body),
  };
}
