/**
 * The notify loop. It runs on its own thread (worker.ts), blocked in one
 * poll(2) over: a wake pipe (commands from the JavaScript thread), the
 * registration socket, registration connections, and every container's
 * notify fd. Nothing here ever blocks Bun's JavaScript thread.
 *
 * Each poll round answers at most one notification per ready fd, so a
 * container that traps in a tight loop cannot starve the others. Answering
 * is synchronous and bounded: a process_vm_readv, reads of /proc/TID files,
 * readlink(2) only on filesystems that cannot wait on a user-space or network
 * server (intercept/resolve.ts), then ID_VALID and SEND. A new proc or sysfs is the
 * exception (virtualfs.ts): a forked C helper mounts it in the caller's
 * namespaces; its result pipe joins the poll set and the call is answered
 * when it reports, or when its time is up, so other calls go on meanwhile.
 *
 * A notify fd reports POLLHUP once every process that could trap through
 * its filter has exited; the loop closes it then, and forgets the container
 * with its last fd.
 */
import { readlinkSync, readFileSync } from "node:fs";
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { isSysError } from "../../sys/errno.ts";
import { closeAll, dupCloexec, read } from "../../sys/fs.ts";
import {
  NOTIF_SIZE, POLL, encodePollfds, notifIdValid, notifRecv, notifSend, poll, pollRevents, type SeccompNotif,
} from "../../sys/seccomp_notify.ts";
import { accept, recvFdsCreds, send, MSG, SOCK, type Ucred } from "../../sys/socket.ts";
import { FrameDecoder } from "../../ipc/mod.ts";
import { namespaceId } from "./caller.ts";
import {
  BadRequestError, describeContainer, encodeReply, evaluate, MAX_REGISTRATION_FRAME, MountView, parseRequest, Registry, RegistrationError,
  type CallerIo, type Evaluation, type RegisterMounts, type Verdict, type XattrVerdict,
} from "../../intercept/mod.ts";
import { beginXattr } from "./xattr.ts";
import { beginDetachSubmounts, beginMountVirtualFs, isPending, type ActResult, type PendingAct, type VirtualFsConfig } from "./virtualfs.ts";
import { beginMknodBind } from "./mknod.ts";
import { answerSysinfo } from "./sysinfo.ts";
import { processStartTime } from "../../sys/procstat.ts";
import { CLK_TCK, type SysinfoSource } from "../../procfs/mod.ts";

/**
 * A registration connection must deliver its request within this time. The
 * runtime connects before it starts the container's init, which registers
 * only once its rootfs is built: on a busy host with many containers
 * starting at once that takes seconds.
 */
export const REGISTRATION_TIMEOUT_MS = 60_000;
/**
 * On stop, how long connections already accepted may still register: the
 * runtime connects before the container's init runs and the init sends its
 * notify fd a moment later, so a restart in between would otherwise cut it
 * off (EPIPE at the init). What registers is kept for the next sysbox-fs.
 */
export const STOP_DRAIN_MS = 1500;

/** Indexes into the shared counters (a BigInt64Array over a SharedArrayBuffer). */
export const STAT = {
  notifications: 0, continued: 1, denied: 2, gone: 3, errors: 4, containers: 5, fds: 6,
  handleNanosTotal: 7, handleNanosMax: 8, handled: 9,
} as const;
export const STAT_SLOTS = 10;

export interface LoopInit {
  listenFd: number;
  /** Read end of the wake pipe (non-blocking). */
  wakeFd: number;
  /** Commands from the JavaScript thread, read with receiveMessageOnPort after a wake. */
  port: MessagePort;
  stats: SharedArrayBuffer;
  /** Post every decision, not only denials. */
  debug: boolean;
  /** sysbox-fs's files to bind into new proc and sysfs mounts; without it those go to the kernel as they are. */
  virtualFs?: VirtualFsConfig;
  /** Notify fds of an earlier sysbox-fs, taken back from their keepers: served again from the start. */
  adopt?: AdoptedFd[];
}

/** What a container was described from, kept so a restarted sysbox-fs can describe it again. */
export interface Described {
  mounts: RegisterMounts;
  mountNs: string;
  /** The registering process's mountinfo at registration. */
  mountinfo: string;
}

