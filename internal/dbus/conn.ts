/**
 * A small synchronous D-Bus client: one Unix socket, SASL EXTERNAL, Hello when
 * talking to a message bus, method calls matched to their replies by serial,
 * and signals kept in a queue until asked for. Synchronous on purpose: the
 * runtime places a container's init in its cgroup from a synchronous step of
 * `create`, and every wait has a deadline (poll(2)), so nothing hangs.
 *
 *   client                                 bus (or systemd's private socket)
 *     \0AUTH EXTERNAL 30          ->
 *                                 <-   OK <guid>
 *     BEGIN, Hello() serial 1     ->                    (Hello: bus only)
 *                                 <-   METHOD_RETURN reply_serial 1 ":1.42"
 *     AddMatch(rule) serial 2     ->                    (bus only: signals are opt-in)
 *     StartTransientUnit serial 3 ->
 *                                 <-   METHOD_RETURN reply_serial 3 (job path)
 *                                 <-   SIGNAL JobRemoved (id, job, unit, result)
 */
import { unixConnect, send as sockSend, recv as sockRecv, close as closeFd, isSysError } from "../sys/mod.ts";
import { pollFd, POLL } from "../sys/poll.ts";
import { authRequest, BEGIN, parseAuthReply, takeLine } from "./auth.ts";
import { DBusConnectionError, DBusError } from "./errors.ts";
import type { DBusValue } from "./marshal.ts";
import { decodeMessage, encodeMessage, messageLength, MessageFlag, MessageType, type Message } from "./message.ts";

/** The byte stream under a connection; the seam tests replace. */
export interface Transport {
  /** Writes all of `data`. */
  send(data: Uint8Array): void;
  /** Waits up to `timeoutMs` for bytes: null on timeout, an empty array at end of stream. */
  recv(timeoutMs: number): Uint8Array | null;
  close(): void;
}

/** A blocking Unix stream socket read with poll(2) deadlines. */
export function socketTransport(path: string): Transport {
  let fd: number;
  try {
    fd = unixConnect(path);
  } catch (e) {
    const code = isSysError(e) ? e.code : String(e);
    throw new DBusConnectionError("connect", path, `connect ${path}: ${code}`, { errno: code, cause: e });
  }
  const buf = new Uint8Array(64 * 1024);
  return {
    send(data) {
      for (let off = 0; off < data.length; ) off += sockSend(fd, data.subarray(off));
    },
    recv(timeoutMs) {
      if (pollFd(fd, POLL.IN, Math.max(0, timeoutMs)) === 0) return null;
      const n = sockRecv(fd, buf);
      return buf.slice(0, n);
    },
    close() {
      if (fd >= 0) closeFd(fd);
      fd = -1;
    },
  };
}

export interface ConnectOptions {
  /** Call org.freedesktop.DBus.Hello first: needed on a bus, not on a peer-to-peer socket. Default true. */
  hello?: boolean;
  /** The uid to claim in AUTH EXTERNAL; default this process's uid. */
  uid?: number;
  /** Deadline for authentication and Hello, and the default for calls. Default 25 s, as libdbus. */
  timeoutMs?: number;
  /** Use this byte stream instead of connecting to the path (tests). */
  transport?: Transport;
}

export interface MethodCall {
  destination?: string;
  path: string;
  interface?: string;
  member: string;
  signature?: string;
  body?: DBusValue[];
  flags?: number;
}

const DEFAULT_TIMEOUT_MS = 25_000;
/** Signals nobody asked for are dropped oldest first past this many. */
const MAX_QUEUED_SIGNALS = 1024;

