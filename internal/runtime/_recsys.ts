/**
 * A recording fake of `Sys` (internal/sys/linux.ts) for the runtime's unit
 * tests: effectful calls are recorded in order, queries are answered from a
 * small in-memory file tree, and a failure can be injected at any call.
 * Other seams (hooks, cgroups, the namespace stage) record into the same log
 * through `recorder.wrap`, so one index counts every step of a sequence.
 */
import { formatFlags, MS, MNT, O } from "../sys/flags.ts";
import { SysError } from "../sys/errno.ts";
import type { Sys } from "../sys/linux.ts";

export interface Call {
  fn: string;
  args: unknown[];
  /** What the call returned (set once it returns). */
  result?: unknown;
}

/** Decides, per recorded call, whether it throws instead (after being recorded). */
export type FailAt = (call: Call, index: number) => Error | undefined;

/** Fails the `n`th recorded call (0-based) with EIO. */
export function failAtIndex(n: number): FailAt {
  return (c, i) => (i === n ? new SysError({ syscall: `${c.fn} (injected)`, errno: 5 }) : undefined);
}

export class Recorder {
  readonly calls: Call[] = [];
  fail: FailAt | undefined;
  constructor(fail?: FailAt) {
    this.fail = fail;
  }
  /** Records a call and throws if it is the one to fail. */
  record(fn: string, args: unknown[]): Call {
    const call: Call = { fn, args };
    const i = this.calls.length;
    this.calls.push(call);
    const e = this.fail?.(call, i);
    if (e) throw e;
    return call;
  }
  /** `fn` wrapped to be recorded under `name` first. */
  wrap<A extends unknown[], R>(name: string, fn: (...args: A) => R): (...args: A) => R {
    return (...args: A) => {
      const call = this.record(name, args);
      const r = fn(...args);
      call.result = r;
      return r;
    };
  }
  /** The calls as readable lines (see formatCall). */
  lines(filter?: (c: Call) => boolean): string[] {
    return this.calls.filter(filter ?? (() => true)).map(formatCall);
  }
}

const show = (x: unknown): string =>
  x === null || x === undefined ? "-" : typeof x === "string" ? x : JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? Number(v) : v));

/** "mount /dev/null /r/proc/kcore - MS_BIND -", "open /x O_RDONLY|O_CLOEXEC => 100", ... */
export function formatCall(c: Call): string {
  const a = c.args;
  switch (c.fn) {
    case "mount":
      return `mount ${show(a[0])} ${show(a[1])} ${show(a[2])} ${formatFlags(MS, a[3] as number, "MS_")} ${show(a[4])}`;
    case "umount2":
      return `umount2 ${show(a[0])} ${formatFlags(MNT, a[1] as number, "MNT_")}`;
    case "open":
      // O_RDONLY is 0: printed only when nothing else is set.
      return `open ${show(a[0])} ${a[1] === 0 ? "O_RDONLY" : formatFlags(O, a[1] as number, "O_")} => ${show(c.result)}`;
    case "mknod":
      return `mknod ${show(a[0])} 0o${(a[1] as number).toString(8)} ${show(String(a[2]))}`;
    case "writeAll":
      return `writeAll ${show(a[0])} (${(a[1] as Uint8Array).length} bytes)`;
    default:
      return [c.fn, ...a.map((x) => (typeof x === "function" ? "fn" : show(x)))].join(" ");
  }
}

/** Calls that only look: answered, never recorded, never failed. */
const QUERIES = new Set(["exists", "isDir", "isDirNoFollow", "readFile"]);

export interface RecSysOptions {
  /** Directories and files that exist (parents of each are directories). */
  dirs?: readonly string[];
  files?: readonly string[];
  /** readFile answers by path (e.g. /proc/self/mountinfo). */
  texts?: Readonly<Record<string, string>>;
  /** read(2): bytes for `fd` into `buf`; 0 (EOF) by default. */
  read?: (fd: number, buf: Uint8Array) => number;
  /** First fd `open` returns; later ones count up. */
  firstFd?: number;
}

