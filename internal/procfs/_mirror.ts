/**
 * A read-only mirror of a host directory tree as the daemon sees it:
 * host owners and modes, sysfs-like sizes (4096), no symlinks, and read
 * errors passed on with their own errno (they are what a native read gives).
 */
import { dir, type DirSpec, file, FuseError, type NodeSpec } from "../fuse/mod.ts";
import type { Emulation } from "./container.ts";
import type { HostStat } from "./host.ts";

function mirrorNode(em: Emulation, path: string, st: HostStat): NodeSpec {
  if (st.kind === "dir") return hostMirrorDir(em, path, { mode: st.mode, uid: st.uid, gid: st.gid });
  return file(
    () => {
      try {
        return em.host.readBytes(path);
      } catch (e) {
        throw FuseError.from(e);
      }
    },
    { uid: st.uid, gid: st.gid, mode: st.mode, size: 4096 },
  );
}

export function hostMirrorDir(
  em: Emulation,
  path: string,
  opts: { children?: Record<string, NodeSpec>; mode?: number; uid?: number; gid?: number } = {},
): DirSpec {
  const st = opts.mode === undefined ? em.host.stat(path) : undefined;
  return dir(opts.children ?? {}, {
    mode: opts.mode ?? st?.mode ?? 0o555,
    uid: opts.uid ?? st?.uid ?? 0,
    gid: opts.gid ?? st?.gid ?? 0,
    lookup: (_ctx, name) => {
      const child = em.host.stat(`${path}/${name}`);
      return child && !child.symlink ? mirrorNode(em, `${path}/${name}`, child) : undefined;
    },
    list: () => {
      let entries;
      try {
        entries = em.host.list(path);
      } catch {
        return [];
      }
      return entries.flatMap((e) => {
        const child = em.host.stat(`${path}/${e.name}`);
        return child && !child.symlink ? [[e.name, mirrorNode(em, `${path}/${e.name}`, child)] as const] : [];
      });
    },
  });
}
