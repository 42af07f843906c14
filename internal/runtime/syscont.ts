/**
 * The system-container steps of `create`, kept apart from the plain OCI flow:
 * an ID range (from sysbox-mgr, or a fixed one with --no-sysbox-mgr), the
 * spec rewritten for a system container, and the ID-mapped rootfs and bind
 * mounts staged on the host once the container's user namespace exists.
 */
import { readFileSync, statSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toSystemContainerSpec, RANGE_SIZE, type IdRange } from "../syscont/spec.ts";
import { overlayLayers, ensurePrivateStage, mountIdmappedRootfs, removeStage } from "../idmap/rootfs.ts";
import { idmappedClone } from "../idmap/mod.ts";
import { boundingSet } from "../sys/caps.ts";
import { open, close, AT_FDCWD, O_FLAGS } from "../sys/fs.ts";
import { moveMount, umount2 } from "../sys/mount.ts";
import { MNT } from "../sys/flags.ts";
import { isSysError } from "../sys/errno.ts";
import type { Spec } from "./spec.ts";
import type { Logger } from "./logger.ts";

/** Where ID-mapped rootfs and bind mounts are staged; a private mount. */
export const STAGE_DIR = "/run/sysbox/stage";

/** The range Sysbox uses when sysbox-mgr is not consulted. */
export const FIXED_RANGE: IdRange = { uid: 231072, gid: 231072, size: RANGE_SIZE };

export interface SysContainer {
  spec: Spec;
  range: IdRange;
}

export function systemContainerSpec(spec: Spec, range: IdRange): SysContainer {
  return toSystemContainerSpec(spec, { range, hostBounding: boundingSet() });
}

export interface StagedMounts {
  /** The rootfs path the init stage should use. */
  rootfs: string;
  /** The spec's mounts with bind sources replaced by their ID-mapped copies. */
  mounts: NonNullable<Spec["mounts"]>;
  /** Detaches the host's copies once the container's mount namespace holds its own. */
  detach(): void;
}

function isBind(m: NonNullable<Spec["mounts"]>[number]): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

/**
 * Runs while the container's init waits with only its user namespace made
 * (nsexec READY): maps the rootfs and the bind mounts into its ID range.
 */
export function stageIdmappedMounts(pid: number, spec: Spec, rootfs: string, opts: { id: string; range: IdRange; log: Logger }): StagedMounts {
  ensurePrivateStage(STAGE_DIR);
  const usernsFd = open(`/proc/${pid}/ns/user`, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
  const detachers: Array<() => void> = [];
  try {
    const layers = overlayLayers(readFileSync("/proc/self/mountinfo", "utf8"), rootfs);
    let root: string;
    if (layers) {
      const m = mountIdmappedRootfs(layers, { stage: STAGE_DIR, id: opts.id, usernsFd, rootUid: opts.range.uid, rootGid: opts.range.gid });
      detachers.push(m.detach);
      root = m.path;
    } else {
      root = join(STAGE_DIR, opts.id, "rootfs");
      mkdirSync(root, { recursive: true });
      const fd = idmappedClone(rootfs, usernsFd, { recursive: true });
      try { moveMount(fd, "", AT_FDCWD, root); } finally { close(fd); }
      detachers.push(() => umount2(root, MNT.DETACH));
    }
    const mounts = (spec.mounts ?? []).map((m, i) => {
      if (!isBind(m) || !m.source || m.source.startsWith(rootfs)) return m;
      const target = join(STAGE_DIR, opts.id, `b${i}`);
      try {
        const isDir = statSync(m.source).isDirectory();
        const fd = idmappedClone(m.source, usernsFd, { recursive: (m.options ?? []).includes("rbind") });
        try {
          if (isDir) mkdirSync(target, { recursive: true });
          else writeFileSync(target, "");
          moveMount(fd, "", AT_FDCWD, target);
        } finally {
          close(fd);
        }
        detachers.push(() => umount2(target, MNT.DETACH));
        return { ...m, source: target };
      } catch (e) {
        // tmpfs before 6.3, FUSE, overlayfs and friends cannot be ID-mapped.
        if (!isSysError(e)) throw e;
        opts.log.warn(`bind mount ${m.source} -> ${m.destination} could not be ID-mapped (${e.message}); its files show as nobody:nogroup inside`);
        return m;
      }
    });
    return {
      rootfs: root,
      mounts,
      detach: () => {
        for (const d of detachers.reverse()) try { d(); } catch { /* gone */ }
      },
    };
  } catch (e) {
    for (const d of detachers.reverse()) try { d(); } catch { /* gone */ }
    throw e;
  } finally {
    close(usernsFd);
  }
}

/** Removes what create staged for the container; run at delete, after its processes are gone. */
export function removeStaged(id: string): void {
  removeStage(STAGE_DIR, id);
}
