/**
 * One FUSE mount served over /dev/fuse: mount, the request loop, replies,
 * and unmount. Many sessions share one event loop: the device is opened
 * O_NONBLOCK and read through `Bun.file(fd).stream()`, so waiting for
 * requests holds no thread, and each request runs as its own async task
 * (a slow handler delays only its own reply). The stream may hand over
 * several requests in one chunk (measured: it reads again before
 * delivering); splitRequests() cuts them apart by their headers.
 *
 *   kernel                               FuseSession
 *     |--- INIT ----------------------------->|  negotiate (dispatch.ts)
 *     |<-- init_out --------------------------|
 *     |--- LOOKUP/GETATTR/READ ... ---------->|  dispatch, async
 *     |<-- replies, in any order -------------|
 *     |   (umount: read fails ENODEV) ------->|  loop ends: "unmounted"
 *
 * A session can also resume a connection whose fd an earlier process held
 * (see internal/sysfs keeper.ts): no INIT comes then, and on kernels with
 * FUSE_HAS_RESEND we ask the kernel to resend what the dead process had
 * read but not answered.
 */
import type { Logger } from "../log/mod.ts";
import { close as sysClose, open as sysOpen, O_FLAGS, readIfReady, write as sysWrite } from "../sys/fs.ts";
import { MNT, MS } from "../sys/flags.ts";
import { mount as sysMount, umount2 as sysUmount2 } from "../sys/mount.ts";
import { encodeNotify, splitRequests } from "./codec.ts";
import { Connection, dispatch, type ConnectionOptions, type Negotiated } from "./dispatch.ts";
import type { FileSystem } from "./fs.ts";
import { INIT, NOTIFY } from "./proto.ts";

/** The privileged calls a session makes; tests may pass fakes. */
export interface FuseSys {
  open(path: string, flags: number): number;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data?: string | null): void;
  umount2(target: string, flags?: number): void;
  write(fd: number, buf: Uint8Array): number;
  close(fd: number): void;
  /** A non-blocking read of the device: bytes, or -1 when nothing waits; without it, only the stream reads. */
  readIfReady?(fd: number, buf: Uint8Array): number;
}

export const linuxFuseSys: FuseSys = { open: sysOpen, mount: sysMount, umount2: sysUmount2, write: sysWrite, close: sysClose, readIfReady };

export interface MountOptions extends ConnectionOptions {
  sys?: FuseSys;
  /** Shown as the mount's source; default "sysboxfs". */
  fsname?: string;
  /** Mount type is `fuse.<subtype>`; default "sysboxfs". */
  subtype?: string;
}

export type EndReason = "unmounted" | "closed" | "error";

export interface SessionEnd {
  reason: EndReason;
  error?: unknown;
}

/** Room beyond max_write in a read buffer: the request header and WRITE's own (the kernel wants a page). */
const DRAIN_SLACK = 4096;
/** Requests read per drain at most, so one busy mount cannot starve the others on the event loop. */
const DRAIN_MAX = 64;

/** Mount flags: like /proc, nothing on it is a device or set-id program or executable. */
const MOUNT_FLAGS = MS.NOSUID | MS.NODEV | MS.NOEXEC;

function code(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
}

/** mount(2) data for a FUSE mount served on `fd` (see Documentation/filesystems/fuse.rst). */
export function fuseMountData(fd: number): string {
  // default_permissions: the kernel checks modes and owners itself from our attrs;
  // allow_other: processes other than the mounter's user (container users) may enter.
  return `fd=${fd},rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions`;
}

export class FuseSession {
  readonly fd: number;
  readonly mountpoint: string;
  readonly conn: Connection;
  /** Resolves once the request loop has stopped. */
  readonly ended: Promise<SessionEnd>;
  /** Resolves when the connection is initialized (INIT answered, or resumed); rejects if the loop ends first. */
  readonly ready: Promise<Negotiated>;
  readonly #sys: FuseSys;
  readonly #log: Logger | undefined;
  #reader: { cancel(): Promise<void> } | undefined;
  #closing = false;
  #closed = false;
  #pending = new Set<Promise<void>>();
  #buf: Uint8Array | undefined;

  private constructor(fd: number, mountpoint: string, fs: FileSystem, opts: MountOptions) {
    this.fd = fd;
    this.mountpoint = mountpoint;
    this.#sys = opts.sys ?? linuxFuseSys;
    this.#log = opts.log;
    this.conn = new Connection(fs, opts);
    const init = Promise.withResolvers<Negotiated>();
    if (opts.negotiated) init.resolve(opts.negotiated);
    else this.conn.onInit = (n) => init.resolve(n);
    this.ready = init.promise;
    this.ready.catch(() => {});
    this.ended = this.#loop();
    void this.ended.then((end) => init.reject(new Error(`FUSE session on ${mountpoint} ended (${end.reason}) before INIT`)));
  }

  /** Opens /dev/fuse, mounts it on `mountpoint` (an existing directory) and starts serving. */
  static mount(mountpoint: string, fs: FileSystem, opts: MountOptions = {}): FuseSession {
    const sys = opts.sys ?? linuxFuseSys;
    const fd = sys.open("/dev/fuse", O_FLAGS.RDWR | O_FLAGS.NONBLOCK | O_FLAGS.CLOEXEC);
    try {
      sys.mount(opts.fsname ?? "sysboxfs", mountpoint, `fuse.${opts.subtype ?? "sysboxfs"}`, MOUNT_FLAGS, fuseMountData(fd));
    } catch (e) {
      sys.close(fd);
      throw e;
    }
    return new FuseSession(fd, mountpoint, fs, opts);
  }

