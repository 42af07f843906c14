/**
 * The /proc/sys tree a container sees (sysbox-runc binds it over the
 * container's /proc/sys). Every entry is one of:
 *
 *   emulated       the tables in proc_sys_{kernel,vm,fs,net}.ts: a
 *                  per-container value (sysctl.ts policies)
 *   pass-through   entries the kernel namespaces: net/..., kernel/hostname,
 *                  domainname, the shm/msg/sem limits and ids, ns_last_pid,
 *                  fs/mqueue/..., user/...; read, written and listed in the
 *                  *caller's* namespaces (passthrough.ts), owned by the
 *                  container's root
 *   read-only      everything else: the host's global value, owned by host
 *                  root (nobody in the container), never writable through us
 *
 * An emulated entry appears only if the host has it (or the container
 * already holds a value for it).
 */
import { dir, type DirSpec, file, FuseError, type NodeSpec, type RequestContext } from "../fuse/mod.ts";
import { ERRNO } from "../sys/errno.ts";
import { containerRoot, type Emulation } from "./container.ts";
import { asCaller } from "./passthrough.ts";
import type { NodeKind } from "./host.ts";
import { FS_EMPTY_DIRS, FS_SYSCTLS } from "./proc_sys_fs.ts";
import { KERNEL_SYSCTLS } from "./proc_sys_kernel.ts";
import { NET_SYSCTLS } from "./proc_sys_net.ts";
import { VM_SYSCTLS } from "./proc_sys_vm.ts";
import { sysctlFile, type SysctlSpec } from "./sysctl.ts";

export const SYSCTLS: readonly SysctlSpec[] = [...KERNEL_SYSCTLS, ...VM_SYSCTLS, ...FS_SYSCTLS, ...NET_SYSCTLS];

const PROC_SYS = "/proc/sys";

/** Entries the kernel keeps per namespace (uts, ipc, pid, user, net). */
const NAMESPACED_FILES = new Set([
  "kernel/hostname", "kernel/domainname", "kernel/shmmax", "kernel/shmall", "kernel/shmmni", "kernel/shm_rmid_forced",
  "kernel/msgmax", "kernel/msgmni", "kernel/msgmnb", "kernel/sem", "kernel/auto_msgmni", "kernel/shm_next_id",
  "kernel/msg_next_id", "kernel/sem_next_id", "kernel/ns_last_pid",
]);
const NAMESPACED_DIRS = ["net", "fs/mqueue", "user"];

export function isNamespaced(rel: string): boolean {
  return NAMESPACED_FILES.has(rel) || NAMESPACED_DIRS.some((d) => rel === d || rel.startsWith(`${d}/`));
}

/** Dirs whose *listing* differs per namespace (network interfaces appear under net/). */
function listsPerNamespace(rel: string): boolean {
  return rel === "net" || rel.startsWith("net/");
}

interface Listing {
  at: number;
  entries: Map<string, { kind: NodeKind; mode: number }>;
}

/** How long a pass-through listing also answers lookups (`ls -l` right after `ls`). */
const LISTING_TTL_MS = 2000;

class ProcSys {
  readonly #em: Emulation;
  readonly #listings = new Map<string, Listing>();

  constructor(em: Emulation) {
    this.#em = em;
  }

  #asCaller<T>(ctx: RequestContext, fn: (pid: number) => Promise<T>): Promise<T> {
    return asCaller(ctx.pid, this.#em.info.initPid, fn);
  }

  #owner(rel: string): { uid: number; gid: number } {
    return isNamespaced(rel) ? containerRoot(this.#em.info) : { uid: 0, gid: 0 };
  }

  /** A mirrored directory, with `children` (emulated entries and dirs leading to them) on top. */
  dir(rel: string, children: Record<string, NodeSpec>, mode?: number): DirSpec {
    return dir(children, {
      ...this.#owner(rel),
      mode: mode ?? this.#em.host.stat(`${PROC_SYS}${rel ? `/${rel}` : ""}`)?.mode ?? 0o555,
      lookup: (ctx, name) => this.#lookup(ctx, rel ? `${rel}/${name}` : name),
      list: (ctx) => this.#list(ctx, rel),
    });
  }

