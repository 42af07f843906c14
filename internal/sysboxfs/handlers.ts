/** sysbox-fs's request table: each message goes to the SysboxFs method of the same name. */
import { statusBody } from "../daemon/mod.ts";
import type { DaemonMessages, Handlers } from "../ipc/mod.ts";
import type { SysboxFs } from "./server.ts";

export function fsHandlers(fs: SysboxFs, name = "sysbox-fs"): Handlers<DaemonMessages["fs"]> {
  return {
    status: () => ({ ...statusBody(name), fs: fs.counts() }),
    fsRegister: (body) => fs.register(body),
    fsUnregister: (body) => fs.unregister(body),
  };
}
