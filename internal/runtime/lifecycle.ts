/**
 * `kill`, `delete`, `state` and `list`: commands that act on saved state.
 * kill and delete hold the container lock (state.ts withContainerLock).
 * sysbox-fs's client is imported lazily, only for containers registered there.
 */
import { existsSync } from "node:fs";
import { listIds, loadState, removeState, stateJson, initAlive, type ContainerState } from "./state.ts";
import { withContainerLock } from "./lock.ts";
import { statusOf } from "./status.ts";
import { killProcess } from "./signals.ts";
import { reopenCgroup } from "./cgroup.ts";
import { destroyCgroup, killAll, listPids, thaw, type Cgroup } from "../cgroups/mod.ts";
import { runHooks } from "./hooks.ts";
import { SIG } from "../sys/proc.ts";
import { loadSpec } from "./spec.ts";
import type { Logger } from "../log/mod.ts";
import { removeStaged, releaseSystemContainer, syncInnerImagesOut } from "./syscont.ts";

export function containerState(root: string, id: string): object {
  const st = loadState(root, id);
  return stateJson(st, statusOf(root, st));
}

function cgroupOf(st: ContainerState) {
  return st.cgroupPath ? reopenCgroup(st.cgroupPath) : undefined;
}

/** The container is not running, and the command needs it to be. */
export class NotRunningError extends Error {
  override name = "NotRunningError";
  constructor() {
    super("container not running");
  }
}

/** What kill and delete act through; the real ones by default, fakes in lifecycle.test.ts. */
export interface LifecycleDeps {
  /** Signals one process; false when it is already gone. */
  kill: (pid: number, signal: number) => boolean;
  /** Signals every process of the cgroup with the cgroup frozen (no fork escapes). */
  killAll: (cg: Cgroup, signal: number) => Promise<unknown>;
  cgroupOf: (st: ContainerState) => Cgroup | undefined;
  destroyCgroup: (cg: Cgroup) => Promise<unknown>;
  /** Thaws a paused container's cgroup, so a SIGKILL sent to its frozen processes is delivered. */
  thaw: (cg: Cgroup) => Promise<unknown>;
  runHooks: typeof runHooks;
  removeStaged: (id: string) => void;
}

export const linuxLifecycleDeps: LifecycleDeps = {
  kill: killProcess, killAll: (cg, sig) => killAll(cg, sig), cgroupOf, destroyCgroup: (cg) => destroyCgroup(cg), thaw: (cg) => thaw(cg), runHooks, removeStaged,
};

export async function killContainer(root: string, id: string, signal: number, all: boolean, deps: LifecycleDeps = linuxLifecycleDeps): Promise<void> {
  await withContainerLock(root, id, async () => {
    const st = loadState(root, id);
    const status = statusOf(root, st);
    if (status === "stopped" && !all) throw new NotRunningError();
    if (all) {
      const cg = deps.cgroupOf(st);
      if (cg) await deps.killAll(cg, signal);
      return;
    }
    if (!deps.kill(st.pid, signal)) throw new NotRunningError();
    // A frozen process keeps a SIGKILL pending until thawed (cgroup v1): thaw it so it dies, as runc does.
    if (status === "paused" && signal === SIG.SIGKILL) await thawOf(st, deps);
  });
}

async function thawOf(st: ContainerState, deps: LifecycleDeps): Promise<void> {
  const cg = deps.cgroupOf(st);
  if (cg) await deps.thaw(cg);
}

async function waitGone(st: ContainerState, ms: number): Promise<void> {
  for (let t = 0; t < ms && initAlive(st); t += 5) await Bun.sleep(5);
}

export async function deleteContainer(root: string, id: string, force: boolean, log: Logger, deps: LifecycleDeps = linuxLifecycleDeps): Promise<void> {
  await withContainerLock(root, id, () => deleteLocked(root, id, force, log, deps));
}

async function deleteLocked(root: string, id: string, force: boolean, log: Logger, deps: LifecycleDeps): Promise<void> {
  let st: ContainerState;
  try {
    st = loadState(root, id);
  } catch (e) {
    if (force) return;
    throw e;
  }
  const status = statusOf(root, st);
  if (status !== "stopped" && status !== "created" && !force) {
    throw new Error(`cannot delete container ${id} that is not stopped: ${status}`);
  }
  if (status !== "stopped") {
    const cg = deps.cgroupOf(st);
    if (cg) await deps.killAll(cg, SIG.SIGKILL);
    deps.kill(st.pid, SIG.SIGKILL);
    if (status === "paused") await thawOf(st, deps);
    await waitGone(st, 5000);
  }
  const cg = deps.cgroupOf(st);
  if (cg) {
    try { await deps.destroyCgroup(cg); } catch (e) { log.warn(`removing cgroup: ${String(e)}`); }
  }
  if (existsSync(st.configPath)) {
    try {
      const spec = loadSpec(st.configPath);
      deps.runHooks("poststop", spec.hooks?.poststop, { ociVersion: spec.ociVersion, id, pid: 0, status: "stopped", bundle: st.bundle, annotations: st.annotations });
    } catch (e) {
      log.warn(String(e instanceof Error ? e.message : e));
    }
  }
  deps.removeStaged(id);
  try {
    await syncInnerImagesOut(id, st.stores ?? [], st.upperDir, log, { stopping: true });
  } catch (e) {
    log.warn(e instanceof Error ? e.message : String(e));
  }
  if (st.fs) {
    const { unregisterFromFs } = await import("../ipc/mod.ts");
    await unregisterFromFs(id).catch((e: unknown) => log.warn(e instanceof Error ? e.message : String(e)));
  }
  if (st.mgr) await releaseSystemContainer(id, log);
  removeState(root, id);
}

export function listContainers(root: string): Array<ReturnType<typeof stateJson> & Record<string, unknown>> {
  return listIds(root).flatMap((id) => {
    try { return [containerState(root, id) as ReturnType<typeof stateJson> & Record<string, unknown>]; } catch { return []; }
  });
}

export function containerPids(root: string, id: string): number[] {
  const st = loadState(root, id);
  const cg = cgroupOf(st);
  return cg ? listPids(cg) : initAlive(st) ? [st.pid] : [];
}
