/**
 * Per-container settings: Sysbox's SYSBOX_* variables in the container's
 * environment, over the defaults sysbox-mgr was started with (its flags of
 * the same names). Pure: parsing, validation, and what an exec'd process
 * may change.
 *
 *   variable                     value        default (mgr flag)        on exec
 *   SYSBOX_HONOR_CAPS            TRUE|FALSE   FALSE (--honor-caps)      per process
 *   SYSBOX_SYSCONT_MODE          TRUE|FALSE   TRUE  (--syscont-mode)    the container's
 *   SYSBOX_IGNORE_SYSFS_CHOWN    TRUE|FALSE   FALSE (--ignore-sysfs-chown)    "
 *   SYSBOX_ALLOW_TRUSTED_XATTR   TRUE|FALSE   FALSE (--allow-trusted-xattr)   "
 *   SYSBOX_SKIP_UID_SHIFT        /p1,/p2      none                      the container's
 *
 * As in Sysbox, values are exactly TRUE or FALSE, and any other SYSBOX_*
 * name fails create. The variables stay in the process's environment.
 */
import type { SettingDefaults } from "../ipc/mod.ts";
import type { TrapGroup } from "../intercept/mod.ts";

export type { SettingDefaults } from "../ipc/mod.ts";

export interface ContainerSettings extends SettingDefaults {
  /** Bind-mount destinations left out of ID mapping (SYSBOX_SKIP_UID_SHIFT). */
  skipUidShift: string[];
}

/** Sysbox's defaults: sysbox-mgr's without flags, and sysbox-runc's without sysbox-mgr. */
export const SYSBOX_SETTING_DEFAULTS: Readonly<SettingDefaults> = { honorCaps: false, syscontMode: true, ignoreSysfsChown: false, allowTrustedXattr: false };

type Entry =
  | { env: string; key: keyof SettingDefaults; kind: "bool"; perProcess: boolean }
  | { env: string; key: "skipUidShift"; kind: "paths"; perProcess: false };

/** Every variable, what it sets, and whether an exec'd process may set it for itself. */
export const SETTINGS: readonly Entry[] = [
  { env: "SYSBOX_HONOR_CAPS", key: "honorCaps", kind: "bool", perProcess: true },
  { env: "SYSBOX_SYSCONT_MODE", key: "syscontMode", kind: "bool", perProcess: false },
  { env: "SYSBOX_IGNORE_SYSFS_CHOWN", key: "ignoreSysfsChown", kind: "bool", perProcess: false },
  { env: "SYSBOX_ALLOW_TRUSTED_XATTR", key: "allowTrustedXattr", kind: "bool", perProcess: false },
  { env: "SYSBOX_SKIP_UID_SHIFT", key: "skipUidShift", kind: "paths", perProcess: false },
];

const PREFIX = "SYSBOX_";

/** A SYSBOX_* variable that is unknown or has a bad value; the message names it. */
export class SettingsError extends Error {
  override name = "SettingsError";
}

function parsePaths(env: string, value: string): string[] {
  if (value === "") throw new SettingsError(`${env}: empty value; expected a comma-separated list of absolute paths`);
  if (/\s/.test(value)) throw new SettingsError(`${env}=${value}: white space is not allowed`);
  return value.split(",").map((p) => {
    if (!p.startsWith("/")) throw new SettingsError(`${env}: ${JSON.stringify(p)} is not an absolute path`);
    return normalize(p);
  });
}

/** "/data/" and "/data//x/." as the spec's mount destinations are compared. */
function normalize(p: string): string {
  const parts = p.split("/").filter((c) => c !== "" && c !== ".");
  return "/" + parts.join("/");
}

/**
 * The settings `env` (a process's NAME=VALUE list) sets, checked; a later
 * entry of the same name wins, as in an environment. Throws SettingsError
 * naming the variable.
 */
export function parseSettings(env: readonly string[]): Partial<ContainerSettings> {
  const out: Partial<ContainerSettings> = {};
  for (const entry of env) {
    if (!entry.startsWith(PREFIX)) continue;
    const eq = entry.indexOf("=");
    if (eq < 0) throw new SettingsError(`${entry}: expected ${entry}=VALUE`);
    const name = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    const s = SETTINGS.find((e) => e.env === name);
    if (!s) throw new SettingsError(`${name}: unknown per-container setting; the known ones are ${SETTINGS.map((e) => e.env).join(", ")}`);
    if (s.kind === "paths") {
      out.skipUidShift = parsePaths(name, value);
    } else {
      if (value !== "TRUE" && value !== "FALSE") throw new SettingsError(`${name}=${value}: invalid value; expected TRUE or FALSE`);
      out[s.key] = value === "TRUE";
    }
  }
  return out;
}

/** The container's settings: what its environment sets, else the daemon's defaults. */
export function resolveSettings(given: Partial<ContainerSettings>, defaults: SettingDefaults): ContainerSettings {
  return { ...defaults, skipUidShift: [], ...given };
}

/**
 * SYSBOX_SKIP_UID_SHIFT may only name bind mounts: `destinations` are the
 * container's bind-mount targets. Throws SettingsError naming the path.
 */
export function checkSkipUidShift(paths: readonly string[], destinations: readonly string[]): void {
  const binds = new Set(destinations.map(normalize));
  for (const p of paths) {
    if (!binds.has(p)) {
      throw new SettingsError(`SYSBOX_SKIP_UID_SHIFT: ${p} is not the target of a bind mount of this container (${[...binds].sort().join(", ") || "it has none"})`);
    }
  }
}

/** True when `destination` (a mount target) is one of `skipUidShift` (SYSBOX_SKIP_UID_SHIFT, normalized). */
export function skipsUidShift(skipUidShift: readonly string[], destination: string): boolean {
  return skipUidShift.includes(normalize(destination));
}

/**
 * An exec'd process: the container's settings, except the per-process ones
 * its own environment sets. Per-container variables in its environment are
 * dropped (Sysbox does the same), and still checked: an unknown one fails.
 */
export function execSettings(env: readonly string[], container: ContainerSettings): { env: string[]; settings: ContainerSettings } {
  const perContainer = new Set(SETTINGS.filter((s) => !s.perProcess).map((s) => `${s.env}=`));
  const kept = env.filter((e) => ![...perContainer].some((p) => e.startsWith(p)));
  return { env: kept, settings: { ...container, ...parseSettings(kept) } };
}

/**
 * The syscall groups sysbox-fs traps for the container besides mount and
 * umount (internal/intercept/settings_syscalls.ts). None outside syscont
 * mode, which has no interception at all.
 */
export function trapGroups(s: SettingDefaults): TrapGroup[] {
  if (!s.syscontMode) return [];
  return [...(s.ignoreSysfsChown ? (["chown"] as const) : []), ...(s.allowTrustedXattr ? (["xattr"] as const) : [])];
}
