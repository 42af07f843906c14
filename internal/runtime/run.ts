/**
 * `run`: create then start; in the foreground, forward signals to the init,
 * relay its terminal when it has one and no console socket (foreground.ts),
 * wait for it (we are its subreaper), delete, and return its exit code.
 */
import { join, resolve } from "node:path";
import { close } from "../sys/fs.ts";
import { prctl, PR } from "../sys/proc.ts";
import { createContainer, type CreateOptions } from "./create.ts";
import { startContainer } from "./start.ts";
import { deleteContainer } from "./lifecycle.ts";
import { consoleMode, consolePair, holdSignals, hostConsole, receiveMaster, runForeground, type HostConsole } from "./foreground.ts";
import { loadSpec } from "./spec.ts";

export async function runContainer(opts: CreateOptions & { detach: boolean; keep: boolean }): Promise<number> {
  const spec = loadSpec(join(resolve(opts.bundle), "config.json"));
  const mode = consoleMode(spec.process?.terminal === true, opts.consoleSocket, opts.detach);
  if (opts.detach) {
    await createContainer(opts);
    await startContainer(opts.root, opts.id, opts.log);
    return 0;
  }
  prctl(PR.SET_CHILD_SUBREAPER, 1);
  let host: HostConsole | undefined;
  let master: number | undefined;
  let pair: { ours: number; init: number } | undefined;
  let pid: number;
  try {
    if (mode === "foreground") {
      // As runc: no terminal to attach to is an error before anything is made.
      host = hostConsole();
      pair = consolePair();
    }
    const st = await createContainer(pair ? { ...opts, consoleFd: pair.init } : opts);
    pid = st.pid;
    if (pair) {
      close(pair.init);
      pair.init = -1;
      master = receiveMaster(pair.ours);
    }
  } catch (e) {
    if (host?.opened) close(host.fd);
    throw e;
  } finally {
    if (pair) for (const fd of [pair.ours, pair.init]) if (fd >= 0) close(fd);
  }
  const held = holdSignals();
  try {
    await startContainer(opts.root, opts.id, opts.log);
  } catch (e) {
    held.drop();
    if (master !== undefined) close(master);
    if (host?.opened) close(host.fd);
    await deleteContainer(opts.root, opts.id, true, opts.log).catch(() => {});
    throw e;
  }
  // runForeground installs its forwarding before its first await.
  const running = runForeground({ pid, reapAny: true, ...(master !== undefined ? { master } : {}), ...(host ? { host } : {}) });
  held.replay(pid);
  const code = await running;
  if (!opts.keep) await deleteContainer(opts.root, opts.id, true, opts.log);
  return code;
}
