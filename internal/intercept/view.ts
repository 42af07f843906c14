/**
 * A process's view of its mount tree, from /proc/PID/mountinfo (proc(5)):
 * mount points are relative to the process's root, and mounts whose root is
 * outside it (after chroot into a plain directory) are left out. Pure.
 */
import { parseMountinfo, type MountInfoEntry } from "../mountinfo/mod.ts";

export type { MountInfoEntry } from "../mountinfo/mod.ts";

export class MountView {
  readonly entries: readonly MountInfoEntry[];
  readonly #byId = new Map<number, MountInfoEntry>();
  /** "parentId mountPoint" -> mounts attached there, in mountinfo order. */
  readonly #children = new Map<string, MountInfoEntry[]>();
  /**
   * The mount holding the process's root, when that root is a mount's root
   * (an entry at "/" whose parent is not visible); null after chroot into a
   * plain directory, where that mount is not listed.
   */
  readonly root: MountInfoEntry | null;

  constructor(entries: readonly MountInfoEntry[]) {
    this.entries = entries;
    for (const e of entries) this.#byId.set(e.id, e);
    for (const e of entries) {
      const key = `${this.#byId.has(e.parentId) ? e.parentId : "hidden"} ${e.mountPoint}`;
      const list = this.#children.get(key);
      if (list) list.push(e);
      else this.#children.set(key, [e]);
    }
    // The bottom of any stack at "/": the process's root stays on it even
    // when something is mounted over "/" later (path walks start below).
    this.root = entries.find((e) => e.mountPoint === "/" && !this.#byId.has(e.parentId)) ?? null;
  }

  static parse(text: string): MountView {
    return new MountView(parseMountinfo(text));
  }

  byId(id: number): MountInfoEntry | undefined {
    return this.#byId.get(id);
  }

  /** Mounts whose parent is mount `id`, in mountinfo order. */
  childrenOf(id: number): MountInfoEntry[] {
    return this.entries.filter((e) => e.parentId === id);
  }

  /**
   * The mount a path walk lands on when it steps from mount `parent` (null:
   * the hidden root of a chroot) onto `path`: the topmost of the mounts
   * stacked there, or undefined if `path` is not a mount point in `parent`.
   */
  mountedAt(parent: MountInfoEntry | null, path: string): MountInfoEntry | undefined {
    let top: MountInfoEntry | undefined = this.#children.get(`${parent ? parent.id : "hidden"} ${path}`)?.[0];
    for (let over = top; over; over = this.#children.get(`${over.id} ${path}`)?.[0]) top = over;
    return top;
  }
}

/** True if the mount's per-mount options say read-only. */
export function isReadOnly(e: MountInfoEntry): boolean {
  return e.mountOptions.includes("ro");
}

/** `child` is `dir` or below it, as paths ("/a/b" is under "/a", "/ab" is not). */
export function isUnder(child: string, dir: string): boolean {
  if (dir === "/") return child.startsWith("/");
  return child === dir || child.startsWith(`${dir}/`);
}
