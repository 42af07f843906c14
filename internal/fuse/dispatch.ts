/**
 * Table-driven request dispatch: OPCODES maps each opcode we serve to its
 * decoder and a short handler that calls the FileSystem and encodes the
 * reply. An opcode not in the table is answered ENOSYS (the kernel then stops
 * sending it). `dispatch` is pure apart from the FileSystem it calls, so it
 * is tested without a kernel.
 *
 * Debug lines look like `rx 12: LOOKUP n1 "foo"` and `tx 12: OK` / `tx 12: ENOENT`.
 */
import type { Logger } from "../log/mod.ts";
import {
  AccessIn, decodeBatchForget, decodeInitIn, decodeName, decodeRequest, decodeWriteIn,
  encodeAttrOut, encodeDirents, encodeEntryOut, encodeErrorReply, encodeInitOut, encodeReply, FlushIn,
  ForgetIn, GetattrIn, GetxattrIn, GetxattrOut, InterruptIn, Kstatfs, OpenIn, OpenOut, ReadIn, ReleaseIn,
  SetattrIn, WriteOut, type ForgetItem, type InitRequest, type WriteRequest,
} from "./codec.ts";
import { ERRNO, errnoName, FuseError, toErrno } from "./errors.ts";
import type { FileSystem, RequestContext } from "./fs.ts";
import {
  formatInitFlags, formatSetattrValid, FUSE_KERNEL_MINOR_VERSION, FUSE_KERNEL_VERSION,
  FUSE_MIN_MINOR_VERSION, OP, opName, WANTED_INIT_FLAGS,
} from "./proto.ts";


/** What INIT settled; kept so a restarted server can resume the same connection. */
export interface Negotiated {
  major: number;
  minor: number;
  /** Capabilities both sides use. */
  flags: bigint;
  /** Everything the kernel offered (FUSE_HAS_RESEND lives here). */
  kernelFlags: bigint;
  maxWrite: number;
  maxReadahead: number;
}

export interface ConnectionOptions {
  /** Largest WRITE payload; the read buffer must hold it plus 80 bytes. Default 16 KiB. */
  maxWrite?: number;
  log?: Logger;
  /** Log every request and reply (`rx`/`tx` lines) at debug level; default false (they cost time per request). */
  trace?: boolean;
  /** Set when resuming a connection whose INIT an earlier process answered. */
  negotiated?: Negotiated;
}

export const DEFAULT_MAX_WRITE = 16 * 1024;

/** Per-connection protocol state: INIT outcome, requests in flight, shutdown. */
export class Connection {
  readonly fs: FileSystem;
  readonly log: Logger | undefined;
  /** The logger for per-request lines, when tracing. */
  readonly trace: Logger | undefined;
  readonly maxWrite: number;
  negotiated: Negotiated | undefined;
  /** DESTROY arrived: no more requests will come. */
  destroyed = false;
  readonly inflight = new Map<bigint, AbortController>();
  /** toErrno's once-per-message memory, per connection. */
  readonly seenErrors = new Set<string>();
  /** Called when INIT has been negotiated (before its reply is written). */
  onInit: ((n: Negotiated) => void) | undefined;

  constructor(fs: FileSystem, opts: ConnectionOptions = {}) {
    this.fs = fs;
    this.log = opts.log;
    this.trace = opts.trace ? opts.log : undefined;
    this.maxWrite = opts.maxWrite ?? DEFAULT_MAX_WRITE;
    if (this.maxWrite < 4096) throw new RangeError(`maxWrite must be at least 4096, got ${this.maxWrite}`);
    this.negotiated = opts.negotiated;
  }
}

/** A reply body (its parts are concatenated after the header), or nothing for noReply ops. */
type Body = Uint8Array[];

export interface OpSpec<A> {
  name: string;
  decode(body: Uint8Array): A;
  handler(c: Connection, ctx: RequestContext, args: A): Body | Promise<Body>;
  /** FORGET and friends: the kernel expects no answer. */
  noReply?: boolean;
  /** The arguments for the debug line. */
  show?(args: A): string;
}

