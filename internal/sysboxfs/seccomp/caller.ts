/**
 * The real CallerIo: a trapped process's path argument (process_vm_readv),
 * and its view of the mounts from /proc/TID/{mountinfo,root,cwd,fd,ns/mnt}.
 * Every read targets the calling thread (the notification's pid is a tid),
 * whose root and cwd may differ from its process's. Nothing here opens a
 * file inside the container except readlink(2) of the paths intercept/resolve.ts
 * chooses to look up.
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { SysError } from "../../sys/errno.ts";
import { tryReadlink } from "../../sys/fs.ts";
import { POLL, encodePollfds, poll, pollRevents, readProcessString } from "../../sys/seccomp_notify.ts";
import { MountView, type CallerIo, type CallerView, type ContainerMounts } from "../../intercept/mod.ts";

/** A namespace's identity, the target of a /proc/PID/ns/* link ("mnt:[4026532000]"). */
export function namespaceId(path: string): string {
  return mustReadlink(path);
}

/**
 * A kernel-made path of the caller's (cwd, an fd's target), as seen from
 * here, turned into a path in the caller's root; null when it lies outside
 * that root or names no file (a socket, a deleted directory).
 */
export function inRoot(rootLink: string, link: string): string | null {
  if (!link.startsWith("/") || link.endsWith(" (deleted)")) return null;
  if (rootLink === "/") return link;
  if (link === rootLink) return "/";
  return link.startsWith(`${rootLink}/`) ? link.slice(rootLink.length) : null;
}

function mustReadlink(path: string): string {
  const link = tryReadlink(path);
  // The thread exited (or never existed): ESRCH, as process_vm_readv would say.
  if (link === null) throw new SysError({ syscall: "readlink", path, errno: 3 });
  return link;
}

/**
 * Parsed mountinfo per (mount namespace, root), kept with an open fd of the
 * mountinfo file it came from. proc(5): that fd polls POLLPRI once the
 * namespace's mount table changes, so a cached table is re-read only then;
 * reading and parsing cost ~100 us, the poll ~1 us. The fd holds the
 * namespace and root it was opened with, not the process.
 */
export class MountTables {
  readonly #tables = new Map<string, { fd: number; view: MountView }>();
  readonly #max: number;
  readonly #buf = new Uint8Array(1 << 16);
  readonly #decoder = new TextDecoder();

  constructor(max = 256) {
    this.#max = max;
  }

  get(pid: number, mountNs: string, rootLink: string): MountView {
    const key = `${mountNs} ${rootLink}`;
    const hit = this.#tables.get(key);
    if (hit) {
      const pfd = encodePollfds([{ fd: hit.fd, events: POLL.PRI }]);
      if (poll(pfd, 0) === 0 || (pollRevents(pfd, 0) & (POLL.PRI | POLL.ERR)) === 0) {
        // Most recently used goes last, so eviction takes the oldest.
        this.#tables.delete(key);
        this.#tables.set(key, hit);
        return hit.view;
      }
      hit.view = MountView.parse(this.#read(hit.fd));
      return hit.view;
    }
    const fd = openSync(`/proc/${pid}/mountinfo`, "r");
    let view: MountView;
    try {
      // Opening primes the change event; a poll right away reports nothing.
      poll(encodePollfds([{ fd, events: POLL.PRI }]), 0);
      view = MountView.parse(this.#read(fd));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    if (this.#tables.size >= this.#max) {
      const [oldKey, old] = this.#tables.entries().next().value!;
      closeSync(old.fd);
      this.#tables.delete(oldKey);
    }
    this.#tables.set(key, { fd, view });
    return view;
  }

  /** Closes every cached fd. */
  clear(): void {
    for (const t of this.#tables.values()) closeSync(t.fd);
    this.#tables.clear();
  }

  /** The whole file from offset 0 (a seq file restarts there). */
  #read(fd: number): string {
    let buf = this.#buf;
    let off = 0;
    for (;;) {
      if (off === buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return this.#decoder.decode(buf.subarray(0, off));
  }
}

/** The real CallerIo, caching mount tables in `tables`. */
export function procCallerIo(tables: MountTables = new MountTables()): CallerIo {
  return {
    readString: (pid, addr) => readProcessString(pid, addr),
    caller: (pid, container) => callerView(pid, container, tables),
    hasCap: (pid, cap) => hasCap(pid, cap),
  };
}

/** Whether thread `tid` holds capability `cap` in its effective set (proc(5) CapEff). */
export function hasCap(tid: number, cap: number): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${tid}/status`, "utf8"));
  return m !== null && ((BigInt(`0x${m[1]}`) >> BigInt(cap)) & 1n) === 1n;
}

function callerView(pid: number, container: ContainerMounts, tables: MountTables): CallerView {
  const proc = `/proc/${pid}`;
  const mountNs = namespaceId(`${proc}/ns/mnt`);
  const rootLink = mustReadlink(`${proc}/root`);
  const view = tables.get(pid, mountNs, rootLink);
  const cwd = inRoot(rootLink, mustReadlink(`${proc}/cwd`));
  // After chroot into a plain directory the root's mount is not listed;
  // its children still name it as their parent.
  const hiddenRootId = view.root ? undefined : view.entries.find((e) => !view.byId(e.parentId))?.parentId;
  const sameNs = mountNs === container.mountNs;
  return {
    view,
    mountNs,
    cwd,
    readlink: (path) => tryReadlink(`${proc}/root${path}`),
    fdPath(fd) {
      const link = tryReadlink(`${proc}/fd/${fd}`);
      return link === null ? null : inRoot(rootLink, link);
    },
    ...(hiddenRootId !== undefined ? { hiddenRootId } : {}),
    // Mount ids are unique system-wide, so the init's table can name the
    // hidden root's type, as long as the caller shares the init's mount ns.
    fsTypeOf: (id) => (sameNs ? container.initial.find((i) => i.id === id)?.fsType : undefined),
  };
}