const BUS = { destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus" } as const;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export class Connection {
  /** The socket path (or what the transport stands for), for messages. */
  readonly address: string;
  readonly timeoutMs: number;
  /** The server's GUID from the auth OK line. */
  guid = "";
  /** Our name on the bus after Hello, e.g. ":1.42"; undefined on a peer-to-peer socket. */
  uniqueName: string | undefined;
  private readonly transport: Transport;
  private serial = 0;
  private inbuf: Uint8Array = new Uint8Array(0);
  private readonly waiting = new Set<number>();
  private readonly replies = new Map<number, Message>();
  private readonly signals: Message[] = [];
  private closed = false;

  private constructor(address: string, transport: Transport, timeoutMs: number) {
    this.address = address;
    this.transport = transport;
    this.timeoutMs = timeoutMs;
  }

  /** Connects to the Unix socket at `path`, authenticates, and says Hello unless told not to. */
  static open(path: string, opts: ConnectOptions = {}): Connection {
    const transport = opts.transport ?? socketTransport(path);
    const conn = new Connection(path, transport, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    try {
      conn.authenticate(opts.uid ?? process.getuid?.() ?? 0);
      if (opts.hello ?? true) {
        const [name] = conn.call({ ...BUS, member: "Hello" }).body ?? [];
        conn.uniqueName = String(name);
      }
    } catch (e) {
      conn.close();
      throw e;
    }
    return conn;
  }

  private deadline(timeoutMs?: number): number {
    return performance.now() + (timeoutMs ?? this.timeoutMs);
  }

  /** Reads once, waiting until `deadline`; false on timeout. */
  private fill(deadline: number): boolean {
    if (this.closed) throw new DBusConnectionError("closed", this.address, `D-Bus connection to ${this.address} is closed`);
    const chunk = this.transport.recv(Math.max(0, deadline - performance.now()));
    if (chunk === null) return false;
    if (chunk.length === 0) {
      this.close();
      throw new DBusConnectionError("closed", this.address, `D-Bus peer at ${this.address} closed the connection`);
    }
    this.inbuf = concat(this.inbuf, chunk);
    return true;
  }

  private authenticate(uid: number): void {
    this.transport.send(authRequest(uid));
    const deadline = this.deadline();
    for (;;) {
      const got = takeLine(this.inbuf);
      if (got) {
        this.inbuf = got.rest.slice();
        const reply = parseAuthReply(got.line);
        if (reply.kind === "ok") {
          this.guid = reply.guid;
          this.transport.send(BEGIN);
          return;
        }
        const why = reply.kind === "rejected"
          ? `it offers ${reply.mechanisms.join(", ") || "no mechanism"}`
          : reply.kind === "error" ? `ERROR ${reply.text}` : `unexpected reply ${JSON.stringify(reply.line)}`;
        throw new DBusConnectionError("auth", this.address, `D-Bus server at ${this.address} refused EXTERNAL authentication as uid ${uid} (${why})`);
      }
      if (!this.fill(deadline)) {
        throw new DBusConnectionError("timeout", this.address, `D-Bus server at ${this.address} did not answer authentication in time`);
      }
    }
  }

  /** Decodes every complete message in the buffer and files it. */
  private drain(): void {
    for (;;) {
      const len = messageLength(this.inbuf);
      if (len === undefined || this.inbuf.length < len) return;
      const m = decodeMessage(this.inbuf.subarray(0, len));
      this.inbuf = this.inbuf.subarray(len);
      this.dispatch(m);
    }
  }

  private dispatch(m: Message): void {
    switch (m.type) {
      case MessageType.METHOD_RETURN:
      case MessageType.ERROR:
        if (m.replySerial !== undefined && this.waiting.has(m.replySerial)) this.replies.set(m.replySerial, m);
        return;
      case MessageType.SIGNAL:
        this.signals.push(m);
        if (this.signals.length > MAX_QUEUED_SIGNALS) this.signals.shift();
        return;
      case MessageType.METHOD_CALL:
        this.answerCall(m);
        return;
    }
  }

  /** We export no objects: answer Peer.Ping, refuse the rest, as the spec asks of every peer. */
  private answerCall(m: Message): void {
    if ((m.flags ?? 0) & MessageFlag.NO_REPLY_EXPECTED) return;
    const to = m.sender !== undefined ? { destination: m.sender } : {};
    if (m.interface === "org.freedesktop.DBus.Peer" && m.member === "Ping") {
      this.send({ type: MessageType.METHOD_RETURN, replySerial: m.serial, ...to });
      return;
    }
    this.send({
      type: MessageType.ERROR, replySerial: m.serial, errorName: "org.freedesktop.DBus.Error.UnknownMethod",
      signature: "s", body: [`No such method ${m.interface ?? ""}.${m.member ?? ""}`], ...to,
    });
  }

  /** Sends a message with the next serial; returns that serial. */
  send(m: Omit<Message, "serial">): number {
    if (this.closed) throw new DBusConnectionError("closed", this.address, `D-Bus connection to ${this.address} is closed`);
    this.serial = this.serial >= 0xffffffff ? 1 : this.serial + 1;
    this.transport.send(encodeMessage({ ...m, serial: this.serial }));
    return this.serial;
  }

  /** Calls a method and waits for its reply; an ERROR reply throws `DBusError`. */
  call(c: MethodCall, opts: { timeoutMs?: number } = {}): Message {
    const what = `${c.interface ? `${c.interface}.` : ""}${c.member}`;
    const serial = this.send({
      type: MessageType.METHOD_CALL, flags: c.flags ?? 0, path: c.path, member: c.member,
      ...(c.interface !== undefined ? { interface: c.interface } : {}),
      ...(c.destination !== undefined ? { destination: c.destination } : {}),
      signature: c.signature ?? "", body: c.body ?? [],
    });
    this.waiting.add(serial);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const deadline = performance.now() + timeoutMs;
    try {
      for (;;) {
        this.drain();
        const reply = this.replies.get(serial);
        if (reply) {
          if (reply.type === MessageType.ERROR) {
            const text = typeof reply.body?.[0] === "string" ? reply.body[0] : "";
            throw new DBusError(reply.errorName ?? "", text, what);
          }
          return reply;
        }
        if (!this.fill(deadline)) {
          throw new DBusConnectionError("timeout", this.address, `D-Bus call ${what} to ${this.address}: no reply within ${timeoutMs / 1000}s`);
        }
      }
    } finally {
      this.waiting.delete(serial);
      this.replies.delete(serial);
    }
  }

  /** Asks the bus to route signals matching `rule` to us (bus only; a peer sends its signals to all). */
  addMatch(rule: string, opts: { timeoutMs?: number } = {}): void {
    this.call({ ...BUS, member: "AddMatch", signature: "s", body: [rule] }, opts);
  }

  /**
   * The first signal, queued or still to come, that `match` accepts; it is
   * taken off the queue, the others stay. Throws a `timeout` error at the deadline.
   */
  waitForSignal(match: (m: Message) => boolean, opts: { timeoutMs?: number } = {}): Message {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      this.drain();
      const i = this.signals.findIndex(match);
      if (i >= 0) return this.signals.splice(i, 1)[0]!;
      if (!this.fill(deadline)) {
        throw new DBusConnectionError("timeout", this.address, `no matching D-Bus signal from ${this.address} within ${timeoutMs / 1000}s`);
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
