/**
 * `exec --cgroup [<controllers>:]<path>`: run the process in an existing
 * sub-cgroup of the one exec'd processes join by default, as runc's flag
 * does. Without controllers the path applies to every hierarchy; with them
 * (v1, comma-separated) only to those, and a later entry overrides.
 */
import { posix } from "node:path";
import type { Cgroup } from "../cgroups/mod.ts";

/** The cgroup `base` with each `--cgroup` entry applied; the directories are not checked (joining a missing one fails). */
export function execSubCgroup(base: Cgroup, entries: readonly string[]): Cgroup {
  if (entries.length === 0) return base;
  const paths = { ...base.paths };
  for (const entry of entries) {
    const colon = entry.indexOf(":");
    const controllers = colon === -1 ? [] : entry.slice(0, colon).split(",").filter(Boolean);
    const sub = colon === -1 ? entry : entry.slice(colon + 1);
    if (sub === "") throw new Error(`exec --cgroup ${JSON.stringify(entry)}: no cgroup path`);
    const rel = posix.normalize(`/${sub}`);
    if (controllers.length > 0 && base.layout.mode === "v2") {
      throw new Error(`exec --cgroup ${JSON.stringify(entry)}: controllers can only be named on cgroup v1`);
    }
    for (const c of controllers.length ? controllers : Object.keys(base.paths)) {
      if (base.paths[c] === undefined) throw new Error(`exec --cgroup ${JSON.stringify(entry)}: no ${c} controller`);
      paths[c] = rel === "/" ? base.paths[c]! : posix.join(base.paths[c]!, rel);
    }
  }
  return { ...base, paths };
}
