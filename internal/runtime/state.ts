/**
 * A container's on-disk state under `--root`: `<root>/<id>/state.json` and the
 * exec fifo. The status is derived, never stored: a dead (or recycled) init
 * pid means stopped, a remaining fifo means created, a frozen cgroup paused.
 */
import { processStartTime as startTimeOf } from "../sys/procstat.ts";
import { mkdirSync, readFileSync, rmSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { OCI_SPEC_VERSION } from "../version/mod.ts";
import { writeFileAtomic } from "../statefile/mod.ts";
import type { ContainerSettings } from "../syscont/mod.ts";

export const DEFAULT_ROOT = "/run/sysbox-runc";
export const EXEC_FIFO = "exec.fifo";

export type Status = "creating" | "created" | "running" | "paused" | "stopped";

export interface ContainerState {
  id: string;
  /** Host pid of the container's init, and its start time (field 22 of /proc/PID/stat) against pid reuse. */
  pid: number;
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations: Record<string, string>;
  /** The cgroupfs path (e.g. /docker/ID) and its directory per hierarchy ("unified" for cgroup2). */
  cgroupPath: string;
  cgroupPaths: Record<string, string>;
  /** The cgroup init and exec'd processes join (a delegated child for system containers). */
  procsCgroupPath?: string;
  /** The namespaces of init, for exec to join: proc name -> "/proc/PID/ns/X" equivalents are derived from pid. */
  namespaces: string[];
  /** Whether the container has its own user namespace (exec must become root in it). */
  userns: boolean;
  /** Stored config path for exec defaults and hooks. */
  configPath: string;
  /** Inner engines' host-backed stores and Docker's upper dir, for syncing inner images out. */
  stores?: Array<{ source: string; destination: string }>;
  upperDir?: string;
  /** Registered with sysbox-fs (unregister at delete). */
  fs?: boolean;
  /** Its SYSBOX_* settings (exec's capabilities and traps follow them); absent in older state files. */
  settings?: ContainerSettings;
  /** Registered with sysbox-mgr (unregister at delete). */
  mgr?: boolean;
  /** Set once `start` has run the user process. */
  started?: boolean;
}

const strMap = v.record(v.string(), v.string());
const binds = v.array(v.object({ source: v.string(), destination: v.string() }));

/** state.json as saveState writes it; loadState checks it against this. */
export const ContainerStateSchema = v.object({
  id: v.string(),
  pid: v.pipe(v.number(), v.integer()),
  pidStartTime: v.string(),
  bundle: v.string(),
  rootfs: v.string(),
  created: v.string(),
  owner: v.string(),
  annotations: strMap,
  cgroupPath: v.string(),
  cgroupPaths: strMap,
  procsCgroupPath: v.optional(v.string()),
  namespaces: v.array(v.string()),
  userns: v.boolean(),
  configPath: v.string(),
  stores: v.optional(binds),
  upperDir: v.optional(v.string()),
  fs: v.optional(v.boolean()),
  settings: v.optional(v.object({
    honorCaps: v.boolean(), syscontMode: v.boolean(), ignoreSysfsChown: v.boolean(), allowTrustedXattr: v.boolean(), skipUidShift: v.array(v.string()),
  })),
  mgr: v.optional(v.boolean()),
  started: v.optional(v.boolean()),
});

/** A state.json that is not what saveState writes. */
export class StateFileError extends Error {
  override name = "StateFileError";
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

export function validateId(id: string): void {
  if (!ID_RE.test(id) || id.length > 1024) throw new Error(`invalid container id "${id}": use letters, digits, and _ . + -`);
}

export function containerDir(root: string, id: string): string {
  validateId(id);
  return join(root, id);
}

export class NotFoundError extends Error {
  override name = "NotFoundError";
  constructor(id: string) {
    // containerd maps this wording to "not found".
    super(`container "${id}" does not exist`);
  }
}

export function loadState(root: string, id: string): ContainerState {
  const file = join(containerDir(root, id), "state.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(id);
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new StateFileError(`${file}: not JSON: ${(e as Error).message}`);
  }
  const r = v.safeParse(ContainerStateSchema, raw);
  if (!r.success) {
    const issue = r.issues[0];
    const where = issue.path?.map((p) => String(p.key)).join(".") ?? "";
    throw new StateFileError(`${file}: ${where ? `${where}: ` : ""}${issue.message}`);
  }
  // The schema strips unknown keys; keep them, as a newer version may have written some.
  return { ...(raw as object), ...r.output } as ContainerState;
}

/** Replaced whole (temp file, fsync, rename), so a concurrent reader never sees half a file. */
export function saveState(root: string, st: ContainerState): void {
  writeFileAtomic(join(containerDir(root, st.id), "state.json"), JSON.stringify(st), 0o600);
}

/** The ids under `root`, sorted (runc lists them in directory-name order). */
export function listIds(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(root, d.name, "state.json"))).map((d) => d.name).sort();
}

export function removeState(root: string, id: string): void {
  rmSync(containerDir(root, id), { recursive: true, force: true });
}

/** Creates the state dir exclusively: a second create of the same id fails. */
export function makeContainerDir(root: string, id: string): string {
  mkdirSync(root, { recursive: true, mode: 0o711 });
  const dir = containerDir(root, id);
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new Error(`container with id "${id}" already exists`);
    throw e;
  }
  return dir;
}

/** Field 22 of /proc/PID/stat, or null when the process is gone or a zombie. */
export function processStartTime(pid: number): string | null {
  const t = startTimeOf(pid);
  return t && !t.zombie ? t.ticks : null;
}

export function initAlive(st: ContainerState): boolean {
  return st.pid > 0 && processStartTime(st.pid) === st.pidStartTime;
}

/** Derives the status; `frozen` tells whether the container's cgroup is frozen. */
export function deriveStatus(root: string, st: ContainerState, frozen: () => boolean): Status {
  if (!initAlive(st)) return "stopped";
  // Frozen first, as runc: a created container whose cgroup was frozen is paused, and start must refuse it, not wait on it.
  if (frozen()) return "paused";
  return existsSync(join(containerDir(root, st.id), EXEC_FIFO)) ? "created" : "running";
}

/** runc's `state` JSON. */
export function stateJson(st: ContainerState, status: Status): object {
  return {
    ociVersion: OCI_SPEC_VERSION,
    id: st.id,
    pid: status === "stopped" ? 0 : st.pid,
    status,
    bundle: st.bundle,
    rootfs: st.rootfs,
    created: st.created,
    owner: st.owner,
    ...(Object.keys(st.annotations).length ? { annotations: st.annotations } : {}),
  };
}
