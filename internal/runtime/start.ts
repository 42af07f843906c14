/**
 * `start`: opens the exec fifo for reading, which releases the init stage
 * blocked opening it for writing, and waits for its byte. The fifo is gone
 * afterwards, which is how `state` tells created from running.
 */
import { join } from "node:path";
import { O_FLAGS } from "../sys/fs.ts";
import { isSysError } from "../sys/errno.ts";
import { linuxSys, type Sys } from "../sys/linux.ts";
import { containerDir, EXEC_FIFO, initAlive, loadState, saveState, type ContainerState } from "./state.ts";
import { withContainerLock } from "./lock.ts";
import { runHooks } from "./hooks.ts";
import { loadSpec } from "./spec.ts";
import type { Logger } from "../log/mod.ts";
import { statusOf } from "./status.ts";

/** What start acts through; tests pass a recording fake and their own hook runner. */
export interface StartDeps {
  sys: Sys;
  runHooks: typeof runHooks;
  initAlive: (st: ContainerState) => boolean;
}

export const linuxStartDeps: StartDeps = { sys: linuxSys, runHooks, initAlive };

export async function startContainer(root: string, id: string, log: Logger, deps: StartDeps = linuxStartDeps): Promise<void> {
  await withContainerLock(root, id, () => startLocked(root, id, log, deps));
}

async function startLocked(root: string, id: string, log: Logger, deps: StartDeps): Promise<void> {
  const { sys } = deps;
  const st = loadState(root, id);
  const status = statusOf(root, st);
  if (status === "paused") throw new Error("cannot start a container in the paused state");
  if (status !== "created") throw new Error(`cannot start a container that has ${status === "stopped" ? "stopped" : `already been started (status ${status})`}`);
  const fifoPath = join(containerDir(root, id), EXEC_FIFO);
  // Non-blocking: if init died we must not wait forever on a fifo nobody will write.
  const fd = sys.open(fifoPath, O_FLAGS.RDONLY | O_FLAGS.NONBLOCK | O_FLAGS.CLOEXEC);
  try {
    const buf = new Uint8Array(1);
    for (;;) {
      let n = -1;
      try {
        n = sys.read(fd, buf);
      } catch (e) {
        if (!isSysError(e, "EAGAIN")) throw e;
      }
      if (n === 1) break;
      if (!deps.initAlive(st)) throw new Error("container init exited before start");
      await Bun.sleep(1);
    }
  } finally {
    sys.close(fd);
  }
  sys.rm(fifoPath);
  st.started = true;
  saveState(root, st);
  const spec = loadSpec(st.configPath);
  try {
    deps.runHooks("poststart", spec.hooks?.poststart, { ociVersion: spec.ociVersion, id, pid: st.pid, status: "running", bundle: st.bundle, annotations: st.annotations });
  } catch (e) {
    log.warn(String(e instanceof Error ? e.message : e));
  }
}

export type { ContainerState };
