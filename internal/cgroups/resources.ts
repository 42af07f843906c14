/**
 * `applyResources`: writes OCI `linux.resources` into a cgroup through the v1
 * or v2 writer. Anything skipped (kernel memory, realtime, the cgroup2 eBPF
 * device filter, ...) comes back as a warning instead of failing the container.
 */
import type { IoOptions } from "./_io.ts";
import type { Cgroup } from "./cgroup.ts";
import { applyV1 } from "./resources_v1.ts";
import { applyV2 } from "./resources_v2.ts";
import type { ApplyResult, LinuxResources } from "./spec.ts";

/** Writes `resources` into the cgroup's knobs; throws on values the kernel or the spec rejects. */
export function applyResources(cg: Cgroup, resources: LinuxResources, opts: IoOptions = {}): ApplyResult {
  const warnings: string[] = [];
  if (cg.layout.mode === "v2") applyV2(cg, resources, warnings, opts);
  else applyV1(cg, resources, warnings, opts);
  return { warnings };
}
