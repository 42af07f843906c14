/**
 * The operations a FUSE session asks of a filesystem, by node id. dispatch.ts
 * decodes a request and calls one of these; tree.ts implements them over an
 * in-memory tree. Every method may return a promise, and may throw a
 * FuseError to answer with an errno.
 */
import type { AttrValue, Dirent, EntryOut, AttrOut, KstatfsValue } from "./codec.ts";

/** Who is asking, from the request header. */
export interface RequestContext {
  /** Kernel request id, for logs. */
  readonly unique: bigint;
  readonly nodeid: number;
  /** The caller's ids and pid as the mounter's namespaces see them (the host's, for sysbox-fs). */
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
  /** Aborted when the kernel sends INTERRUPT for this request. */
  readonly signal: AbortSignal;
}

export interface OpenReply {
  fh: number;
  /** FOPEN_* bits. */
  openFlags: number;
}

export interface SetattrRequest {
  /** FATTR_* bits naming the fields to apply. */
  valid: number;
  fh: number;
  size: number;
  mode: number;
  uid: number;
  gid: number;
}

export type Statfs = KstatfsValue;

export interface FileSystem {
  lookup(ctx: RequestContext, parent: number, name: string): EntryOut | Promise<EntryOut>;
  /** The kernel dropped `nlookup` references to `nodeid`; no reply. */
  forget(nodeid: number, nlookup: number): void;
  getattr(ctx: RequestContext, nodeid: number): AttrOut | Promise<AttrOut>;
  setattr(ctx: RequestContext, nodeid: number, req: SetattrRequest): AttrOut | Promise<AttrOut>;
  open(ctx: RequestContext, nodeid: number, flags: number): OpenReply | Promise<OpenReply>;
  read(ctx: RequestContext, nodeid: number, fh: number, offset: number, size: number): Uint8Array | Promise<Uint8Array>;
  /** Returns how many bytes were taken. */
  write(ctx: RequestContext, nodeid: number, fh: number, offset: number, data: Uint8Array): number | Promise<number>;
  flush(ctx: RequestContext, nodeid: number, fh: number): void | Promise<void>;
  release(ctx: RequestContext, nodeid: number, fh: number): void | Promise<void>;
  opendir(ctx: RequestContext, nodeid: number, flags: number): OpenReply | Promise<OpenReply>;
  /** Entries from cookie `offset` on; dispatch packs as many as fit. */
  readdir(ctx: RequestContext, nodeid: number, fh: number, offset: number): Dirent[] | Promise<Dirent[]>;
  releasedir(ctx: RequestContext, nodeid: number, fh: number): void | Promise<void>;
  statfs(ctx: RequestContext): Statfs | Promise<Statfs>;
  access(ctx: RequestContext, nodeid: number, mask: number): void | Promise<void>;
  /** The value of one extended attribute; throw ENODATA when absent. */
  getxattr(ctx: RequestContext, nodeid: number, name: string): Uint8Array | Promise<Uint8Array>;
  listxattr(ctx: RequestContext, nodeid: number): string[] | Promise<string[]>;
}

export type { AttrValue, Dirent, EntryOut, AttrOut };
