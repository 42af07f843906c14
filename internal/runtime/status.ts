/** A container's status from its saved state and its cgroup's freezer. */
import { readFileSync } from "node:fs";
import { deriveStatus, type ContainerState, type Status } from "./state.ts";

function frozen(st: ContainerState): boolean {
  try {
    if (st.cgroupPaths.freezer) return readFileSync(`${st.cgroupPaths.freezer}/freezer.state`, "utf8").trim() !== "THAWED";
    if (st.cgroupPaths.unified) return readFileSync(`${st.cgroupPaths.unified}/cgroup.freeze`, "utf8").trim() === "1";
  } catch {
    // No freezer: never paused.
  }
  return false;
}

export function statusOf(root: string, st: ContainerState): Status {
  return deriveStatus(root, st, () => frozen(st));
}
