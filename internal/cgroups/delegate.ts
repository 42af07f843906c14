/**
 * Handing a cgroup to the container's root user (cgroups(7) "Cgroups
 * delegation"). On v2 the delegatee owns the directory and the few files
 * that manage membership and the subtree; limits on the cgroup itself stay
 * the parent's. On v1 there is no such split, so the directory and all its
 * files are chowned (system containers give each one a child cgroup for that).
 */
import * as posix from "node:path/posix";
import { ioOf, type IoOptions } from "./_io.ts";
import { cgroupDirs, type Cgroup } from "./cgroup.ts";
import { UNIFIED } from "./path.ts";

/** cgroups(7): the files a delegatee must own. /sys/kernel/cgroup/delegate may list more. */
export const V2_DELEGATE_FILES = ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"];

/** The delegatee: normally the container's root user as the host sees it. */
export interface Owner {
  uid: number;
  gid: number;
}

function checkIds({ uid, gid }: Owner): void {
  if (!Number.isInteger(uid) || uid < 0 || !Number.isInteger(gid) || gid < 0) {
    throw new RangeError(`Invalid owner ${uid}:${gid}`);
  }
}

export interface DelegateV2Options extends IoOptions {
  /** Files to chown besides the directory; default `V2_DELEGATE_FILES`. Missing ones are skipped. */
  files?: string[];
}

/** Chowns the cgroup2 directory and its delegation files to the owner; returns the paths chowned. */
export function delegateV2(cg: Cgroup, owner: Owner, opts: DelegateV2Options = {}): string[] {
  checkIds(owner);
  const { uid, gid } = owner;
  const io = ioOf(opts);
  const dir = cg.paths[UNIFIED];
  if (dir === undefined) throw new Error(`Cgroup ${cg.path} has no cgroup2 directory to delegate`);
  const done = [dir];
  io.chown(dir, uid, gid);
  for (const f of opts.files ?? V2_DELEGATE_FILES) {
    const p = posix.join(dir, f);
    if (!io.exists(p)) continue; // e.g. cgroup.threads before kernel 4.14
    io.chown(p, uid, gid);
    done.push(p);
  }
  return done;
}

/** Chowns every v1 controller directory of the cgroup and the files in it; returns the paths chowned. */
export function delegateV1(cg: Cgroup, owner: Owner, opts: IoOptions = {}): string[] {
  checkIds(owner);
  const { uid, gid } = owner;
  const io = ioOf(opts);
  const unified = cg.paths[UNIFIED];
  const done: string[] = [];
  for (const dir of cgroupDirs(cg)) {
    if (dir === unified) continue;
    io.chown(dir, uid, gid);
    done.push(dir);
    for (const e of io.readdir(dir)) {
      if (e.isDir) continue;
      io.chown(posix.join(dir, e.name), uid, gid);
      done.push(posix.join(dir, e.name));
    }
  }
  return done;
}
