/**
 * Device access rules. On v1 each OCI rule becomes one line written to
 * devices.allow or devices.deny, in spec order (later rules refine earlier
 * ones, so "deny all, then allow the defaults" works). cgroup2 has no files
 * for this: access is decided by a BPF_PROG_TYPE_CGROUP_DEVICE program
 * attached to the cgroup, which is not implemented yet; see `V2_DEVICES_WARNING`.
 */
import type { LinuxDeviceCgroup } from "./spec.ts";

export interface DeviceWrite {
  file: "devices.allow" | "devices.deny";
  line: string;
}

function devNum(n: number | null | undefined): string {
  if (n === undefined || n === null || n < 0) return "*";
  if (!Number.isInteger(n)) throw new RangeError(`Invalid device number ${n}`);
  return String(n);
}

/**
 * The permissions an access string grants, as runc reads it: the set of its
 * r, w and m letters, in that order; other letters ("rwa") grant nothing and
 * are not an error. Empty or missing is all three.
 */
export function deviceAccess(access: string | undefined): string {
  if (access === undefined || access === "") return "rwm";
  return [..."rwm"].filter((c) => access.includes(c)).join("");
}

/**
 * `type major:minor access`, e.g. `c 1:3 rwm` or `a *:* rwm`
 * (Documentation/admin-guide/cgroup-v1/devices.rst); null for a rule that
 * grants or denies no permission at all, which runc applies as nothing.
 */
export function deviceRuleLine(rule: LinuxDeviceCgroup): string | null {
  const type = rule.type === undefined || rule.type === "" ? "a" : rule.type;
  if (!["a", "b", "c"].includes(type)) throw new Error(`Invalid device rule type ${JSON.stringify(rule.type)}`);
  const access = deviceAccess(rule.access);
  if (access === "") return null;
  // The kernel ignores major:minor and access for type "a", but still parses the line.
  return `${type} ${devNum(rule.major)}:${devNum(rule.minor)} ${access}`;
}

/** The v1 writes for a rule list, in order. */
export function v1DeviceWrites(rules: LinuxDeviceCgroup[]): DeviceWrite[] {
  return rules.flatMap((r) => {
    const line = deviceRuleLine(r);
    return line === null ? [] : [{ file: r.allow ? "devices.allow" as const : "devices.deny" as const, line }];
  });
}

export const V2_DEVICES_WARNING =
  "device rules are not enforced on cgroup v2: that needs an eBPF device program (BPF_PROG_TYPE_CGROUP_DEVICE), which is not implemented yet";
