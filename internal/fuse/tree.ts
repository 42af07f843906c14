/**
 * A FileSystem over an in-memory tree of directories and generated files,
 * the shape sysbox-fs serves: `dir({proc: dir({uptime: file(read)})})`.
 *
 * - A file's content comes from `read(ctx)` when a reader starts at offset 0
 *   and is kept per open file, so a read in several chunks sees one snapshot
 *   (as LXCFS does). Files are direct-I/O: every read(2) reaches us, and the
 *   reported size (0 like procfs, or 4096 like sysfs) does not cut it short.
 * - `write(ctx, data, offset)` receives each WRITE as it comes.
 * - Directories list static `children` and may add entries at lookup/list
 *   time (`lookup`, `list`) for trees mirrored from elsewhere.
 * - Node ids are a hash of the path, so a restarted server hands out the
 *   same ids the kernel still caches for the same paths.
 */
import type { AttrOut, AttrValue, Dirent, EntryOut } from "./codec.ts";
import { ERRNO, FuseError } from "./errors.ts";
import type { FileSystem, OpenReply, RequestContext, SetattrRequest, Statfs } from "./fs.ts";
import { ACCESS, dtypeOf, FATTR, FOPEN, FUSE_ROOT_ID, S_IFDIR, S_IFREG } from "./proto.ts";

export type Content = string | Uint8Array;

interface Common {
  /** Permission bits; defaults 0o555 for dirs, 0o644 for writable files, 0o444 otherwise. */
  mode?: number;
  /** Owner; defaults to the tree's owner. */
  uid?: number;
  gid?: number;
}

export interface FileSpec extends Common {
  kind: "file";
  /** st_size to report: 0 (default, like procfs) or 4096 (like sysfs). */
  size?: number;
  read(ctx: RequestContext): Content | Promise<Content>;
  write?(ctx: RequestContext, data: Uint8Array, offset: number): void | Promise<void>;
}

export interface DirSpec extends Common {
  kind: "dir";
  children?: Record<string, NodeSpec>;
  /** A child not in `children`, or undefined. */
  lookup?(ctx: RequestContext, name: string): NodeSpec | undefined | Promise<NodeSpec | undefined>;
  /** Entries beyond `children` (a static child of the same name wins). */
  list?(ctx: RequestContext): Iterable<readonly [string, NodeSpec]> | Promise<Iterable<readonly [string, NodeSpec]>>;
}

export type NodeSpec = FileSpec | DirSpec;

export function file(read: FileSpec["read"], opts: Omit<FileSpec, "kind" | "read"> = {}): FileSpec {
  return { kind: "file", read, ...opts };
}

export function dir(children: Record<string, NodeSpec> = {}, opts: Omit<DirSpec, "kind" | "children"> = {}): DirSpec {
  return { kind: "dir", children, ...opts };
}

export interface TreeOptions {
  /** Owner of nodes that name none; default root (0:0). */
  owner?: { uid: number; gid: number };
  /** How long the kernel may cache names and attributes; default 1000 ms each. */
  entryTimeoutMs?: number;
  attrTimeoutMs?: number;
  /** a/m/ctime of every node, in seconds since the epoch; default: now. */
  time?: number;
}

/** A node the tree has handed out (or will: static nodes exist from the start). */
export interface TreeNode {
  id: number;
  path: string;
  name: string;
  parent: TreeNode | undefined;
  spec: NodeSpec;
  /** Kernel references (LOOKUP replies minus FORGETs). */
  nlookup: number;
  /** From `lookup`/`list` rather than static `children`: dropped when forgotten. */
  dynamic: boolean;
}

interface FileHandle {
  node: TreeNode;
  content?: Uint8Array;
}

interface DirHandle {
  node: TreeNode;
  entries?: Dirent[];
}

const enc = new TextEncoder();

/** 52 bits of FNV-1a over the path (two 32-bit lanes): a stable id that fits a JS number. */
export function pathId(path: string): number {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193 ^ 0x5bd1e995) >>> 0;
  }
  const id = (a & 0xfffff) * 0x1_0000_0000 + b;
  return id <= FUSE_ROOT_ID ? id + 2 : id;
}

function split(ms: number): [number, number] {
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}

export class TreeFs implements FileSystem {
  readonly #nodes = new Map<number, TreeNode>();
  readonly #byPath = new Map<string, TreeNode>();
  readonly #files = new Map<number, FileHandle>();
  readonly #dirs = new Map<number, DirHandle>();
  #nextFh = 1;
  readonly #owner: { uid: number; gid: number };
  readonly #entry: [number, number];
  readonly #attr: [number, number];
  readonly #time: number;
  readonly root: TreeNode;

  constructor(root: DirSpec, opts: TreeOptions = {}) {
    this.#owner = opts.owner ?? { uid: 0, gid: 0 };
    this.#entry = split(opts.entryTimeoutMs ?? 1000);
    this.#attr = split(opts.attrTimeoutMs ?? 1000);
    this.#time = opts.time ?? Math.floor(Date.now() / 1000);
    this.root = { id: FUSE_ROOT_ID, path: "", name: "", parent: undefined, spec: root, nlookup: 1, dynamic: false };
    this.#nodes.set(FUSE_ROOT_ID, this.root);
    this.#byPath.set("", this.root);
    this.#registerStatic(this.root);
  }

