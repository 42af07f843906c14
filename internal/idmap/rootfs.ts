/**
 * An ID-mapped view of a container's overlay rootfs, made by the runtime on
 * the host before the container's mount namespace exists:
 *
 *   docker's overlay (merged)        ours, at <stage>/<id>/rootfs
 *   lowerdir=L1:L2  upperdir=U/diff  lowerdir=0:1 (ID-mapped clones of L1, L2)
 *                                    upperdir=u/diff, workdir=u/sysbox-work
 *                                    (u = ID-mapped clone of U, so diff and the
 *                                    work dir stay on one mount)
 *
 * mount_setattr(MOUNT_ATTR_IDMAP) is refused on the overlay itself, so each
 * layer is mapped instead. Nothing is chowned: layers stay shared, and files
 * the container writes land in Docker's upper dir with in-container owners.
 * The stage directory is a private mount, so the copy the container's mount
 * namespace takes survives when the host's is detached right after.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseMountinfo } from "../mountinfo/mod.ts";
import { AT_FDCWD, close } from "../sys/fs.ts";
import { mount, umount2, moveMount } from "../sys/mount.ts";
import { MS, MNT } from "../sys/flags.ts";
import { idmappedClone } from "./mod.ts";
import { withFsIds } from "../sys/proc.ts";

export interface OverlayLayers {
  lower: string[];
  upper: string;
  work: string;
}

/** The overlay mounted at `rootfs`, from mountinfo text. */
export function overlayLayers(mountinfo: string, rootfs: string): OverlayLayers | null {
  const entry = parseMountinfo(mountinfo).findLast((m) => m.mountPoint === rootfs);
  if (!entry || entry.fsType !== "overlay") return null;
  const opt = (k: string) => entry.superOptions.find((o) => o.startsWith(`${k}=`))?.slice(k.length + 1);
  const lower = opt("lowerdir");
  const upper = opt("upperdir");
  const work = opt("workdir");
  if (!lower || !upper || !work) return null;
  return { lower: lower.split(":"), upper, work };
}

/**
 * Makes `dir` a mount point of its own with the given propagation, once per
 * boot: PRIVATE for the staging dir (the host's copies can go without
 * touching the container's), SHARED for sysbox-fs's mount root (FUSE mounts
 * made there reach containers created just before).
 */
export function ensureMountPropagation(dir: string, propagation: "private" | "shared"): void {
  const mi = parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"));
  const own = mi.findLast((m) => m.mountPoint === dir);
  if (!own) mount(dir, dir, null, MS.BIND);
  const shared = own?.optionalFields.some((f) => f.startsWith("shared:")) ?? false;
  if (propagation === "private" && (!own || shared)) mount(null, dir, null, MS.PRIVATE);
  if (propagation === "shared" && !shared) mount(null, dir, null, MS.SHARED);
}

/**
 * The mode that lets anyone traverse a directory (x for group and others
 * added), or null when it already does. Listing stays as it was.
 */
export function traversableMode(mode: number): number | null {
  const perm = mode & 0o7777;
  return (perm & 0o011) === 0o011 ? null : perm | 0o011;
}

/** A private mount point holding every container's staging dir. */
export function ensurePrivateStage(stage: string): void {
  mkdirSync(stage, { recursive: true, mode: 0o711 });
  // Container roots must traverse it to reach their rootfs; listing stays private.
  chmodSync(stage, 0o711);
  // So must they its parent, which a daemon may have made 0700 (under
  // systemd, sysbox-mgr creates /run/sysbox itself): EACCES on the bind of
  // the rootfs otherwise.
  const parent = dirname(stage);
  const mode = traversableMode(statSync(parent).mode);
  if (mode !== null) chmodSync(parent, mode);
  ensureMountPropagation(stage, "private");
}

/** Removes a container's staging dir once nothing uses it (at delete). */
export function removeStage(stage: string, id: string): void {
  rmSync(join(stage, id), { recursive: true, force: true });
}

export interface IdmappedRootfs {
  /** Where the container's rootfs is mounted on the host, until `detach`. */
  path: string;
  /** Lazily unmounts the host's copy; the container's mount namespace keeps its own. */
  detach(): void;
}

function attach(fd: number, target: string): void {
  try {
    moveMount(fd, "", AT_FDCWD, target);
  } finally {
    close(fd);
  }
}

/**
 * Mounts the ID-mapped overlay for container `id` under `stage`. `usernsFd`
 * is the container's user namespace, whose maps must already be written.
 */
export function mountIdmappedRootfs(layers: OverlayLayers, opts: { stage: string; id: string; usernsFd: number; rootUid: number; rootGid: number }): IdmappedRootfs {
  const base = join(opts.stage, opts.id);
  rmSync(base, { recursive: true, force: true });
  mkdirSync(base, { mode: 0o711 });
  const layerMounts: string[] = [];
  const target = join(base, "rootfs");
  const cleanupLayers = () => {
    for (const m of layerMounts.reverse()) {
      try { umount2(m, MNT.DETACH); } catch { /* already gone */ }
    }
  };
  try {
    layers.lower.forEach((dir, i) => {
      const t = join(base, String(i));
      mkdirSync(t);
      attach(idmappedClone(realpathSync(dir), opts.usernsFd), t);
      layerMounts.push(t);
    });
    // The upper dir's parent, so upperdir and our work dir share one mount.
    const upperReal = realpathSync(layers.upper);
    const parent = dirname(upperReal);
    const work = join(parent, "sysbox-work");
    if (!existsSync(work)) mkdirSync(work, { mode: 0o700 });
    const u = join(base, "u");
    mkdirSync(u);
    attach(idmappedClone(parent, opts.usernsFd), u);
    layerMounts.push(u);
    const rel = (p: string) => p.slice(parent.length + 1);

    mkdirSync(target);
    // Relative layer paths keep the option string short for images with many layers.
    const cwd = process.cwd();
    process.chdir(base);
    try {
      const lower = layers.lower.map((_, i) => String(i)).join(":");
      // As the container's root on the host: host uid 0 has no place in the ID-mapped upper layer.
      withFsIds(opts.rootUid, opts.rootGid, () =>
        mount("overlay", target, "overlay", 0, `lowerdir=${lower},upperdir=u/${rel(upperReal)},workdir=u/sysbox-work,index=off`));
    } finally {
      process.chdir(cwd);
    }
  } catch (e) {
    cleanupLayers();
    rmSync(base, { recursive: true, force: true });
    throw e;
  }
  // The overlay holds private clones of its layers: the staging mounts can go.
  cleanupLayers();
  return {
    path: target,
    // The directories stay until the container is deleted: removing a mount
    // point unmounts it in every namespace, the container's included.
    detach: () => {
      try { umount2(target, MNT.DETACH); } catch { /* already gone */ }
    },
  };
}