const none = (): null => null;

/** `f(v)`, after `v` settles when it is a promise: synchronous handlers stay synchronous. */
function then<T>(v: T | Promise<T>, f: (v: T) => Body): Body | Promise<Body> {
  return v instanceof Promise ? v.then(f) : f(v);
}
const ok = (): Body => [];
const q = (s: string) => JSON.stringify(s);

function op<A>(spec: OpSpec<A>): OpSpec<unknown> {
  return spec as OpSpec<unknown>;
}

function init(c: Connection, _ctx: RequestContext, args: InitRequest): Body {
  const ours = { major: FUSE_KERNEL_VERSION, minor: FUSE_KERNEL_MINOR_VERSION };
  // A newer major: answer with ours alone and the kernel retries INIT in our version.
  if (args.major > FUSE_KERNEL_VERSION) return [encodeInitOut({ ...ours, maxReadahead: 0, flags: 0n, maxBackground: 0, congestionThreshold: 0, maxWrite: 0, timeGran: 0, maxPages: 0 })];
  if (args.major < FUSE_KERNEL_VERSION || args.minor < FUSE_MIN_MINOR_VERSION) {
    throw new FuseError(ERRNO.EPROTO, `kernel FUSE protocol ${args.major}.${args.minor} is older than 7.${FUSE_MIN_MINOR_VERSION}`);
  }
  const n: Negotiated = {
    major: FUSE_KERNEL_VERSION,
    minor: Math.min(args.minor, FUSE_KERNEL_MINOR_VERSION),
    flags: args.flags & WANTED_INIT_FLAGS,
    kernelFlags: args.flags,
    maxWrite: c.maxWrite,
    maxReadahead: args.maxReadahead,
  };
  c.negotiated = n;
  c.onInit?.(n);
  c.log?.debug(`INIT: kernel 7.${args.minor} offers ${formatInitFlags(args.flags)}; using 7.${n.minor} with ${formatInitFlags(n.flags)}, max_write ${n.maxWrite}`);
  return [encodeInitOut({ ...n, maxBackground: 64, congestionThreshold: 48, timeGran: 1, maxPages: 0 })];
}

function forgetMany(c: Connection, items: ForgetItem[]): Body {
  for (const it of items) c.fs.forget(it.nodeid, it.nlookup);
  return [];
}

async function readdir(c: Connection, ctx: RequestContext, a: ReturnType<typeof ReadIn.decode>): Promise<Body> {
  const entries = await c.fs.readdir(ctx, ctx.nodeid, a.fh, a.offset);
  return [encodeDirents(entries, a.size).bytes];
}

async function getxattr(c: Connection, ctx: RequestContext, a: { size: number; name: string }): Promise<Body> {
  const value = await c.fs.getxattr(ctx, ctx.nodeid, a.name);
  if (a.size === 0) return [GetxattrOut.encode({ size: value.length })];
  if (value.length > a.size) throw new FuseError(ERRNO.ERANGE);
  return [value];
}

async function listxattr(c: Connection, ctx: RequestContext, a: { size: number }): Promise<Body> {
  const names = await c.fs.listxattr(ctx, ctx.nodeid);
  const bytes = new TextEncoder().encode(names.map((n) => `${n}\0`).join(""));
  if (a.size === 0) return [GetxattrOut.encode({ size: bytes.length })];
  if (bytes.length > a.size) throw new FuseError(ERRNO.ERANGE);
  return [bytes];
}

