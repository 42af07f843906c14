/**
 * sysbox-mgr's saved state, `<data-root>/mgr-state.json`, rewritten
 * atomically before every reply that changes it, so a `kill -9` at any point
 * loses nothing that was handed out:
 *
 *   {
 *     "version": 1,
 *     "idRanges": [{"start": 131072, "size": 268435456}],   sysbox's subuid/subgid ranges (informational)
 *     "containers": [{
 *       "id": "3f2a...",
 *       "uid": 131072, "gid": 131072, "size": 65536,       the container's ID range
 *       "source": "pool",                                   "pool": from sysbox's ranges; "spec": the spec's own mapping
 *       "registeredAt": "2026-11-28T12:00:00.000Z",         last register (start of the grace period)
 *       "rootfs": "/var/lib/docker/overlay2/ab.../merged",  optional
 *       "init": {"pid": 4242, "startTime": "123456"},       optional: set by update, cleared by register/unregister
 *       "stopped": true,                                    optional: unregistered, kept while the rootfs exists
 *       "dirs": {"uid": 0, "gid": 0, "kinds": ["docker", ...]}   optional: host dirs made by prepareMounts
 *     }]
 *   }
 */
import { existsSync, readFileSync } from "node:fs";
import * as v from "valibot";
import { MGR_MOUNT_KINDS, issuesText } from "../ipc/mod.ts";
import { writeFileAtomic } from "../statefile/mod.ts";

export const STATE_FILE = "mgr-state.json";
export const STATE_VERSION = 1;

const uint = () => v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));

const ContainerRecordSchema = v.object({
  id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/)),
  uid: uint(),
  gid: uint(),
  size: v.pipe(uint(), v.minValue(1)),
  source: v.picklist(["pool", "spec"]),
  registeredAt: v.pipe(v.string(), v.isoTimestamp()),
  rootfs: v.optional(v.string()),
  init: v.optional(v.object({ pid: v.pipe(uint(), v.minValue(1)), startTime: v.pipe(v.string(), v.regex(/^\d+$/)) })),
  stopped: v.optional(v.boolean()),
  dirs: v.optional(v.object({ uid: uint(), gid: uint(), kinds: v.array(v.picklist(MGR_MOUNT_KINDS)) })),
});

const StateSchema = v.object({
  version: v.literal(STATE_VERSION),
  idRanges: v.array(v.object({ start: uint(), size: uint() })),
  containers: v.array(ContainerRecordSchema),
});

export type ContainerRecord = v.InferOutput<typeof ContainerRecordSchema>;
export type MgrState = v.InferOutput<typeof StateSchema>;

/** The state file cannot be used; starting anyway could hand a running container's range to another. */
export class StateFileError extends Error {
  override name = "StateFileError";
}

/** Reads the state file; undefined when there is none (a first start). */
export function loadState(path: string): MgrState | undefined {
  if (!existsSync(path)) return undefined;
  const advice = `; if no system container is running, move it away and start again`;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new StateFileError(`cannot read state file ${path}: ${(e as Error).message}${advice}`);
  }
  const parsed = v.safeParse(StateSchema, raw);
  if (!parsed.success) throw new StateFileError(`invalid state file ${path}: ${issuesText(parsed.issues)}${advice}`);
  const seen = new Set<string>();
  for (const c of parsed.output.containers) {
    if (seen.has(c.id)) throw new StateFileError(`invalid state file ${path}: container ${c.id} appears twice${advice}`);
    seen.add(c.id);
  }
  return parsed.output;
}

export function saveState(path: string, state: MgrState): void {
  writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`, 0o600);
}
