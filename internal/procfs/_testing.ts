/** Fakes for procfs tests: an in-memory host and a recording pass-through. */
import { FuseError, type RequestContext, TreeFs } from "../fuse/mod.ts";
import type { ContainerInfo, ContainerState, Emulation } from "./container.ts";
import type { Host, HostStat } from "./host.ts";
import { containerTree } from "./mod.ts";
import type { PassThrough } from "./passthrough.ts";

interface FakeFile {
  content: string;
  mode?: number;
  uid?: number;
  gid?: number;
  symlink?: boolean;
}

export interface FakeHost extends Host {
  files: Map<string, FakeFile>;
  writes: Array<[string, string]>;
  up: { up: number; idle: number };
}

/** Files by absolute path; directories are implied by the paths. */
export function fakeHost(files: Record<string, string | FakeFile>): FakeHost {
  const map = new Map(Object.entries(files).map(([p, f]) => [p, typeof f === "string" ? { content: f } : f]));
  const isDir = (path: string) => [...map.keys()].some((p) => p.startsWith(`${path}/`));
  const host: FakeHost = {
    files: map,
    writes: [],
    up: { up: 1000, idle: 1500 },
    readFile(path) {
      const f = map.get(path);
      if (!f) throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: "ENOENT" });
      return f.content;
    },
    readBytes: (path) => new TextEncoder().encode(host.readFile(path)),
    writeFile(path, data) {
      const f = map.get(path);
      if (!f) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      host.writes.push([path, data]);
      f.content = `${data}\n`;
    },
    stat(path): HostStat | undefined {
      const f = map.get(path);
      if (f) return { kind: "file", mode: f.mode ?? 0o644, uid: f.uid ?? 0, gid: f.gid ?? 0, ...(f.symlink ? { symlink: true } : {}) };
      return isDir(path) ? { kind: "dir", mode: 0o555, uid: 0, gid: 0 } : undefined;
    },
    list(path) {
      const names = new Map<string, "dir" | "file">();
      for (const p of map.keys()) {
        if (!p.startsWith(`${path}/`)) continue;
        const rest = p.slice(path.length + 1).split("/");
        names.set(rest[0]!, rest.length > 1 ? "dir" : "file");
      }
      return [...names].map(([name, kind]) => ({ name, kind }));
    },
    uptime: () => host.up,
    processStart: () => 900,
  };
  return host;
}

export interface FakePassThrough extends PassThrough {
  calls: string[];
  /** Per-pid namespaced files; a pid not in here is "gone" (ESRCH). */
  views: Map<number, Map<string, string>>;
}

export function fakePassThrough(views: Record<number, Record<string, string>>): FakePassThrough {
  const m = new Map(Object.entries(views).map(([pid, files]) => [Number(pid), new Map(Object.entries(files))]));
  const view = (pid: number) => {
    const v = m.get(pid);
    if (!v) throw new FuseError(3, `process ${pid} is gone`);
    return v;
  };
  const pt: FakePassThrough = {
    calls: [],
    views: m,
    async read(pid, path) {
      pt.calls.push(`read ${pid} ${path}`);
      const c = view(pid).get(path);
      if (c === undefined) throw new FuseError(2);
      return c;
    },
    async write(pid, path, data) {
      pt.calls.push(`write ${pid} ${path} ${new TextDecoder().decode(data).trim()}`);
      const v = view(pid);
      if (!v.has(path)) throw new FuseError(2);
      v.set(path, new TextDecoder().decode(data));
    },
    async list(pid, dir) {
      pt.calls.push(`list ${pid} ${dir}`);
      const names = new Map<string, "dir" | "file">();
      for (const p of view(pid).keys()) {
        if (!p.startsWith(`${dir}/`)) continue;
        const rest = p.slice(dir.length + 1).split("/");
        names.set(rest[0]!, rest.length > 1 ? "dir" : "file");
      }
      return [...names].map(([name, kind]) => ({ name, kind, mode: kind === "dir" ? 0o555 : 0o644 }));
    },
    async stat(pid, path) {
      pt.calls.push(`stat ${pid} ${path}`);
      const v = view(pid);
      if (v.has(path)) return { kind: "file", mode: 0o644 };
      return [...v.keys()].some((p) => p.startsWith(`${path}/`)) ? { kind: "dir", mode: 0o555 } : undefined;
    },
  };
  return pt;
}

export const INFO: ContainerInfo = {
  id: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  initPid: 4000,
  startBoot: 900,
  uidFirst: 165536,
  uidSize: 65536,
  gidFirst: 165536,
  gidSize: 65536,
};

export function emulation(host: Host, passThrough: PassThrough, info: Partial<ContainerInfo> = {}, state?: ContainerState) {
  let changes = 0;
  const em: Emulation = {
    info: { ...INFO, ...info },
    state: state ?? { sysctls: {} },
    changed: () => void changes++,
    host,
    passThrough,
    sysfsPassThrough: passThrough,
  };
  return { em, changes: () => changes };
}

export function ctx(pid = 4000): RequestContext {
  return { unique: 1n, nodeid: 1, uid: 0, gid: 0, pid, signal: new AbortController().signal };
}

/** The container's tree in a TreeFs, with helpers that go through it by path. */
export function served(em: Emulation) {
  const fs = new TreeFs(containerTree(em));
  const node = async (path: string, pid = 4000) => {
    const n = await fs.resolve(ctx(pid), path);
    if (!n) throw new Error(`no ${path}`);
    return n;
  };
  return {
    fs,
    node,
    exists: async (path: string, pid = 4000) => (await fs.resolve(ctx(pid), path)) !== undefined,
    async read(path: string, pid = 4000): Promise<string> {
      const n = await node(path, pid);
      if (n.spec.kind !== "file") throw new Error(`${path} is a dir`);
      const c = await n.spec.read(ctx(pid));
      return typeof c === "string" ? c : new TextDecoder().decode(c);
    },
    async write(path: string, text: string, pid = 4000, offset = 0): Promise<void> {
      const n = await node(path, pid);
      if (n.spec.kind !== "file" || !n.spec.write) throw new FuseError(13);
      await n.spec.write(ctx(pid), new TextEncoder().encode(text), offset);
    },
    async list(path: string, pid = 4000): Promise<string[]> {
      const n = await node(path, pid);
      const entries = await fs.readdir(ctx(pid), n.id, 999, 0);
      return entries.map((e) => e.name).filter((x) => x !== "." && x !== "..").sort();
    },
    attr: async (path: string) => fs.attrOf(await node(path)),
  };
}

/** The FuseError errno `fn` throws, or undefined if it returns. */
export function errnoOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof FuseError) return e.errno;
    throw e;
  }
  return undefined;
}

/** The FuseError errno `p` rejects with, or undefined if it resolves. */
export async function errnoOfAsync(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FuseError) return e.errno;
    throw e;
  }
  return undefined;
}