/** Every opcode we serve. Handlers stay a few lines; policy lives in the FileSystem. */
export const OPCODES: Record<number, OpSpec<unknown>> = {
  [OP.INIT]: op({ name: "INIT", decode: decodeInitIn, handler: init, show: (a) => `7.${a.minor}` }),
  [OP.DESTROY]: op({ name: "DESTROY", decode: none, handler: (c) => ((c.destroyed = true), ok()) }),
  [OP.LOOKUP]: op({
    name: "LOOKUP", decode: decodeName, show: q,
    handler: (c, ctx, name) => then(c.fs.lookup(ctx, ctx.nodeid, name), (e) => [encodeEntryOut(e)]),
  }),
  [OP.FORGET]: op({
    name: "FORGET", decode: ForgetIn.decode, noReply: true, show: (a) => `x${a.nlookup}`,
    handler: (c, ctx, a) => forgetMany(c, [{ nodeid: ctx.nodeid, nlookup: a.nlookup }]),
  }),
  [OP.BATCH_FORGET]: op({
    name: "BATCH_FORGET", decode: decodeBatchForget, noReply: true, show: (a) => `${a.length} nodes`,
    handler: (c, _ctx, items) => forgetMany(c, items),
  }),
  [OP.GETATTR]: op({
    name: "GETATTR", decode: GetattrIn.decode,
    handler: (c, ctx) => then(c.fs.getattr(ctx, ctx.nodeid), (a) => [encodeAttrOut(a)]),
  }),
  [OP.SETATTR]: op({
    name: "SETATTR", decode: SetattrIn.decode, show: (a) => `${formatSetattrValid(a.valid)} size=${a.size}`,
    handler: async (c, ctx, a) => [encodeAttrOut(await c.fs.setattr(ctx, ctx.nodeid, a))],
  }),
  [OP.OPEN]: op({
    name: "OPEN", decode: OpenIn.decode, show: (a) => `flags=0o${a.flags.toString(8)}`,
    handler: (c, ctx, a) => then(c.fs.open(ctx, ctx.nodeid, a.flags), (o) => [OpenOut.encode(o)]),
  }),
  [OP.OPENDIR]: op({
    name: "OPENDIR", decode: OpenIn.decode,
    handler: async (c, ctx, a) => [OpenOut.encode(await c.fs.opendir(ctx, ctx.nodeid, a.flags))],
  }),
  [OP.READ]: op({
    name: "READ", decode: ReadIn.decode, show: (a) => `fh${a.fh} @${a.offset} +${a.size}`,
    handler: (c, ctx, a) => then(c.fs.read(ctx, ctx.nodeid, a.fh, a.offset, a.size), (b) => [b]),
  }),
  [OP.READDIR]: op({
    name: "READDIR", decode: ReadIn.decode, show: (a) => `fh${a.fh} @${a.offset} +${a.size}`,
    handler: readdir,
  }),
  [OP.WRITE]: op({
    name: "WRITE", decode: decodeWriteIn, show: (a: WriteRequest) => `fh${a.fh} @${a.offset} +${a.size}`,
    handler: async (c, ctx, a) => [WriteOut.encode({ size: await c.fs.write(ctx, ctx.nodeid, a.fh, a.offset, a.data) })],
  }),
  [OP.FLUSH]: op({
    name: "FLUSH", decode: FlushIn.decode, show: (a) => `fh${a.fh}`,
    handler: (c, ctx, a) => then(c.fs.flush(ctx, ctx.nodeid, a.fh), ok),
  }),
  [OP.RELEASE]: op({
    name: "RELEASE", decode: ReleaseIn.decode, show: (a) => `fh${a.fh}`,
    handler: (c, ctx, a) => then(c.fs.release(ctx, ctx.nodeid, a.fh), ok),
  }),
  [OP.RELEASEDIR]: op({
    name: "RELEASEDIR", decode: ReleaseIn.decode, show: (a) => `fh${a.fh}`,
    handler: async (c, ctx, a) => (await c.fs.releasedir(ctx, ctx.nodeid, a.fh), ok()),
  }),
  [OP.STATFS]: op({
    name: "STATFS", decode: none,
    handler: async (c, ctx) => [Kstatfs.encode(await c.fs.statfs(ctx))],
  }),
  [OP.ACCESS]: op({
    name: "ACCESS", decode: AccessIn.decode, show: (a) => `mask=${a.mask}`,
    handler: async (c, ctx, a) => (await c.fs.access(ctx, ctx.nodeid, a.mask), ok()),
  }),
  [OP.GETXATTR]: op({
    name: "GETXATTR", decode: (b) => ({ ...GetxattrIn.decode(b), name: decodeName(b, GetxattrIn.size) }),
    show: (a) => `${q(a.name)} size=${a.size}`,
    handler: getxattr,
  }),
  [OP.LISTXATTR]: op({
    name: "LISTXATTR", decode: GetxattrIn.decode, show: (a) => `size=${a.size}`,
    handler: listxattr,
  }),
  [OP.INTERRUPT]: op({
    name: "INTERRUPT", decode: InterruptIn.decode, noReply: true, show: (a) => `req ${a.unique}`,
    handler: (c, _ctx, a) => (c.inflight.get(a.unique)?.abort(), []),
  }),
};