  /**
   * Serves a connection that is already mounted and initialized, on `fd`
   * (O_NONBLOCK, e.g. taken back from a process that kept it).
   */
  static resume(fd: number, mountpoint: string, fs: FileSystem, opts: MountOptions & { negotiated: Negotiated }): FuseSession {
    const s = new FuseSession(fd, mountpoint, fs, opts);
    if (opts.negotiated.kernelFlags & INIT.HAS_RESEND) s.#send(encodeNotify(NOTIFY.RESEND), "NOTIFY_RESEND");
    return s;
  }

  get negotiated(): Negotiated | undefined {
    return this.conn.negotiated;
  }

  /** Requests being handled right now. */
  get inflight(): number {
    return this.#pending.size;
  }

  async #loop(): Promise<SessionEnd> {
    let restarts = 0;
    for (;;) {
      const reader = Bun.file(this.fd).stream().getReader();
      this.#reader = reader;
      let end: SessionEnd | undefined;
      try {
        for (;;) {
          const r = await reader.read();
          if (r.done) {
            end = { reason: this.#closing ? "closed" : "unmounted" };
            break;
          }
          restarts = 0;
          for (const req of splitRequests(r.value)) this.#serve(req);
          this.#drain();
          if (this.conn.destroyed) {
            end = { reason: "unmounted" };
            break;
          }
        }
      } catch (e) {
        switch (code(e)) {
          case "ENODEV": // unmounted, or the connection was aborted
          case "ECONNABORTED":
            end = { reason: this.#closing ? "closed" : "unmounted" };
            break;
          case "ENOENT": // the request we were about to read was interrupted
          case "EINTR":
          case "EAGAIN":
          // The stream reads into what is left of its buffer; with many requests
          // queued that can fall below the kernel's minimum. A fresh stream reads anew.
          case "EINVAL":
            if (++restarts < 100 && !this.#closing) continue;
            end = { reason: "error", error: e };
            break;
          default:
            end = this.#closing ? { reason: "closed" } : { reason: "error", error: e };
        }
      }
      await Promise.allSettled([...this.#pending]);
      return end ?? { reason: "error" };
    }
  }

  #serve(req: Uint8Array): void {
    let reply: Uint8Array | null | Promise<Uint8Array | null>;
    try {
      reply = dispatch(this.conn, req);
    } catch (e) {
      this.#log?.warn(`fuse ${this.mountpoint}: dropped a request: ${(e as Error).message}`);
      return;
    }
    if (!(reply instanceof Promise)) {
      if (reply) this.#send(reply, "reply");
      return;
    }
    const p = reply.then(
      (r) => {
        if (r) this.#send(r, "reply");
      },
      (e) => this.#log?.warn(`fuse ${this.mountpoint}: dropped a request: ${(e as Error).message}`),
    );
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /**
   * Serves what else waits on the device, read directly, until it has
   * nothing (EAGAIN): under load one wake-up of the stream then serves many
   * requests, each without the stream's own polls and re-arming. Requests
   * are copied out of the shared buffer, as a handler may keep one past
   * the next read.
   */
  #drain(): void {
    const read = this.#sys.readIfReady;
    if (!read) return;
    const buf = (this.#buf ??= new Uint8Array(this.conn.maxWrite + DRAIN_SLACK));
    for (let i = 0; i < DRAIN_MAX && !this.#closing && !this.conn.destroyed; i++) {
      let n: number;
      try {
        n = read(this.fd, buf);
      } catch {
        // ENODEV and the like: the stream sees it on its next read and ends the loop.
        return;
      }
      if (n <= 0) return;
      for (const req of splitRequests(buf.slice(0, n))) this.#serve(req);
    }
  }

  #send(bytes: Uint8Array, what: string): void {
    if (this.#closed) return;
    try {
      this.#sys.write(this.fd, bytes);
    } catch (e) {
      // ENOENT: the request was interrupted and is gone; ENODEV: unmounted meanwhile.
      if (code(e) === "ENOENT" || code(e) === "ENODEV") this.#log?.debug(`fuse ${this.mountpoint}: ${what}: ${code(e)}`);
      else this.#log?.warn(`fuse ${this.mountpoint}: ${what}: ${(e as Error).message}`);
    }
  }

  /**
   * Unmounts (lazily: open files and bind mounts elsewhere keep the
   * filesystem until they go, and then read ENOTCONN), stops the loop and
   * closes the device. Safe to call more than once.
   */
  async close({ unmount = true }: { unmount?: boolean } = {}): Promise<SessionEnd> {
    if (!this.#closing) {
      this.#closing = true;
      if (unmount) {
        try {
          this.#sys.umount2(this.mountpoint, MNT.DETACH);
        } catch (e) {
          if (code(e) !== "EINVAL" && code(e) !== "ENOENT") this.#log?.warn(`fuse ${this.mountpoint}: unmount: ${(e as Error).message}`);
        }
      }
      await this.#reader?.cancel().catch(() => {});
    }
    const end = await this.ended;
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#sys.close(this.fd);
      } catch {
        // Already closed by the stream; nothing holds it.
      }
    }
    return end;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