  /** Number of nodes currently known (static ones plus looked-up dynamic ones). */
  get size(): number {
    return this.#nodes.size;
  }

  #registerStatic(parent: TreeNode): void {
    if (parent.spec.kind !== "dir") return;
    for (const [name, spec] of Object.entries(parent.spec.children ?? {})) {
      this.#registerStatic(this.#intern(parent, name, spec, false));
    }
  }

  /** Finds or creates the node for parent/name, refreshing its spec. */
  #intern(parent: TreeNode, name: string, spec: NodeSpec, dynamic: boolean): TreeNode {
    const path = `${parent.path}/${name}`;
    const known = this.#byPath.get(path);
    if (known) {
      known.spec = spec;
      return known;
    }
    let id = pathId(path);
    while (this.#nodes.has(id)) id++;
    const node: TreeNode = { id, path, name, parent, spec, nlookup: 0, dynamic };
    this.#nodes.set(id, node);
    this.#byPath.set(path, node);
    return node;
  }

  #node(id: number): TreeNode {
    const n = this.#nodes.get(id);
    if (!n) throw new FuseError(ERRNO.ESTALE, `unknown node ${id}`);
    return n;
  }

  #dirSpec(n: TreeNode): DirSpec {
    if (n.spec.kind !== "dir") throw new FuseError(ERRNO.ENOTDIR);
    return n.spec;
  }

  #fileSpec(n: TreeNode): FileSpec {
    if (n.spec.kind !== "file") throw new FuseError(ERRNO.EISDIR);
    return n.spec;
  }

  attrOf(n: TreeNode): Partial<AttrValue> {
    const s = n.spec;
    const isDir = s.kind === "dir";
    const perm = s.mode ?? (isDir ? 0o555 : s.write ? 0o644 : 0o444);
    return {
      ino: n.id,
      size: s.kind === "file" ? (s.size ?? 0) : 0,
      blocks: 0,
      atime: this.#time,
      mtime: this.#time,
      ctime: this.#time,
      mode: (isDir ? S_IFDIR : S_IFREG) | (perm & 0o7777),
      nlink: isDir ? 2 : 1,
      uid: s.uid ?? this.#owner.uid,
      gid: s.gid ?? this.#owner.gid,
      blksize: 4096,
    };
  }

  #attrOut(n: TreeNode): AttrOut {
    return { attrValid: this.#attr[0], attrValidNsec: this.#attr[1], attr: this.attrOf(n) };
  }

  async #child(ctx: RequestContext, parent: TreeNode, name: string): Promise<TreeNode | undefined> {
    const d = this.#dirSpec(parent);
    const fixed = d.children?.[name];
    if (fixed) return this.#byPath.get(`${parent.path}/${name}`) ?? this.#intern(parent, name, fixed, false);
    if (!d.lookup) return undefined;
    const spec = await d.lookup(ctx, name);
    return spec ? this.#intern(parent, name, spec, true) : undefined;
  }

  /** The node at a slash-separated path below the root, for tests and callers outside FUSE. */
  async resolve(ctx: RequestContext, path: string): Promise<TreeNode | undefined> {
    let n: TreeNode | undefined = this.root;
    for (const part of path.split("/").filter(Boolean)) {
      if (!n || n.spec.kind !== "dir") return undefined;
      n = await this.#child(ctx, n, part);
    }
    return n;
  }

  async lookup(ctx: RequestContext, parent: number, name: string): Promise<EntryOut> {
    if (name.length > 255) throw new FuseError(ERRNO.ENAMETOOLONG);
    const child = await this.#child(ctx, this.#node(parent), name);
    if (!child) throw new FuseError(ERRNO.ENOENT);
    child.nlookup++;
    return {
      nodeid: child.id,
      generation: 0,
      entryValid: this.#entry[0],
      entryValidNsec: this.#entry[1],
      attrValid: this.#attr[0],
      attrValidNsec: this.#attr[1],
      attr: this.attrOf(child),
    };
  }

  forget(nodeid: number, nlookup: number): void {
    const n = this.#nodes.get(nodeid);
    if (!n || n.id === FUSE_ROOT_ID) return;
    n.nlookup = Math.max(0, n.nlookup - nlookup);
    if (n.nlookup === 0 && n.dynamic) {
      this.#nodes.delete(n.id);
      this.#byPath.delete(n.path);
    }
  }

  getattr(_ctx: RequestContext, nodeid: number): AttrOut {
    return this.#attrOut(this.#node(nodeid));
  }

  setattr(_ctx: RequestContext, nodeid: number, req: SetattrRequest): AttrOut {
    const n = this.#node(nodeid);
    if (req.valid & (FATTR.MODE | FATTR.UID | FATTR.GID)) throw new FuseError(ERRNO.EPERM);
    // Truncation (O_TRUNC, `echo x > file`) is a no-op for generated content, as in procfs.
    if (req.valid & FATTR.SIZE && !(n.spec.kind === "file" && n.spec.write)) throw new FuseError(ERRNO.EACCES);
    return this.#attrOut(n);
  }

  open(_ctx: RequestContext, nodeid: number, flags: number): OpenReply {
    const n = this.#node(nodeid);
    const spec = this.#fileSpec(n);
    const wantsWrite = (flags & 3) !== 0;
    if (wantsWrite && !spec.write) throw new FuseError(ERRNO.EACCES);
    const fh = this.#nextFh++;
    this.#files.set(fh, { node: n });
    // NOFLUSH: close(2) need not wait for a FLUSH round trip; writes are applied as they come.
    return { fh, openFlags: FOPEN.DIRECT_IO | FOPEN.NOFLUSH };
  }

  /** An open from before a restart: the kernel still has the fh, we no longer do. */
  #fileHandle(nodeid: number, fh: number): FileHandle {
    const h = this.#files.get(fh);
    if (h && h.node.id === nodeid) return h;
    const fresh = { node: this.#node(nodeid) };
    this.#files.set(fh, fresh);
    return fresh;
  }

  /** Synchronous when the file's `read` is: most generated files need no turn of the event loop. */
  read(ctx: RequestContext, nodeid: number, fh: number, offset: number, size: number): Uint8Array | Promise<Uint8Array> {
    const h = this.#fileHandle(nodeid, fh);
    const slice = (content: Uint8Array) => content.subarray(Math.min(offset, content.length), Math.min(offset + size, content.length));
    if (offset !== 0 && h.content !== undefined) return slice(h.content);
    let c: Content | Promise<Content>;
    try {
      c = this.#fileSpec(h.node).read(ctx);
    } catch (e) {
      return Promise.reject(e);
    }
    const keep = (got: Content) => slice((h.content = typeof got === "string" ? enc.encode(got) : got));
    return c instanceof Promise ? c.then(keep) : keep(c);
  }

  async write(ctx: RequestContext, nodeid: number, fh: number, offset: number, data: Uint8Array): Promise<number> {
    const h = this.#fileHandle(nodeid, fh);
    const spec = this.#fileSpec(h.node);
    if (!spec.write) throw new FuseError(ERRNO.EACCES);
    await spec.write(ctx, data, offset);
    h.content = undefined;
    return data.length;
  }

  flush(): void {}

  release(_ctx: RequestContext, _nodeid: number, fh: number): void {
    this.#files.delete(fh);
  }

  opendir(_ctx: RequestContext, nodeid: number): OpenReply {
    const n = this.#node(nodeid);
    this.#dirSpec(n);
    const fh = this.#nextFh++;
    this.#dirs.set(fh, { node: n });
    return { fh, openFlags: 0 };
  }

  async #list(ctx: RequestContext, n: TreeNode): Promise<Dirent[]> {
    const d = this.#dirSpec(n);
    const names = new Map<string, NodeSpec>();
    for (const [name, spec] of Object.entries(d.children ?? {})) names.set(name, spec);
    if (d.list) for (const [name, spec] of await d.list(ctx)) if (!names.has(name)) names.set(name, spec);
    const out: Dirent[] = [
      { ino: n.id, off: 1, type: dtypeOf(S_IFDIR), name: "." },
      { ino: n.parent?.id ?? n.id, off: 2, type: dtypeOf(S_IFDIR), name: ".." },
    ];
    for (const [name, spec] of names) {
      const path = `${n.path}/${name}`;
      out.push({
        ino: this.#byPath.get(path)?.id ?? pathId(path),
        off: out.length + 1,
        type: dtypeOf(spec.kind === "dir" ? S_IFDIR : S_IFREG),
        name,
      });
    }
    return out;
  }

  async readdir(ctx: RequestContext, nodeid: number, fh: number, offset: number): Promise<Dirent[]> {
    let h = this.#dirs.get(fh);
    if (!h || h.node.id !== nodeid) {
      h = { node: this.#node(nodeid) };
      this.#dirs.set(fh, h);
    }
    if (offset === 0 || h.entries === undefined) h.entries = await this.#list(ctx, h.node);
    return h.entries.slice(offset);
  }

  releasedir(_ctx: RequestContext, _nodeid: number, fh: number): void {
    this.#dirs.delete(fh);
  }

  statfs(): Statfs {
    return { blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, bsize: 4096, namelen: 255, frsize: 4096 };
  }

  access(_ctx: RequestContext, nodeid: number, mask: number): void {
    const n = this.#node(nodeid);
    if (mask & ACCESS.W_OK && n.spec.kind === "file" && !n.spec.write) throw new FuseError(ERRNO.EACCES);
  }

  getxattr(_ctx: RequestContext, nodeid: number): Uint8Array {
    this.#node(nodeid);
    throw new FuseError(ERRNO.ENODATA);
  }

  listxattr(_ctx: RequestContext, nodeid: number): string[] {
    this.#node(nodeid);
    return [];
  }

  /** Open handles, for tests and leak checks. */
  get openHandles(): number {
    return this.#files.size + this.#dirs.size;
  }
}
