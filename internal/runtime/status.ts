/** A container's status from its saved state and its cgroup's freezer (internal/cgroups). */
import { state as cgroupState } from "../cgroups/mod.ts";
import { deriveStatus, type ContainerState, type Status } from "./state.ts";
import { reopenCgroup } from "./cgroup.ts";

/** Frozen, or on its way there (FREEZING counts as paused, as runc reports it). */
function frozen(st: ContainerState): boolean {
  if (!st.cgroupPath) return false;
  try {
    const f = cgroupState(reopenCgroup(st.cgroupPath)).freezer;
    return f === "frozen" || f === "freezing";
  } catch {
    // No freezer, or the cgroup is gone: never paused.
    return false;
  }
}

export function statusOf(root: string, st: ContainerState): Status {
  return deriveStatus(root, st, () => frozen(st));
}
