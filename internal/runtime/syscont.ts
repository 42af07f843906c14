/**
 * The system-container steps of `create`, kept apart from the plain OCI flow:
 * an ID range (from sysbox-mgr, or a fixed one with --no-sysbox-mgr), the
 * spec rewritten for a system container, and the ID-mapped rootfs and bind
 * mounts staged on the host once the container's user namespace exists.
 * sysbox-mgr's client is imported lazily: --no-sysbox-mgr never loads it.
 */
import { readFileSync, statSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toSystemContainerSpec, RANGE_SIZE, type IdRange } from "../syscont/mod.ts";
import { checkSkipUidShift, parseSettings, resolveSettings, skipsUidShift, SYSBOX_SETTING_DEFAULTS, type ContainerSettings } from "../syscont/mod.ts";
import { MGR_MOUNT_DESTINATIONS, MGR_MOUNT_KINDS } from "../ipc/mod.ts";
import { overlayLayers, ensurePrivateStage, mountIdmappedRootfs, removeStage } from "../idmap/mod.ts";
import { idmappedClone } from "../idmap/mod.ts";
import { boundingSet } from "../sys/caps.ts";
import { open, close, AT_FDCWD, O_FLAGS } from "../sys/fs.ts";
import { moveMount, umount2 } from "../sys/mount.ts";
import { MNT } from "../sys/flags.ts";
import { isSysError } from "../sys/errno.ts";
import type { Spec } from "./spec.ts";
import { syncIn, syncOut, needsSyncOut, dockerAutoRemove, type InnerStore } from "../syscont/mod.ts";
import type { Logger } from "../log/mod.ts";
import { linuxDeviceSys, stageDevices } from "./devices.ts";
import { DEFAULT_DEVICES } from "./rootfs.ts";

/** Where ID-mapped rootfs and bind mounts are staged; a private mount. */
export const STAGE_DIR = "/run/sysbox/stage";

/** The range Sysbox uses when sysbox-mgr is not consulted. */
export const FIXED_RANGE: IdRange = { uid: 231072, gid: 231072, size: RANGE_SIZE };

export interface SysContainer {
  spec: Spec;
  range: IdRange;
  /** Its SYSBOX_* settings over sysbox-mgr's defaults. */
  settings: ContainerSettings;
  /** The inner engines' host-backed stores, for sync in/out of inner images. */
  stores: InnerStore[];
  /** Tells sysbox-mgr the init exists (null without sysbox-mgr). */
  initStarted(pid: number, startTime: string): Promise<void>;
  /** Gives the range and host dirs back when create fails. */
  abandon(): Promise<void>;
}