  #file(rel: string, mode: number): NodeSpec {
    const path = `${PROC_SYS}/${rel}`;
    if (!isNamespaced(rel)) return file(() => this.#em.host.readFile(path), { ...this.#owner(rel), mode });
    return file((ctx) => this.#asCaller(ctx, (pid) => this.#em.passThrough.read(pid, path)), {
      ...this.#owner(rel),
      mode,
      write: (ctx, data, offset) => (offset > 0 ? undefined : this.#asCaller(ctx, (pid) => this.#em.passThrough.write(pid, path, data))),
    });
  }

  #node(rel: string, st: { kind: NodeKind; mode: number }): NodeSpec {
    return st.kind === "dir" ? this.dir(rel, {}, st.mode) : this.#file(rel, st.mode);
  }

  async #lookup(ctx: RequestContext, rel: string): Promise<NodeSpec | undefined> {
    const path = `${PROC_SYS}/${rel}`;
    const parent = rel.slice(0, Math.max(0, rel.lastIndexOf("/")));
    if (!listsPerNamespace(parent) && !listsPerNamespace(rel)) {
      const st = this.#em.host.stat(path);
      return st ? this.#node(rel, st) : undefined;
    }
    const cached = this.#listings.get(parent);
    if (cached && Date.now() - cached.at < LISTING_TTL_MS) {
      const st = cached.entries.get(rel.slice(parent.length + 1));
      return st ? this.#node(rel, st) : undefined;
    }
    const st = await this.#asCaller(ctx, (pid) => this.#em.passThrough.stat(pid, path));
    return st ? this.#node(rel, st) : undefined;
  }

  async #list(ctx: RequestContext, rel: string): Promise<[string, NodeSpec][]> {
    const path = rel ? `${PROC_SYS}/${rel}` : PROC_SYS;
    let entries: { name: string; kind: NodeKind; mode: number }[];
    if (listsPerNamespace(rel)) {
      entries = await this.#asCaller(ctx, (pid) => this.#em.passThrough.list(pid, path));
      this.#listings.set(rel, { at: Date.now(), entries: new Map(entries.map((e) => [e.name, e])) });
    } else {
      entries = this.#em.host.list(path).map((e) => ({ ...e, mode: this.#em.host.stat(`${path}/${e.name}`)?.mode ?? 0o444 }));
    }
    return entries.map((e) => [e.name, this.#node(rel ? `${rel}/${e.name}` : e.name, e)]);
  }
}

/** The emulated entries this host and container have. */
export function presentSysctls(em: Emulation): SysctlSpec[] {
  return SYSCTLS.filter((s) => em.state.sysctls[s.path] !== undefined || em.host.stat(`${PROC_SYS}/${s.path}`) !== undefined);
}

/** The whole /proc/sys tree for one container. */
export function procSysTree(em: Emulation): DirSpec {
  const ps = new ProcSys(em);
  // Nested records of emulated entries, then turned into mirrored dirs bottom-up.
  type Level = { files: Record<string, NodeSpec>; dirs: Map<string, Level> };
  const top: Level = { files: {}, dirs: new Map() };
  const levelAt = (parts: string[]): Level =>
    parts.reduce((lvl, p) => {
      if (!lvl.dirs.has(p)) lvl.dirs.set(p, { files: {}, dirs: new Map() });
      return lvl.dirs.get(p)!;
    }, top);
  for (const s of presentSysctls(em)) {
    const parts = s.path.split("/");
    levelAt(parts.slice(0, -1)).files[parts.at(-1)!] = sysctlFile(em, s);
  }
  for (const d of FS_EMPTY_DIRS) {
    const parts = d.split("/");
    levelAt(parts.slice(0, -1)).files[parts.at(-1)!] = dir({}, { uid: 0, gid: 0, mode: 0o555 });
  }
  const build = (lvl: Level, rel: string): DirSpec => {
    const children: Record<string, NodeSpec> = { ...lvl.files };
    for (const [name, sub] of lvl.dirs) children[name] = build(sub, rel ? `${rel}/${name}` : name);
    return ps.dir(rel, children);
  };
  return build(top, "");
}
