/**
 * Freezing: v1 freezer.state (FROZEN/FREEZING/THAWED) and cgroup2
 * cgroup.freeze, whose effect is reported asynchronously as `frozen 1` in
 * cgroup.events. Both waits are bounded; a failed freeze is thawed back so a
 * container is never left half frozen.
 */
import * as posix from "node:path/posix";
import { ioOf, readOptional, type CgroupIo, type IoOptions } from "./_io.ts";
import { cgroupDirs, type Cgroup } from "./cgroup.ts";
import { parseKeyed } from "./parse.ts";
import { UNIFIED } from "./path.ts";

export type FreezerState = "thawed" | "freezing" | "frozen" | "unknown";

export interface CgroupState {
  exists: boolean;
  freezer: FreezerState;
}

/** Polling for cgroup.events: 10 ms steps, 10 s in all (runc's numbers). */
const V2_WAIT_MS = 10;
const V2_WAIT_STEPS = 1000;

function freezerDir(cg: Cgroup): { dir: string; v2: boolean } | undefined {
  if (cg.layout.mode === "v2") return { dir: cg.paths[UNIFIED]!, v2: true };
  const dir = cg.paths["freezer"];
  return dir === undefined ? undefined : { dir, v2: false };
}

function need(cg: Cgroup): { dir: string; v2: boolean } {
  const f = freezerDir(cg);
  if (f === undefined) throw new Error(`Cannot freeze ${cg.path}: the freezer cgroup controller is not mounted`);
  return f;
}

function readV1(io: CgroupIo, dir: string): FreezerState {
  const s = readOptional(io, posix.join(dir, "freezer.state"))?.trim();
  if (s === "FROZEN") return "frozen";
  if (s === "FREEZING") return "freezing";
  if (s === "THAWED") return "thawed";
  return "unknown";
}

function readV2(io: CgroupIo, dir: string): FreezerState {
  const want = readOptional(io, posix.join(dir, "cgroup.freeze"))?.trim();
  if (want === undefined) return "unknown";
  const frozen = parseKeyed(readOptional(io, posix.join(dir, "cgroup.events")))["frozen"] === 1;
  // As runc: a thaw request is thawed at once; a freeze request is frozen only once the kernel says so.
  if (want === "0") return "thawed";
  return frozen ? "frozen" : "freezing";
}

/**
 * v1: write FROZEN until the state reads FROZEN. A v1 cgroup whose processes
 * keep forking can stay FREEZING; like runc, thaw and retry now and then.
 */
async function freezeV1(io: CgroupIo, dir: string): Promise<void> {
  const file = posix.join(dir, "freezer.state");
  for (let i = 0; i < 1000; i++) {
    if (i % 50 === 49) {
      io.writeFile(file, "THAWED");
      await io.sleep(10);
    }
    io.writeFile(file, "FROZEN");
    if (i % 25 === 24) await io.sleep(1);
    const s = readV1(io, dir);
    if (s === "frozen") return;
    if (s !== "freezing") throw new Error(`Unexpected freezer state ${JSON.stringify(s)} while freezing ${dir}`);
  }
  throw new Error(`Unable to freeze ${dir}: stuck in FREEZING`);
}

async function waitV2(io: CgroupIo, dir: string, frozen: boolean): Promise<void> {
  const events = posix.join(dir, "cgroup.events");
  for (let i = 0; i < V2_WAIT_STEPS; i++) {
    if ((parseKeyed(io.readFile(events))["frozen"] === 1) === frozen) return;
    await io.sleep(V2_WAIT_MS);
  }
  throw new Error(`Timed out after ${V2_WAIT_MS * V2_WAIT_STEPS} ms waiting for ${dir} to ${frozen ? "freeze" : "thaw"}`);
}

/** Freezes every process in the cgroup and waits until the kernel reports it frozen. */
export async function freeze(cg: Cgroup, opts: IoOptions = {}): Promise<void> {
  const io = ioOf(opts);
  const { dir, v2 } = need(cg);
  try {
    if (v2) {
      if (!io.exists(posix.join(dir, "cgroup.freeze"))) {
        throw new Error(`Cannot freeze ${dir}: cgroup.freeze is missing (kernel older than 5.2?)`);
      }
      io.writeFile(posix.join(dir, "cgroup.freeze"), "1");
      await waitV2(io, dir, true);
    } else {
      await freezeV1(io, dir);
    }
  } catch (e) {
    // Never leave a container FROZEN or FREEZING after a failed freeze.
    try {
      io.writeFile(posix.join(dir, v2 ? "cgroup.freeze" : "freezer.state"), v2 ? "0" : "THAWED");
    } catch {
      // The freeze error is the one to report.
    }
    throw e;
  }
}

/** Thaws the cgroup; on v2 waits until cgroup.events reports `frozen 0`. A missing freezer is a no-op. */
export async function thaw(cg: Cgroup, opts: IoOptions = {}): Promise<void> {
  const io = ioOf(opts);
  const f = freezerDir(cg);
  if (f === undefined) return;
  if (f.v2) {
    if (!io.exists(posix.join(f.dir, "cgroup.freeze"))) return;
    io.writeFile(posix.join(f.dir, "cgroup.freeze"), "0");
    await waitV2(io, f.dir, false);
  } else {
    io.writeFile(posix.join(f.dir, "freezer.state"), "THAWED");
  }
}

/** Whether the cgroup exists, and its freezer state ("unknown" without a freezer). */
export function state(cg: Cgroup, opts: IoOptions = {}): CgroupState {
  const io = ioOf(opts);
  const first = cgroupDirs(cg)[0];
  const exists = first !== undefined && io.exists(first);
  const f = freezerDir(cg);
  if (!exists || f === undefined) return { exists, freezer: "unknown" };
  return { exists, freezer: f.v2 ? readV2(io, f.dir) : readV1(io, f.dir) };
}
