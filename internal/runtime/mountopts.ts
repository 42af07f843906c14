/**
 * OCI mount options to mount(2) arguments, as runc interprets them: flags,
 * propagation (applied by a separate call), recursive bind, and whatever is
 * left as the file-system data string. Pure.
 */
import { MS } from "../sys/flags.ts";

export interface ParsedMountOptions {
  flags: number;
  /** Flags a remount must clear (e.g. "rw" after a default). */
  clear: number;
  propagation: number[];
  data: string;
  bind: boolean;
  recursive: boolean;
}

/** option -> [clear?, flag] */
const FLAG_OPTIONS: Record<string, [boolean, number]> = {
  ro: [false, MS.RDONLY], rw: [true, MS.RDONLY],
  nosuid: [false, MS.NOSUID], suid: [true, MS.NOSUID],
  nodev: [false, MS.NODEV], dev: [true, MS.NODEV],
  noexec: [false, MS.NOEXEC], exec: [true, MS.NOEXEC],
  sync: [false, MS.SYNCHRONOUS], async: [true, MS.SYNCHRONOUS],
  dirsync: [false, MS.DIRSYNC], remount: [false, MS.REMOUNT],
  mand: [false, MS.MANDLOCK], nomand: [true, MS.MANDLOCK],
  atime: [true, MS.NOATIME], noatime: [false, MS.NOATIME],
  diratime: [true, MS.NODIRATIME], nodiratime: [false, MS.NODIRATIME],
  relatime: [false, MS.RELATIME], norelatime: [true, MS.RELATIME],
  strictatime: [false, MS.STRICTATIME], nostrictatime: [true, MS.STRICTATIME],
  nosymfollow: [false, MS.NOSYMFOLLOW], symfollow: [true, MS.NOSYMFOLLOW],
  lazytime: [false, MS.LAZYTIME], nolazytime: [true, MS.LAZYTIME],
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

/** Options runc accepts that are not for the kernel. */
export const IGNORED_MOUNT_OPTIONS: ReadonlySet<string> = new Set(["tmpcopyup", "defaults", "idmap", "ridmap", "norbind"]);

export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  const out: ParsedMountOptions = { flags: 0, clear: 0, propagation: [], data: "", bind: false, recursive: false };
  const data: string[] = [];
  for (const opt of options) {
    if (opt === "bind") { out.bind = true; continue; }
    if (opt === "rbind") { out.bind = true; out.recursive = true; continue; }
    const f = FLAG_OPTIONS[opt];
    if (f) {
      if (f[0]) { out.flags &= ~f[1]; out.clear |= f[1]; } else { out.flags |= f[1]; out.clear &= ~f[1]; }
      continue;
    }
    const p = PROPAGATION[opt];
    if (p !== undefined) { out.propagation.push(p); continue; }
    if (IGNORED_MOUNT_OPTIONS.has(opt)) continue;
    data.push(opt);
  }
  out.data = data.join(",");
  return out;
}

/** The propagation value for `linux.rootfsPropagation` ("" means runc's default, rslave). */
export function rootfsPropagation(value: string | undefined): number {
  if (!value) return MS.SLAVE | MS.REC;
  const p = PROPAGATION[value];
  if (p === undefined) throw new Error(`linux.rootfsPropagation: unknown value "${value}"`);
  return p;
}