export interface AdoptedFd {
  fd: number;
  containerId: string;
  pid: number;
  /** Present for the fd its container was described from (an init's, or an exec's that came first). */
  described?: Described;
}

/** What sysinfo(2) answers need of a container from the JavaScript thread: its start and load averages. */
export interface ContainerFigures {
  id: string;
  initPid: number;
  startBoot: number;
  load: [number, number, number];
}

export type LoopCommand =
  | { type: "stop" }
  /** The whole current list, after each load sample and each (un)registration. */
  | { type: "figures"; containers: ContainerFigures[] };

export type LoopEvent =
  | { type: "ready" }
  | {
      type: "registered"; containerId: string; kind: "init" | "exec"; pid: number; fd: number;
      /** A CLOEXEC copy of `fd` for the JavaScript thread, which hands it to a keeper and closes it. */
      copy: number;
      described?: Described;
    }
  | { type: "refused"; pid?: number; error: string }
  | { type: "released"; containerId: string; pid: number; fd: number; remaining: number }
  | {
      type: "decision"; containerId: string; pid: number; syscall: string; target?: string;
      action: "continue" | "error" | "done"; errno?: number; reason: string; micros: number;
    }
  | { type: "error"; message: string }
  | { type: "stopped" };

/** The reply to a notification: go on in the kernel, fail, or done here (returns 0). */
type Answer =
  | { action: "continue"; reason: string; warning?: string }
  | { action: "error"; errno: number; reason: string; warning?: string }
  | { action: "done"; reason: string; warning?: string; val?: number };

/** One notification being answered. */
interface CallInfo {
  notifyFd: number;
  id: bigint;
  containerId: string;
  pid: number;
  syscall: string;
  target?: string;
  /** Bun.nanoseconds() at RECV. */
  t0: number;
}

/** A notification whose answer waits for a helper. */
interface PendingCall {
  act: PendingAct;
  call: CallInfo;
  reason: string;
}

function toAnswer(reason: string, r: ActResult): Answer {
  const warning = r.outcome !== "error" && r.warning ? { warning: r.warning } : {};
  if (r.outcome === "error") return { action: "error", errno: r.errno, reason: `${reason}: ${r.reason}` };
  return { action: r.outcome, reason: `${reason}; ${r.reason}`, ...warning, ...(r.outcome === "done" && r.val !== undefined ? { val: r.val } : {}) };
}

interface Conn {
  fd: number;
  decoder: FrameDecoder;
  fds: number[];
  creds?: Ucred;
  deadline: number;
}

function describe(containerId: string, d: Described) {
  return describeContainer(containerId, MountView.parse(d.mountinfo), { mounts: d.mounts, mountNs: d.mountNs });
}

export class NotifyLoop {
  readonly #init: LoopInit;
  readonly #post: (e: LoopEvent) => void;
  readonly #io: CallerIo;
  readonly #registry = new Registry();
  readonly #conns = new Map<number, Conn>();
  /** Helpers under way, by their result fd. */
  readonly #pending = new Map<number, PendingCall>();
  readonly #stats: BigInt64Array;
  readonly #notifBuf = new Uint8Array(NOTIF_SIZE);
  /** From the JavaScript thread (sysinfo), by container id. */
  #figures = new Map<string, ContainerFigures>();
  /** Host pid of each container's init, from its registration. */
  readonly #initPids = new Map<string, number>();
  #pollFds: number[] = [];
  #pollBuf: Uint8Array = new Uint8Array(0);
  #dirty = true;
  /** Set by a stop: serve accepted connections until then, nothing else new. */
  #drainUntil: number | undefined;

  constructor(init: LoopInit, post: (e: LoopEvent) => void, io: CallerIo) {
    this.#init = init;
    this.#post = post;
    this.#io = io;
    this.#stats = new BigInt64Array(init.stats);
  }