/** The runtime runs in the host's network namespace (Docker and containerd call it from there). */
function isHostNetns(path: string): boolean {
  try {
    const a = statSync(path);
    const b = statSync("/proc/self/ns/net");
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

/**
 * The system container's ID range and spec. With sysbox-mgr: an exclusive
 * range, and host-backed dirs for inner engines bind-mounted at
 * /var/lib/docker and friends (dirs the spec already mounts are left out).
 */
export async function prepareSystemContainer(spec: Spec, opts: { id: string; rootfs: string; noMgr: boolean }): Promise<SysContainer> {
  // Bad settings fail before anything is asked of sysbox-mgr.
  const given = parseSettings(spec.process?.env ?? []);
  checkSkipUidShift(given.skipUidShift ?? [], bindDestinations(spec));
  if (opts.noMgr) {
    const settings = resolveSettings(given, SYSBOX_SETTING_DEFAULTS);
    const sc = toSystemContainerSpec(spec, { range: FIXED_RANGE, hostBounding: boundingSet(), isHostNetns, settings });
    return { ...sc, settings, stores: [], initStarted: async () => {}, abandon: async () => {} };
  }
  const { openMgr } = await import("../ipc/mod.ts");
  const mgr = await openMgr({ what: "failed to register with sysbox-mgr" });
  try {
    const l = spec.linux;
    const mapping = l?.uidMappings?.length ? { uid: l.uidMappings[0]!.hostID, gid: l.gidMappings?.[0]?.hostID ?? l.uidMappings[0]!.hostID, size: l.uidMappings[0]!.size } : undefined;
    const got = await mgr.register(opts.id, { rootfs: opts.rootfs, ...(mapping ? { mapping } : {}) });
    const settings = resolveSettings(given, got.settings ?? SYSBOX_SETTING_DEFAULTS);
    const mounted = new Set((spec.mounts ?? []).map((m) => m.destination.replace(/\/+$/, "")));
    const kinds = MGR_MOUNT_KINDS.filter((k) => !mounted.has(MGR_MOUNT_DESTINATIONS[k]));
    // Owned by 0 on disk: the binds are ID-mapped, so that is the container's root.
    // Not in syscont mode: a plain container gets no host dirs for inner engines.
    const extra = settings.syscontMode ? await mgr.prepareMounts(opts.id, { uid: 0, gid: 0 }, { kinds }) : [];
    const withDirs = { ...spec, mounts: [...(spec.mounts ?? []), ...extra.map((m) => ({ destination: m.destination, type: m.type, source: m.source, options: m.options }))] };
    const sc = toSystemContainerSpec(withDirs, { range: { uid: got.uid, gid: got.gid, size: got.size }, hostBounding: boundingSet(), isHostNetns, settings });
    return {
      ...sc,
      settings,
      stores: extra.filter((m) => m.kind !== "kernel").map((m) => ({ source: m.source, destination: m.destination })),
      initStarted: async (pid, startTime) => {
        try { await mgr.update(opts.id, { pid, startTime }); } finally { mgr.close(); }
      },
      abandon: async () => {
        try { await mgr.unregister(opts.id); } finally { mgr.close(); }
      },
    };
  } catch (e) {
    mgr.close();
    throw e;
  }
}

/** At delete: sysbox-mgr frees the range and dirs, or keeps them while Docker keeps the container. */
export async function releaseSystemContainer(id: string, log: Logger): Promise<void> {
  const { unregisterFromMgr } = await import("../ipc/mod.ts");
  try {
    log.debug(`sysbox-mgr unregister ${id}: ${await unregisterFromMgr(id)}`);
  } catch (e) {
    log.warn(e instanceof Error ? e.message : String(e));
  }
}

export interface StagedMounts {
  /** The rootfs path the init stage should use. */
  rootfs: string;
  /** The spec's mounts with bind sources replaced by their ID-mapped copies. */
  mounts: NonNullable<Spec["mounts"]>;
  /** The spec's devices with their nodes made on the host (devices.ts); undefined without any. */
  devices?: NonNullable<NonNullable<Spec["linux"]>["devices"]>;
  /** Detaches the host's copies once the container's mount namespace holds its own. */
  detach(): void;
}

function isBind(m: NonNullable<Spec["mounts"]>[number]): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

/** The targets SYSBOX_SKIP_UID_SHIFT may name: the spec's bind mounts and sysbox-mgr's. */
function bindDestinations(spec: Spec): string[] {
  return [...(spec.mounts ?? []).filter(isBind).map((m) => m.destination), ...Object.values(MGR_MOUNT_DESTINATIONS)];
}

/**
 * Runs while the container's init waits with only its user namespace made
 * (nsexec READY): maps the rootfs and the bind mounts into its ID range.
 */
export function stageIdmappedMounts(pid: number, spec: Spec, rootfs: string, opts: { id: string; range: IdRange; log: Logger; skipUidShift?: string[] }): StagedMounts {
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
      // SYSBOX_SKIP_UID_SHIFT: the host's owners show through (unmapped ones as nobody).
      if (skipsUidShift(opts.skipUidShift ?? [], m.destination)) return m;
      const target = join(STAGE_DIR, opts.id, `b${i}`);
      try {
        const st = statSync(m.source);
        // Device nodes (/dev/null as /dev/kmsg) have no owner worth mapping.
        if (st.isCharacterDevice() || st.isBlockDevice()) return m;
        const isDir = st.isDirectory();
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
    // runc's defaults too, so that the container's root owns its /dev/null as it would a node it made.
    const listed = new Set((spec.linux?.devices ?? []).map((d) => d.path));
    const devices = [...(spec.linux?.devices ?? []), ...DEFAULT_DEVICES.filter((d) => !listed.has(d.path))];
    const devs = stageDevices(devices, { stage: STAGE_DIR, id: opts.id, uid: spec.linux?.uidMappings, gid: spec.linux?.gidMappings }, linuxDeviceSys);
    if (devs) detachers.push(devs.detach);
    return {
      rootfs: root,
      mounts,
      ...(devs ? { devices: devs.devices as NonNullable<StagedMounts["devices"]> } : {}),
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

/** The upper dir of Docker's overlay rootfs, where inner images are synced out to. */
export function upperDirOf(rootfs: string): string | undefined {
  return overlayLayers(readFileSync("/proc/self/mountinfo", "utf8"), rootfs)?.upper;
}

/** At create: fresh stores get the inner images the image carries. */
export function syncInnerImagesIn(stores: InnerStore[], rootfs: string, log: Logger): void {
  for (const s of stores) {
    const r = syncIn(s, rootfs);
    if (r.copied) log.info(`inner images: copied ${s.destination} from the image into ${s.source} in ${r.ms.toFixed(0)} ms (${r.tool})`);
  }
}

/** At pause and stop: inner images go into the upper dir, so commits and restarts keep them. Skipped for --rm containers. */
export async function syncInnerImagesOut(id: string, stores: InnerStore[], upperDir: string | undefined, log: Logger, opts: { stopping: boolean }): Promise<void> {
  if (!upperDir || !stores.some((s) => needsSyncOut(s, upperDir))) return;
  if (opts.stopping && (await dockerAutoRemove(id))) return;
  for (const s of stores) {
    const r = syncOut(s, upperDir);
    if (r.copied) log.info(`inner images: copied ${s.source} into the container's ${s.destination} in ${r.ms.toFixed(0)} ms (${r.tool})`);
  }
}
