/**
 * The spec's devices (`docker run --device`, OCI linux.devices) for a
 * container with a user namespace. Its init cannot mknod, and a bind of the
 * host's node shows the host's owner (nobody:nogroup inside, so a 0600
 * /dev/fuse is unusable), and devtmpfs cannot be ID-mapped. So, while the
 * init waits with only its user namespace made, the runtime makes each node
 * itself, as the host's root, on a tmpfs of its own in the staging dir:
 * the spec's type, numbers and mode, owned by the spec's uid/gid (0 by
 * default) mapped into the container's range. The init binds each node onto
 * its path (rootfs.ts createDevice) and the host detaches the tmpfs once the
 * container's mount namespace holds its copy. The tmpfs belongs to the
 * host's user namespace and is not nodev, so its nodes can be opened; the
 * device cgroup still decides which ones may be. Only the spec's devices
 * are on it.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chmod, chown, makedev, mknod } from "../sys/fs.ts";
import { MNT, MS } from "../sys/flags.ts";
import { mount, umount2 } from "../sys/mount.ts";
import type { SpecDevice } from "./rootfs.ts";

/** One id mapping of the spec (containerID -> hostID for size ids). */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** The host id `id` maps to, or undefined when no mapping covers it. */
export function hostIdOf(mappings: readonly IdMapping[] | undefined, id: number): number | undefined {
  if (!mappings || mappings.length === 0) return id;
  for (const m of mappings) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return undefined;
}

const TYPE_BITS: Record<string, number> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };

/** What to make on the host for one spec device; throws naming the device when the spec cannot be honoured. */
export interface DeviceNode {
  /** File name on the device tmpfs. */
  name: string;
  /** mknod(2) mode: type and permission bits. */
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
}

/** Pure: the nodes for `devices`, in order; names are indexes so no path in the spec can climb out. */
export function planDeviceNodes(devices: readonly SpecDevice[], maps: { uid?: readonly IdMapping[]; gid?: readonly IdMapping[] }): DeviceNode[] {
  return devices.map((d, i) => {
    const type = TYPE_BITS[d.type];
    if (type === undefined) throw new Error(`linux.devices: ${d.path}: unknown device type ${JSON.stringify(d.type)}`);
    if (!d.path.startsWith("/")) throw new Error(`linux.devices: ${JSON.stringify(d.path)} is not an absolute path`);
    if (d.type !== "p" && (d.major === undefined || d.minor === undefined)) throw new Error(`linux.devices: ${d.path}: major and minor are required for type ${d.type}`);
    const uid = hostIdOf(maps.uid, d.uid ?? 0);
    const gid = hostIdOf(maps.gid, d.gid ?? 0);
    if (uid === undefined) throw new Error(`linux.devices: ${d.path}: uid ${d.uid} is not mapped into the container's user namespace`);
    if (gid === undefined) throw new Error(`linux.devices: ${d.path}: gid ${d.gid} is not mapped into the container's user namespace`);
    return { name: `d${i}`, mode: type | ((d.fileMode ?? 0o666) & 0o7777), major: d.major ?? 0, minor: d.minor ?? 0, uid, gid };
  });
}

/** What staging needs from the system; linuxDeviceSys is the real one. */
export interface DeviceSys {
  mkdirAll(path: string, mode: number): void;
  mountTmpfs(path: string): void;
  mknod(path: string, mode: number, major: number, minor: number): void;
  chown(path: string, uid: number, gid: number): void;
  chmod(path: string, mode: number): void;
  detach(path: string): void;
}

export interface StagedDevices {
  /** The spec's devices, each with `source`: its node on the host's tmpfs. */
  devices: SpecDevice[];
  /** Detaches the host's copy of the tmpfs. */
  detach(): void;
}

/**
 * Makes the spec's devices on a fresh tmpfs at `<stage>/<id>/dev`. Throws
 * (after detaching what it mounted) naming the device that could not be made.
 */
export function stageDevices(devices: readonly SpecDevice[], opts: { stage: string; id: string; uid?: readonly IdMapping[]; gid?: readonly IdMapping[] }, sys: DeviceSys): StagedDevices | undefined {
  if (devices.length === 0) return undefined;
  const nodes = planDeviceNodes(devices, opts);
  const dir = join(opts.stage, opts.id, "dev");
  sys.mkdirAll(dir, 0o711);
  sys.mountTmpfs(dir);
  try {
    for (const n of nodes) {
      const path = join(dir, n.name);
      try {
        sys.mknod(path, n.mode, n.major, n.minor);
        // mknod applies our umask; the spec's mode is meant exactly.
        sys.chmod(path, n.mode & 0o7777);
        sys.chown(path, n.uid, n.gid);
      } catch (e) {
        throw new Error(`linux.devices: cannot make ${devices[nodes.indexOf(n)]!.path}: ${(e as Error).message}`, { cause: e });
      }
    }
  } catch (e) {
    sys.detach(dir);
    throw e;
  }
  return {
    devices: devices.map((d, i) => ({ ...d, source: join(dir, nodes[i]!.name) })),
    detach: () => sys.detach(dir),
  };
}

/** The real DeviceSys. */
export const linuxDeviceSys: DeviceSys = {
  mkdirAll: (path, mode) => { mkdirSync(path, { recursive: true, mode }); },
  // Not nodev: the nodes must open. Tiny: it holds only nodes.
  mountTmpfs: (path) => mount("tmpfs", path, "tmpfs", MS.NOSUID | MS.NOEXEC, "mode=711,size=16k"),
  mknod: (path, mode, major, minor) => mknod(path, mode, makedev(major, minor)),
  chown: (path, uid, gid) => chown(path, uid, gid),
  chmod: (path, mode) => chmod(path, mode),
  detach: (path) => {
    try { umount2(path, MNT.DETACH); } catch { /* already gone */ }
  },
};