export interface RecSys {
  sys: Sys;
  rec: Recorder;
  /** The fake tree: path -> "dir" | "file". */
  tree: Map<string, "dir" | "file">;
  texts: Map<string, string>;
  /** Returns a fresh fd, as open does (for other fakes that hand out fds). */
  nextFd: () => number;
}

const enoent = (syscall: string, path: string) => new SysError({ syscall, path, errno: 2 });

/** A `read` that serves `replies` (sync frames) on `syncFd`, in order, and EOF after them; other fds read 0. */
export function syncReplies(syncFd: number, replies: Uint8Array[]): (fd: number, buf: Uint8Array) => number {
  let inbox = new Uint8Array(replies.reduce((n, r) => n + r.length, 0));
  let off = 0;
  for (const r of replies) { inbox.set(r, off); off += r.length; }
  return (fd, buf) => {
    if (fd !== syncFd) return 0;
    const n = Math.min(buf.length, inbox.length);
    buf.set(inbox.subarray(0, n));
    inbox = inbox.subarray(n);
    return n;
  };
}

export function recordingSys(opts: RecSysOptions = {}, rec: Recorder = new Recorder()): RecSys {
  const tree = new Map<string, "dir" | "file">([["/", "dir"]]);
  const texts = new Map(Object.entries(opts.texts ?? {}));
  const mkdirs = (p: string) => {
    for (let d = p; d !== "/" && d !== "" && d !== "."; d = d.slice(0, d.lastIndexOf("/")) || "/") {
      if (!tree.has(d)) tree.set(d, "dir");
    }
  };
  const parentOf = (p: string) => p.slice(0, p.lastIndexOf("/")) || "/";
  const addFile = (p: string) => { mkdirs(parentOf(p)); tree.set(p, "file"); };
  for (const d of opts.dirs ?? []) mkdirs(d);
  for (const f of opts.files ?? []) addFile(f);
  let fd = opts.firstFd ?? 100;
  const nextFd = () => fd++;

  const impl: { [K in keyof Sys]: (...args: never[]) => unknown } = {
    mount: () => {}, umount2: () => {}, pivotRoot: () => {},
    open: () => nextFd(), close: () => {}, read: (f: number, buf: Uint8Array) => opts.read?.(f, buf) ?? 0, writeAll: () => {},
    mknod: (p: string) => addFile(p), chown: () => {}, chmod: () => {}, mkfifo: (p: string) => addFile(p),
    chdir: () => {}, fchdir: () => {}, chroot: () => {}, setCloexec: () => {}, dup3: (_o: number, n: number) => n,
    umask: () => 0o22, closeRange: () => {}, flock: () => {},
    kill: () => {}, waitpid: (pid: number) => ({ pid, status: 0 }), execve: () => { throw new Error("execve: not in a fake"); },
    prlimit: () => ({ soft: 0n, hard: 0n }), prctl: () => 0, setresuid: () => {}, setresgid: () => {}, setgroups: () => {},
    setKeepCaps: () => {}, setNoNewPrivs: () => {}, setsid: () => 1, sethostname: () => {}, setdomainname: () => {},
    applyCapabilities: () => [], unshare: () => {}, setns: () => {},
    exists: (p: string) => tree.has(p),
    isDir: (p: string) => tree.get(p) === "dir",
    isDirNoFollow: (p: string) => {
      const t = tree.get(p);
      if (t === undefined) throw enoent("lstat", p);
      return t === "dir";
    },
    readFile: (p: string) => {
      const t = texts.get(p);
      if (t === undefined) throw enoent("open", p);
      return t;
    },
    writeFile: (p: string, data: string) => { addFile(p); texts.set(p, data); },
    mkdirAll: (p: string) => mkdirs(p),
    symlink: (_t: string, p: string) => addFile(p),
    rm: (p: string) => { tree.delete(p); },
  };
  const sys = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(impl)) {
    sys[name] = QUERIES.has(name) ? fn : rec.wrap(name, fn as (...a: unknown[]) => unknown);
  }
  return { sys: sys as unknown as Sys, rec, tree, texts, nextFd };
}