/**
 * Serves one request: returns the reply to write, or null when the opcode
 * takes none. Never throws for a bad request or a failing handler; those
 * become error replies. A handler that answers synchronously (most do:
 * OPEN, READ of a generated file, RELEASE) gets its reply back
 * synchronously, so the session writes it without a turn of the event loop.
 */
export function dispatch(c: Connection, bytes: Uint8Array): Uint8Array | null | Promise<Uint8Array | null> {
  const { header: h, body } = decodeRequest(bytes);
  const spec = OPCODES[h.opcode];
  const name = spec?.name ?? opName(h.opcode);
  const fail = (errno: number): Uint8Array => {
    c.trace?.debug(`tx ${h.unique}: ${errnoName(errno)}`);
    return encodeErrorReply(h.unique, errno);
  };
  if (!spec) {
    c.trace?.debug(`rx ${h.unique}: ${name} n${h.nodeid} (not implemented)`);
    return fail(ERRNO.ENOSYS);
  }
  let args: unknown;
  try {
    args = spec.decode(body);
  } catch (e) {
    c.log?.warn(`rx ${h.unique}: ${name}: undecodable request: ${(e as Error).message}`);
    return spec.noReply ? null : fail(ERRNO.EINVAL);
  }
  c.trace?.debug(`rx ${h.unique}: ${name} n${h.nodeid}${spec.show ? ` ${spec.show(args)}` : ""}`);
  if (h.opcode !== OP.INIT && !c.negotiated) return fail(ERRNO.EIO);

  // Made only when asked for: most requests are answered before anything could interrupt them.
  let abort: AbortController | undefined;
  const ctx: RequestContext = {
    unique: h.unique, nodeid: h.nodeid, uid: h.uid, gid: h.gid, pid: h.pid,
    get signal() {
      return (abort ??= new AbortController()).signal;
    },
  };
  const done = (parts: Body): Uint8Array | null => {
    if (spec.noReply) return null;
    if (abort?.signal.aborted) return fail(ERRNO.EINTR);
    c.trace?.debug(`tx ${h.unique}: OK`);
    return encodeReply(h.unique, ...parts);
  };
  const failed = (e: unknown): Uint8Array | null => {
    if (spec.noReply) {
      c.log?.warn(`${name} n${h.nodeid}: ${(e as Error).message}`);
      return null;
    }
    return fail(toErrno(e, `${name} n${h.nodeid}`, c.log, c.seenErrors));
  };
  let parts: Body | Promise<Body>;
  try {
    parts = spec.handler(c, ctx, args);
  } catch (e) {
    return failed(e);
  }
  if (!(parts instanceof Promise)) return done(parts);
  // Only a request still waiting can be interrupted.
  if (!spec.noReply) c.inflight.set(h.unique, (abort ??= new AbortController()));
  return parts.then(done, failed).finally(() => c.inflight.delete(h.unique));
}
