/**
 * OOM kills of a cgroup, for `events`: the kernel counts them in `oom_kill`
 * of memory.events (cgroup v2, hierarchical: a kill in a sub-cgroup counts
 * in every ancestor) or of memory.oom_control (v1, kernel >= 4.13, counted
 * only in the cgroup whose limit was hit, so the sub-cgroups a system
 * container makes are summed too). runc waits on an eventfd (v1) or inotify
 * (v2); sysbox-runc reads the counter, which gives the same events without a
 * thread blocked in read(2).
 */
import * as posix from "node:path/posix";
import type { Cgroup } from "./cgroup.ts";
import { UNIFIED } from "./path.ts";
import { ioOf, readOptional, type CgroupIo, type IoOptions } from "./_io.ts";

/** The `oom_kill N` line of a "key value" per line file; undefined when it has none. */
export function parseOomKill(text: string): number | undefined {
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

function sumV1(io: CgroupIo, dir: string): number | undefined {
  const text = readOptional(io, posix.join(dir, "memory.oom_control"));
  if (text === undefined) return undefined;
  let n = parseOomKill(text);
  if (n === undefined) return undefined;
  let entries: ReturnType<CgroupIo["readdir"]> = [];
  try {
    entries = io.readdir(dir);
  } catch {
    // Removed while we read: what was counted stands.
  }
  for (const e of entries) if (e.isDir) n += sumV1(io, posix.join(dir, e.name)) ?? 0;
  return n;
}

/**
 * How many processes the kernel has OOM-killed in `cg`; undefined when the
 * cgroup has no memory controller or the kernel does not count kills.
 */
export function oomKillCount(cg: Cgroup, opts: IoOptions = {}): number | undefined {
  const io = ioOf(opts);
  if (cg.layout.mode === "v2") {
    const dir = cg.paths[UNIFIED];
    const text = dir === undefined ? undefined : readOptional(io, posix.join(dir, "memory.events"));
    return text === undefined ? undefined : parseOomKill(text);
  }
  const dir = cg.paths["memory"];
  return dir === undefined ? undefined : sumV1(io, dir);
}

/** runc's OOM event: `{"type":"oom","id":ID}`, one per kill seen. */
export interface OomEvent {
  type: "oom";
  id: string;
}

/** The events for a counter that went from `before` to `now` (a reset or a missing counter gives none). */
export function oomEvents(id: string, before: number | undefined, now: number | undefined): OomEvent[] {
  if (before === undefined || now === undefined || now <= before) return [];
  return Array.from({ length: now - before }, () => ({ type: "oom" as const, id }));
}
