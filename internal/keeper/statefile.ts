/**
 * The state file of a daemon that starts keepers: one JSON document, checked
 * against the daemon's valibot schema on load and rewritten whole and
 * crash-safe on every change. sysbox-fs keeps two, each in its own format
 * (running containers' records must survive an upgrade unchanged):
 * `fs-state.json` (sysboxfs/state.ts) and `seccomp-state.json`
 * (sysboxfs/seccomp/kept.ts). Both record keepers as KeeperRecordSchema.
 */
import { existsSync, readFileSync } from "node:fs";
import * as v from "valibot";
import { writeFileAtomic } from "../statefile/mod.ts";
import { issuesText } from "../ipc/mod.ts";

/** A keeper in a state file: `{pid, startTime}`, the start time in ticks as text (field 22 of /proc/PID/stat). */
export const KeeperRecordSchema = v.object({
  pid: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER)),
  startTime: v.pipe(v.string(), v.regex(/^\d+$/)),
});

/** A state file that is there but unusable; `reason` says why without the path. */
export class StateFileError extends Error {
  readonly reason: string;
  constructor(path: string, reason: string) {
    super(`state file ${path} ${reason}`);
    this.name = "StateFileError";
    this.reason = reason;
  }
}

/** The file's content, or undefined when there is no file; throws StateFileError when it is not JSON or not `schema`. */
export function readStateFile<S extends v.GenericSchema>(path: string, schema: S): v.InferOutput<S> | undefined {
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new StateFileError(path, `is not JSON: ${(e as Error).message}`);
  }
  const r = v.safeParse(schema, raw);
  if (!r.success) throw new StateFileError(path, `is invalid: ${issuesText(r.issues)}`);
  return r.output;
}

/** Written crash-safe (mode 0600): readers see the old state or the new, never a mix. */
export function writeStateFile(path: string, value: unknown, opts: { pretty?: boolean } = {}): void {
  writeFileAtomic(path, opts.pretty ? `${JSON.stringify(value, null, 2)}\n` : JSON.stringify(value));
}
