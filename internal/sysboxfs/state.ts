/**
 * sysbox-fs's saved state, `<run-dir>/fs-state.json` (under /run: a reboot
 * ends every container, and so every record), rewritten atomically whenever
 * a container or one of its values changes:
 *
 *   {
 *     "version": 1,
 *     "containers": [{
 *       "id": "3f2a...",
 *       "initPid": 4242, "initStartTime": "123456",   the init and its start (ticks), against pid reuse
 *       "startBoot": 8123.45,                          container start, seconds since host boot
 *       "uidFirst": 165536, "uidSize": 65536, "gidFirst": 165536, "gidSize": 65536,
 *       "mountpoint": "/var/lib/sysboxfs/3f2a...",
 *       "sysctls": {"kernel/panic": "7"},              per-container values (seeded ones too)
 *       "keeper": {"pid": 4300, "startTime": "123500"},  optional: the process holding the FUSE fd
 *       "fuse": {"minor": 31, "flags": "0x...", "kernelFlags": "0x...", "maxWrite": 16384, "maxReadahead": 131072}
 *     }]                                               optional: what INIT settled, to resume the connection
 *   }
 */
import * as v from "valibot";
import type { Negotiated } from "../fuse/mod.ts";
import { KeeperRecordSchema, readStateFile, writeStateFile } from "../keeper/mod.ts";

export const STATE_FILE = "fs-state.json";
export const STATE_VERSION = 1;

const uint = () => v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
const ticks = () => v.pipe(v.string(), v.regex(/^\d+$/));
const hex = () => v.pipe(v.string(), v.regex(/^0x[0-9a-f]+$/));

const RecordSchema = v.object({
  id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/)),
  initPid: v.pipe(uint(), v.minValue(1)),
  initStartTime: ticks(),
  startBoot: v.pipe(v.number(), v.minValue(0)),
  uidFirst: uint(),
  uidSize: uint(),
  gidFirst: uint(),
  gidSize: uint(),
  mountpoint: v.pipe(v.string(), v.startsWith("/")),
  sysctls: v.record(v.string(), v.string()),
  keeper: v.optional(KeeperRecordSchema),
  fuse: v.optional(
    v.object({ minor: uint(), flags: hex(), kernelFlags: hex(), maxWrite: uint(), maxReadahead: uint() }),
  ),
});

const StateSchema = v.object({ version: v.literal(STATE_VERSION), containers: v.array(RecordSchema) });

export type ContainerRecord = v.InferOutput<typeof RecordSchema>;
export type FsState = v.InferOutput<typeof StateSchema>;

/** The saved state, or an empty one when there is no file yet; throws StateFileError when the file is unusable. */
export function loadState(path: string): FsState {
  return readStateFile(path, StateSchema) ?? { version: STATE_VERSION, containers: [] };
}

/** Written crash-safe: readers see the old state or the new, never a mix. */
export function saveState(path: string, state: FsState): void {
  writeStateFile(path, state, { pretty: true });
}

export function negotiatedToRecord(n: Negotiated): NonNullable<ContainerRecord["fuse"]> {
  return { minor: n.minor, flags: `0x${n.flags.toString(16)}`, kernelFlags: `0x${n.kernelFlags.toString(16)}`, maxWrite: n.maxWrite, maxReadahead: n.maxReadahead };
}

export function negotiatedFromRecord(r: NonNullable<ContainerRecord["fuse"]>): Negotiated {
  return { major: 7, minor: r.minor, flags: BigInt(r.flags), kernelFlags: BigInt(r.kernelFlags), maxWrite: r.maxWrite, maxReadahead: r.maxReadahead };
}
