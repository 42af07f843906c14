/**
 * /sys/devices/virtual, for sysbox-runc to bind over the same path (as
 * Sysbox does: a bind of dmi/id alone needs the host to have DMI).
 *
 *   sys/devices/virtual/      emulated dir listing the host's entries
 *     dmi/                    emulated dir, present even on hosts without DMI
 *       id/                   sys_dmi.ts: product_uuid per container, the rest the host's
 *     net/                    the *caller's* network devices: listed and read in a sysfs
 *                             mounted afresh in the caller's user and network namespaces;
 *                             read-only (EACCES at open for writing), as Docker mounts a
 *                             container's /sys read-only; the dir is host root's, what is
 *                             inside the container root's (the owner of its network
 *                             namespace); symbolic links (subsystem, ...) left out
 *     (other host entries)    the host's, read-only (_mirror.ts): host owners (nobody in
 *                             the container), sysfs sizes, symbolic links left out
 *
 * Each net/ operation costs a short-lived helper (passthrough.ts); a dir's
 * listing answers lookups in it for LISTING_TTL_MS, so `ls -l` or a path
 * walk costs one helper per dir.
 */
import { dir, type DirSpec, file, FuseError, type NodeSpec, type RequestContext } from "../fuse/mod.ts";
import { ERRNO } from "../sys/errno.ts";
import { hostMirrorDir } from "./_mirror.ts";
import { containerRoot, type Emulation } from "./container.ts";
import { asCaller } from "./passthrough.ts";
import type { NodeKind } from "./host.ts";
import { sysDmiId } from "./sys_dmi.ts";

export const SYS_DEVICES_VIRTUAL = "/sys/devices/virtual";
const NET = `${SYS_DEVICES_VIRTUAL}/net`;
const LISTING_TTL_MS = 2000;

interface Entry {
  kind: NodeKind;
  mode: number;
}

/** The caller's /sys/devices/virtual/net, through the sysfs pass-through. */
class CallerNet {
  readonly #em: Emulation;
  /** Listings by "pid path", so a path walk by one process lists each dir once. */
  readonly #listings = new Map<string, { at: number; entries: Map<string, Entry> }>();

  constructor(em: Emulation) {
    this.#em = em;
  }

  #asCaller<T>(ctx: RequestContext, fn: (pid: number) => Promise<T>): Promise<T> {
    return asCaller(ctx.pid, this.#em.info.initPid, fn);
  }

  async #entries(ctx: RequestContext, path: string): Promise<Map<string, Entry>> {
    const key = `${ctx.pid} ${path}`;
    const now = Date.now();
    const cached = this.#listings.get(key);
    if (cached && now - cached.at < LISTING_TTL_MS) return cached.entries;
    const listed = await this.#asCaller(ctx, (pid) => this.#em.sysfsPassThrough.list(pid, path));
    const entries = new Map(listed.filter((e) => !e.symlink).map((e) => [e.name, { kind: e.kind, mode: e.mode }]));
    for (const [k, v] of this.#listings) if (now - v.at >= LISTING_TTL_MS) this.#listings.delete(k);
    this.#listings.set(key, { at: now, entries });
    return entries;
  }

  dir(path: string, mode: number, owner: { uid: number; gid: number }): DirSpec {
    return dir(
      {},
      {
        ...owner,
        mode,
        lookup: async (ctx, name) => {
          const e = (await this.#entries(ctx, path)).get(name);
          return e ? this.#node(`${path}/${name}`, e) : undefined;
        },
        list: async (ctx) => [...(await this.#entries(ctx, path))].map(([name, e]) => [name, this.#node(`${path}/${name}`, e)] as const),
      },
    );
  }

  #node(path: string, e: Entry): NodeSpec {
    const owner = containerRoot(this.#em.info);
    if (e.kind === "dir") return this.dir(path, e.mode, owner);
    return file((ctx) => this.#asCaller(ctx, (pid) => this.#em.sysfsPassThrough.read(pid, path)), {
      ...owner,
      mode: e.mode & ~0o222,
      size: 4096,
    });
  }
}

export function sysDevicesVirtual(em: Emulation): DirSpec {
  const net = new CallerNet(em).dir(NET, em.host.stat(NET)?.mode ?? 0o755, { uid: 0, gid: 0 });
  const dmi = dir({ id: sysDmiId(em) }, { mode: 0o755, uid: 0, gid: 0 });
  return hostMirrorDir(em, SYS_DEVICES_VIRTUAL, { children: { dmi, net } });
}