  /** Serves until a stop command; closes every fd it owns (not the listening socket) before returning. */
  run(): void {
    this.#adopt(this.#init.adopt ?? []);
    this.#post({ type: "ready" });
    for (;;) {
      if (this.#drainUntil !== undefined && (this.#conns.size === 0 || Date.now() >= this.#drainUntil)) return this.close();
      if (this.#dirty) this.#rebuild();
      const n = poll(this.#pollBuf, this.#timeout());
      if (this.#conns.size || this.#pending.size) this.#expire();
      if (n === 0) continue;
      // Snapshot: handlers may change the set (the rebuild waits for the next round).
      const fds = this.#pollFds;
      const buf = this.#pollBuf;
      for (let i = 0; i < fds.length; i++) {
        const rev = pollRevents(buf, i);
        if (rev === 0) continue;
        const fd = fds[i]!;
        if (fd === this.#init.wakeFd) {
          if (this.#commands()) this.#drainUntil ??= Date.now() + STOP_DRAIN_MS;
        } else if (fd === this.#init.listenFd) {
          this.#acceptAll();
        } else if (this.#conns.has(fd)) {
          this.#readConn(this.#conns.get(fd)!);
        } else if (this.#pending.has(fd)) {
          this.#complete(this.#pending.get(fd)!, false);
        } else if (this.#registry.fd(fd)) {
          if (rev & POLL.IN) this.#answer(fd);
          else if (rev & (POLL.HUP | POLL.ERR | POLL.NVAL)) this.#release(fd, (rev & POLL.NVAL) === 0);
        }
      }
    }
  }

  /** Serves the fds of an earlier sysbox-fs again: described ones first, so exec'd processes find their container. */
  #adopt(list: readonly AdoptedFd[]): void {
    for (const a of [...list].sort((x, y) => Number(!x.described) - Number(!y.described))) {
      try {
        if (a.described) {
          this.#registry.add({ fd: a.fd, containerId: a.containerId, pid: a.pid, kind: "init" }, describe(a.containerId, a.described));
          this.#initPids.set(a.containerId, a.pid);
        }
        else this.#registry.add({ fd: a.fd, containerId: a.containerId, pid: a.pid, kind: "exec" });
      } catch (e) {
        closeAll([a.fd]);
        this.#post({ type: "error", message: `container ${a.containerId}: notify fd of pid ${a.pid} not taken back: ${(e as Error).message}` });
        // Its keeper must let go too: then the process's trapped calls fail
        // with ENOSYS instead of waiting for an answer that never comes.
        this.#post({ type: "released", containerId: a.containerId, pid: a.pid, fd: a.fd, remaining: 0 });
      }
    }
    this.#dirty = true;
  }

  #rebuild(): void {
    this.#pollFds = [this.#init.wakeFd, this.#init.listenFd, ...this.#conns.keys(), ...this.#pending.keys(), ...this.#registry.fds()];
    this.#pollBuf = encodePollfds(this.#pollFds.map((fd) => ({ fd, events: POLL.IN })));
    this.#dirty = false;
    Atomics.store(this.#stats, STAT.containers, BigInt(this.#registry.containerCount));
    Atomics.store(this.#stats, STAT.fds, BigInt(this.#registry.fdCount));
  }

  #timeout(): number {
    if (this.#conns.size === 0 && this.#pending.size === 0 && this.#drainUntil === undefined) return -1;
    const next = Math.min(
      ...[...this.#conns.values()].map((c) => c.deadline), ...[...this.#pending.values()].map((p) => p.act.deadline), this.#drainUntil ?? Infinity,
    );
    return Math.max(0, next - Date.now());
  }

  /** Drains the wake pipe and the command port; true on stop. */
  #commands(): boolean {
    const buf = new Uint8Array(64);
    try {
      while (read(this.#init.wakeFd, buf) > 0);
    } catch (e) {
      if (!isSysError(e, "EAGAIN")) throw e;
    }
    let stop = false;
    for (let m = receiveMessageOnPort(this.#init.port); m; m = receiveMessageOnPort(this.#init.port)) {
      const cmd = m.message as LoopCommand;
      if (cmd.type === "stop") stop = true;
      else if (cmd.type === "figures") this.#figures = new Map(cmd.containers.map((c) => [c.id, c]));
    }
    return stop;
  }

  /**
   * Closes every connection and notify fd. A listener whose last fd this
   * was fails its pending and future notifications with ENOSYS; one a keeper
   * holds (kept.ts) makes them wait for the next sysbox-fs.
   */
  close(): void {
    for (const p of [...this.#pending.values()]) this.#complete(p, true);
    for (const c of this.#conns.values()) closeAll([c.fd, ...c.fds]);
    this.#conns.clear();
    // Not "released": a keeper's copy of each fd must outlive this stop, so
    // that the next sysbox-fs serves those containers again.
    for (const fd of [...this.#registry.fds()]) {
      this.#registry.remove(fd);
      closeAll([fd]);
    }
    this.#post({ type: "stopped" });
  }

  // ---- registration ----

  #acceptAll(): void {
    for (;;) {
      let fd: number;
      try {
        fd = accept(this.#init.listenFd, SOCK.CLOEXEC | SOCK.NONBLOCK);
      } catch (e) {
        if (isSysError(e, "EAGAIN") || isSysError(e, "ECONNABORTED")) return;
        throw e;
      }
      this.#conns.set(fd, { fd, decoder: new FrameDecoder({ maxFrame: MAX_REGISTRATION_FRAME }), fds: [], deadline: Date.now() + REGISTRATION_TIMEOUT_MS });
      this.#dirty = true;
    }
  }

  #expire(): void {
    const now = Date.now();
    for (const p of [...this.#pending.values()]) if (p.act.deadline <= now) this.#complete(p, true);
    for (const c of this.#conns.values()) {
      if (c.deadline <= now) this.#finishConn(c, `no registration request within ${REGISTRATION_TIMEOUT_MS} ms`);
    }
  }

  #readConn(c: Conn): void {
    let got: ReturnType<typeof recvFdsCreds>;
    try {
      got = recvFdsCreds(c.fd, 4, 65536, MSG.DONTWAIT);
    } catch (e) {
      if (isSysError(e, "EAGAIN")) return;
      return this.#finishConn(c, `reading the registration: ${(e as Error).message}`);
    }
    c.fds.push(...got.fds);
    c.creds ??= got.creds;
    if (got.data.length === 0) return this.#finishConn(c, "connection closed before a complete request");
    let msg: unknown;
    try {
      const it = c.decoder.push(got.data).next();
      if (it.done) return;
      msg = it.value;
    } catch (e) {
      return this.#finishConn(c, (e as Error).message);
    }
    try {
      this.#register(c, msg);
    } catch (e) {
      if (e instanceof BadRequestError || e instanceof RegistrationError || isSysError(e) || (e as { code?: string }).code) {
        return this.#finishConn(c, (e as Error).message);
      }
      throw e;
    }
  }

  #register(c: Conn, raw: unknown): void {
    const req = parseRequest(raw);
    if (c.fds.length !== 1) throw new RegistrationError(`expected one notify fd with the request, got ${c.fds.length}`);
    const pid = c.creds?.pid;
    if (!pid) throw new RegistrationError("no sender credentials on the request");
    const fd = c.fds[0]!;
    const link = readlinkSync(`/proc/self/fd/${fd}`);
    if (link !== "anon_inode:seccomp notify") throw new RegistrationError(`the fd sent is not a seccomp listener (${link})`);
    // An exec into a container this process does not know (sysbox-fs restarted
    // since its init registered) starts it afresh from the exec'd process's view.
    const fresh = req.kind === "exec" && req.mounts !== undefined && !this.#registry.container(req.containerId);
    let described: Described | undefined;
    if (req.kind === "init" || fresh) {
      described = { mounts: req.mounts!, mountNs: namespaceId(`/proc/${pid}/ns/mnt`), mountinfo: readFileSync(`/proc/${pid}/mountinfo`, "utf8") };
      this.#registry.add({ fd, containerId: req.containerId, pid, kind: "init" }, describe(req.containerId, described));
      this.#initPids.set(req.containerId, pid);
    } else {
      this.#registry.add({ fd, containerId: req.containerId, pid, kind: "exec" });
    }
    c.fds = [];
    this.#dirty = true;
    this.#finishConn(c);
    const copy = dupCloexec(fd);
    this.#post({ type: "registered", containerId: req.containerId, kind: req.kind, pid, fd, copy, ...(described ? { described } : {}) });
  }

  /** Replies (ack, or the error), closes the connection and any fd it brought that was not kept. */
  #finishConn(c: Conn, error?: string): void {
    try {
      send(c.fd, encodeReply(error === undefined ? { ok: true } : { ok: false, error }));
    } catch {
      // The peer is gone; it learns nothing either way.
    }
    closeAll([c.fd, ...c.fds]);
    this.#conns.delete(c.fd);
    this.#dirty = true;
    if (error !== undefined) this.#post({ type: "refused", ...(c.creds ? { pid: c.creds.pid } : {}), error });
  }

  #release(fd: number, doClose: boolean): void {
    const r = this.#registry.remove(fd);
    if (doClose) closeAll([fd]);
    this.#dirty = true;
    if (r && r.remaining === 0 && !this.#registry.container(r.record.containerId)) this.#initPids.delete(r.record.containerId);
    if (r) this.#post({ type: "released", containerId: r.record.containerId, pid: r.record.pid, fd, remaining: r.remaining });
  }

  // ---- notifications ----

  #answer(fd: number): void {
    const reg = this.#registry.fd(fd)!;
    const t0 = Bun.nanoseconds();
    let notif: SeccompNotif | null;
    try {
      notif = notifRecv(fd, this.#notifBuf);
    } catch (e) {
      this.#bump(STAT.errors);
      this.#post({ type: "error", message: `container ${reg.record.containerId}: ${(e as Error).message}; dropping its notify fd ${fd}` });
      return this.#release(fd, true);
    }
    if (!notif) return this.#bump(STAT.gone);
    this.#bump(STAT.notifications);
    let ev: Evaluation;
    try {
      ev = evaluate(notif, reg.mounts, this.#io);
    } catch (e) {
      this.#bump(STAT.errors);
      this.#post({ type: "error", message: `container ${reg.record.containerId}: evaluating a trapped call of pid ${notif.pid}: ${(e as Error).stack ?? e}` });
      ev = { verdict: { action: "continue", reason: "internal error" }, readCaller: true };
    }
    const call: CallInfo = {
      notifyFd: fd, id: notif.id, containerId: reg.record.containerId, pid: notif.pid, syscall: ev.syscall ?? `nr ${notif.data.nr}`,
      ...(ev.target !== undefined ? { target: ev.target } : {}), t0,
    };
    let answer: Answer;
    try {
      // What was read may belong to a reused pid unless the target still waits.
      if (ev.readCaller && !notifIdValid(fd, notif.id)) return this.#bump(STAT.gone);
      const v = ev.verdict;
      if (v.action === "continue" || v.action === "error" || v.action === "done") {
        answer = v;
      } else {
        const begun = this.#begin(call, v);
        if (isPending(begun)) {
          // Answered when the helper reports (#complete) or times out (#expire).
          this.#pending.set(begun.fd, { act: begun, call, reason: v.reason });
          this.#dirty = true;
          return;
        }
        answer = toAnswer(v.reason, begun);
      }
    } catch (e) {
      this.#bump(STAT.errors);
      this.#post({ type: "error", message: `container ${reg.record.containerId}: ${(e as Error).message}; dropping its notify fd ${fd}` });
      return this.#release(fd, true);
    }
    this.#reply(call, answer);
  }

  /** Starts what a verdict asks of sysbox-fs itself; an outcome at once, or a helper under way. */
  #begin(call: CallInfo, v: Exclude<Verdict, { action: "continue" | "error" | "done" }>): ActResult | PendingAct {
    if (v.action === "xattr") return this.#xattr(call, v);
    try {
      if (v.action === "sysinfo") return answerSysinfo(call.pid, v, this.#sysinfoSource(call.containerId));
      if (v.action === "mknod-bind") return beginMknodBind(call.pid, v);
    } catch (e) {
      // The caller exited mid-way (its /proc files gone), or a bug: the kernel answers instead.
      const code = (e as { code?: string }).code;
      if (code === "ENOENT" || code === "ESRCH") return { outcome: "continue", reason: "the caller is gone" };
      this.#bump(STAT.errors);
      this.#post({ type: "error", message: `container ${call.containerId}: ${v.action} for pid ${call.pid}: ${(e as Error).stack ?? e}` });
      return { outcome: "continue", reason: "failed here" };
    }
    const cfg = this.#init.virtualFs;
    if (!cfg) return { outcome: "continue", reason: "no sysbox-fs binds configured" };
    try {
      return v.action === "mount-fs" ? beginMountVirtualFs(call.pid, call.containerId, v, cfg) : beginDetachSubmounts(call.pid, v.paths);
    } catch (e) {
      // A process that exited mid-way, or a bug: the kernel runs the call as it is.
      this.#bump(STAT.errors);
      this.#post({ type: "error", message: `container ${call.containerId}: ${v.action} for pid ${call.pid}: ${(e as Error).stack ?? e}` });
      return { outcome: "continue", reason: "failed here" };
    }
  }

  /** A trusted.* xattr call, done by a helper as host root (xattr.ts). */
  #xattr(call: CallInfo, v: XattrVerdict): ActResult | PendingAct {
    try {
      return beginXattr(call.pid, v, { notifyFd: call.notifyFd, id: call.id });
    } catch (e) {
      // A process that exited mid-way, or a bug: the kernel refuses the call as it would have.
      this.#bump(STAT.errors);
      this.#post({ type: "error", message: `container ${call.containerId}: xattr for pid ${call.pid}: ${(e as Error).stack ?? e}` });
      return { outcome: "continue", reason: "failed here" };
    }
  }

  /**
   * The container's init, start and loads for sysinfo: as the JavaScript
   * thread last sent them, else from the registered init (loads 0 then).
   */
  #sysinfoSource(containerId: string): SysinfoSource {
    const f = this.#figures.get(containerId);
    if (f) return { initPid: f.initPid, startBoot: f.startBoot, load: { avg: f.load } };
    const initPid = this.#initPids.get(containerId);
    if (initPid === undefined) throw new Error(`no init known for container ${containerId}`);
    const ticks = processStartTime(initPid)?.ticks;
    return { initPid, startBoot: ticks === undefined ? 0 : Number(ticks) / CLK_TCK };
  }

  /** A helper reported, hung up, or ran out of time: answer its call. */
  #complete(p: PendingCall, timedOut: boolean): void {
    this.#pending.delete(p.act.fd);
    this.#dirty = true;
    let r: ActResult;
    try {
      r = timedOut ? p.act.abort() : p.act.finish();
    } catch (e) {
      this.#bump(STAT.errors);
      this.#post({ type: "error", message: `container ${p.call.containerId}: finishing a helper for pid ${p.call.pid}: ${(e as Error).stack ?? e}` });
      r = { outcome: "continue", reason: "failed here" };
    }
    this.#reply(p.call, toAnswer(p.reason, r));
  }

  #reply(call: CallInfo, answer: Answer): void {
    if (answer.warning) this.#post({ type: "error", message: `container ${call.containerId}: ${answer.warning}` });
    let sent: boolean;
    try {
      sent = notifSend(call.notifyFd, answer.action === "continue" ? { id: call.id, continue: true }
        : answer.action === "error" ? { id: call.id, error: answer.errno } : { id: call.id, val: BigInt(answer.val ?? 0) });
    } catch (e) {
      this.#bump(STAT.errors);
      this.#post({ type: "error", message: `container ${call.containerId}: ${(e as Error).message}; dropping its notify fd ${call.notifyFd}` });
      if (this.#registry.fd(call.notifyFd)) this.#release(call.notifyFd, true);
      return;
    }
    const nanos = BigInt(Bun.nanoseconds() - call.t0);
    Atomics.add(this.#stats, STAT.handleNanosTotal, nanos);
    if (nanos > Atomics.load(this.#stats, STAT.handleNanosMax)) Atomics.store(this.#stats, STAT.handleNanosMax, nanos);
    if (!sent) return this.#bump(STAT.gone);
    this.#bump(answer.action === "continue" ? STAT.continued : answer.action === "error" ? STAT.denied : STAT.handled);
    if (answer.action === "error" || this.#init.debug) {
      this.#post({
        type: "decision", containerId: call.containerId, pid: call.pid, syscall: call.syscall,
        ...(call.target !== undefined ? { target: call.target } : {}),
        action: answer.action, ...(answer.action === "error" ? { errno: answer.errno } : {}), reason: answer.reason, micros: Number(nanos / 1000n),
      });
    }
  }

  #bump(slot: number): void {
    Atomics.add(this.#stats, slot, 1n);
  }
}
