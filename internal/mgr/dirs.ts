/**
 * Host-backed storage for engines inside system containers: one dir per
 * container and kind at `<data-root>/<kind>/<id>`, bind-mounted over the path
 * the engine writes (so an inner overlay2 is not overlay-on-overlay), and the
 * host's kernel modules and headers, read-only, for tools that look for them.
 *
 *   <data-root>/               0710 root   (sysbox-mgr's; must not be tmpfs/overlayfs)
 *     docker/                  0710 root
 *       <id>/                  0700 owner  -> /var/lib/docker
 *     kubelet/<id>/            0755 owner  -> /var/lib/kubelet
 *     ...
 *
 * The kind dirs are root's and not writable by containers, so a container
 * cannot swap `<kind>/<id>` for a symlink; inside it, removal never follows
 * symlinks.
 */
import { chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, realpathSync, rmSync, statfsSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { MGR_MOUNT_DESTINATIONS, MGR_MOUNT_KINDS, type MgrMountKind } from "../ipc/mod.ts";

export const DEFAULT_DATA_ROOT = "/var/lib/sysbox";

export interface HostDir {
  destination: string;
  mode: number;
}

/** Where each kind is mounted in the container, and its mode (engines that keep secrets there want 0700). */
export const HOST_DIRS: Record<MgrMountKind, HostDir> = {
  docker: { destination: MGR_MOUNT_DESTINATIONS.docker, mode: 0o700 },
  containerd: { destination: MGR_MOUNT_DESTINATIONS.containerd, mode: 0o700 },
  kubelet: { destination: MGR_MOUNT_DESTINATIONS.kubelet, mode: 0o755 },
  buildkit: { destination: MGR_MOUNT_DESTINATIONS.buildkit, mode: 0o755 },
  "rancher-k3s": { destination: MGR_MOUNT_DESTINATIONS["rancher-k3s"], mode: 0o755 },
  k0s: { destination: MGR_MOUNT_DESTINATIONS.k0s, mode: 0o755 },
};

export interface MountEntry {
  kind: string;
  source: string;
  destination: string;
  type: "bind";
  options: string[];
}

/** statfs f_type of file systems the data root may not live on, with their names. */
const UNSUITABLE_FS: Record<number, string> = {
  0x01021994: "tmpfs",
  0x858458f6: "ramfs",
  0x794c7630: "overlayfs",
  0x6a656a62: "shiftfs",
};

export class DataRootError extends Error {
  override name = "DataRootError";
}

/** Creates the data root if needed and checks its file system; returns its real path. */
export function prepareDataRoot(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o710 });
  const real = realpathSync(path);
  const fs = UNSUITABLE_FS[statfsSync(real).type];
  if (fs !== undefined) {
    throw new DataRootError(
      `data root ${path} is on ${fs}; the dirs it gives inner container engines need a disk file system (ext4, xfs, btrfs): pass --data-root on one`,
    );
  }
  return real;
}

export function containerDir(dataRoot: string, kind: MgrMountKind, id: string): string {
  if (id === "" || id === "." || id === ".." || id.includes("/")) throw new RangeError(`invalid container id ${JSON.stringify(id)}`);
  return join(dataRoot, kind, id);
}

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * Creates (or keeps) the container's dir of each kind, owned by `owner` with
 * the kind's mode, and returns the bind mounts. Only the top dir's owner and
 * mode are set: an existing dir's contents are the inner engine's.
 */
export function prepareDirs(dataRoot: string, id: string, opts: { owner: Owner; kinds: readonly MgrMountKind[] }): MountEntry[] {
  return opts.kinds.map((kind) => {
    const { destination, mode } = HOST_DIRS[kind];
    mkdirSync(join(dataRoot, kind), { recursive: true, mode: 0o710 });
    const dir = containerDir(dataRoot, kind, id);
    try {
      mkdirSync(dir, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (!lstatSync(dir).isDirectory()) throw new DataRootError(`${dir} exists and is not a directory`);
    }
    // mkdir's mode went through the umask; lchown never follows a link.
    chmodSync(dir, mode);
    lchownSync(dir, opts.owner.uid, opts.owner.gid);
    return { kind, source: dir, destination, type: "bind", options: ["rbind", "rprivate"] };
  });
}

/**
 * Removes the container's dir of every kind; returns the failures (as
 * messages) instead of stopping at the first. Symlinks inside are unlinked,
 * never followed.
 */
export function removeDirs(dataRoot: string, id: string): string[] {
  const failures: string[] = [];
  for (const kind of MGR_MOUNT_KINDS) {
    const dir = containerDir(dataRoot, kind, id);
    try {
      const st = lstatSync(dir, { throwIfNoEntry: false });
      if (!st) continue;
      const rel = relative(dataRoot, dir);
      if (rel.startsWith("..") || rel.split(sep).length !== 2) throw new RangeError(`${dir} is not under ${dataRoot}`);
      rmSync(dir, { recursive: st.isDirectory(), force: true });
    } catch (e) {
      failures.push(`cannot remove ${dir}: ${(e as Error).message}`);
    }
  }
  return failures;
}

const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;

/**
 * Read-only mounts of the host's /lib/modules/<release> and kernel headers
 * (Debian/Ubuntu /usr/src/linux-headers-<release>, RHEL /usr/src/kernels/<release>),
 * plus the /usr/src dirs the headers' top-level symlinks point into (Ubuntu
 * splits headers into a flavour dir and a common one). Paths are looked up
 * under `hostRoot`; destinations are the paths on a real host.
 */
export function kernelMounts(hostRoot: string, release: string): MountEntry[] {
  const ro = (source: string, destination: string): MountEntry => ({
    kind: "kernel",
    source,
    destination,
    type: "bind",
    options: ["rbind", "ro", "rprivate"],
  });
  const mounts: MountEntry[] = [];
  const modules = join(hostRoot, "lib/modules", release);
  if (isDir(modules)) mounts.push(ro(modules, `/lib/modules/${release}`));

  const usrSrc = join(hostRoot, "usr/src");
  const headers = [`linux-headers-${release}`, `kernels/${release}`].find((rel) => isDir(join(usrSrc, rel)));
  if (headers === undefined) return mounts;
  const tops = new Set([headers]);
  const headerDir = join(usrSrc, headers);
  let realUsrSrc: string;
  try {
    realUsrSrc = realpathSync(usrSrc);
  } catch {
    realUsrSrc = usrSrc;
  }
  for (const entry of readdirSync(headerDir, { withFileTypes: true })) {
    if (!entry.isSymbolicLink()) continue;
    let target: string;
    try {
      target = realpathSync(join(headerDir, entry.name));
    } catch {
      continue;
    }
    const rel = relative(realUsrSrc, target);
    if (rel === "" || rel.startsWith("..")) continue;
    const top = rel.split(sep)[0]!;
    if (isDir(join(usrSrc, top))) tops.add(top);
  }
  for (const top of tops) mounts.push(ro(join(usrSrc, top), `/usr/src/${top}`));
  return mounts;
}

/** Whether `path` exists (without following a final symlink). */
export function exists(path: string): boolean {
  return existsSync(path) || lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}
