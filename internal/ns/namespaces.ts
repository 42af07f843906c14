/** OCI namespace types, their /proc names and clone flags; join order is policy kept here as data. */
import { CLONE } from "../sys/flags.ts";

export const NAMESPACES = [
  { oci: "user", proc: "user", flag: CLONE.NEWUSER },
  { oci: "pid", proc: "pid", flag: CLONE.NEWPID },
  { oci: "uts", proc: "uts", flag: CLONE.NEWUTS },
  { oci: "ipc", proc: "ipc", flag: CLONE.NEWIPC },
  { oci: "network", proc: "net", flag: CLONE.NEWNET },
  { oci: "cgroup", proc: "cgroup", flag: CLONE.NEWCGROUP },
  { oci: "mount", proc: "mnt", flag: CLONE.NEWNS },
] as const;

export type NamespaceType = (typeof NAMESPACES)[number]["oci"] | "time";

export interface NamespacePlan {
  /** CLONE_NEW* flags of namespaces to create. */
  flags: number;
  /** Namespaces to join, user first and mount last (a joined mount ns hides host paths). */
  join: Array<{ path: string; flag: number; type: string }>;
  /** proc names of every namespace the container has of its own or joined (for exec). */
  owned: string[];
}

export function planNamespaces(spec: ReadonlyArray<{ type: string; path?: string }>): NamespacePlan {
  const plan: NamespacePlan = { flags: 0, join: [], owned: [] };
  for (const ns of NAMESPACES) {
    const entry = spec.find((n) => n.type === ns.oci);
    if (!entry) continue;
    plan.owned.push(ns.proc);
    if (entry.path) plan.join.push({ path: entry.path, flag: ns.flag, type: ns.oci });
    else plan.flags |= ns.flag;
  }
  const unknown = spec.find((n) => n.type !== "time" && !NAMESPACES.some((ns) => ns.oci === n.type));
  if (unknown) throw new Error(`linux.namespaces: unknown namespace type "${unknown.type}"`);
  return plan;
}

/** exec joins every namespace of the container's init, user first, mount last. */
export function execJoinOrder(owned: readonly string[]): Array<{ proc: string; flag: number }> {
  return NAMESPACES.filter((ns) => owned.includes(ns.proc)).map((ns) => ({ proc: ns.proc, flag: ns.flag }));
}
