/**
 * Parsers for /proc/PID/cgroup (cgroups(7)); mountinfo lives in internal/mountinfo.
 * Pure functions over text so recorded files from other hosts can be tested.
 */

export { parseMountinfo, unescapeMountPath, type MountInfoEntry } from "../mountinfo/mod.ts";

export interface ProcCgroupEntry {
  hierarchyId: number;
  /** Controllers bound to the hierarchy (`cpu`, `cpuacct`, `name=systemd`); empty for cgroup2. */
  controllers: string[];
  path: string;
}

/** `hierarchy-ID:controller-list:cgroup-path`, one line per hierarchy (cgroups(7)). */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const a = line.indexOf(":");
    const b = a < 0 ? -1 : line.indexOf(":", a + 1);
    if (b < 0) throw new SyntaxError(`Cannot parse /proc/PID/cgroup line: ${JSON.stringify(line)}`);
    const list = line.slice(a + 1, b);
    out.push({
      hierarchyId: Number(line.slice(0, a)),
      controllers: list === "" ? [] : list.split(","),
      path: line.slice(b + 1),
    });
  }
  return out;
}

/**
 * Controller → cgroup path, as runc's ParseCgroupFile: each controller of a
 * v1 hierarchy gets its own key, and the cgroup2 entry (`0::/x`) is keyed "".
 */
export function procCgroupPaths(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of parseProcCgroup(text)) {
    if (e.controllers.length === 0) out[""] = e.path;
    for (const c of e.controllers) out[c] = e.path;
  }
  return out;
}
