/**
 * A fake D-Bus peer for tests: the SASL server side, a message bus's own
 * methods (Hello, AddMatch) and the few systemd Manager methods the cgroup
 * driver uses, answering the way dbus-daemon and systemd do. It records every
 * message it receives. `FakeBusCore` is the pure protocol (bytes in, bytes
 * out); `serveFakeBus` puts it on a Unix socket; `startFakeBus` runs that in a
 * Worker, since the client blocks its own thread while it waits.
 *
 * Run directly to capture what another client sends (one hex line per message):
 *   bun internal/dbus/fakebus.ts SOCKET_PATH '{"mode":"bus"}'
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { takeLine } from "./auth.ts";
import { Variant, type DBusValue } from "./marshal.ts";
import { decodeMessage, encodeMessage, messageLength, MessageFlag, MessageType, type Message } from "./message.ts";
import type { Transport } from "./conn.ts";

export interface FakeBusConfig {
  /** "bus": a message bus (Hello first; signals only through AddMatch). "direct": systemd's private socket. */
  mode: "bus" | "direct";
  /** The uid a client must claim; any when absent. */
  uid?: number;
  /** Refuse every AUTH. */
  rejectAuth?: boolean;
  /** Manager.Version; default "252.38-1~deb12u1". */
  systemdVersion?: string;
  /** JobRemoved's result; default "done". */
  jobResult?: string;
  /** Send JobRemoved after a job; default true. */
  emitJobRemoved?: boolean;
  /** Units that exist already (so StartTransientUnit says UnitExists), in failed state. */
  failedUnits?: string[];
  /** Never answer calls of these members. */
  silent?: string[];
  /** A bus with no systemd on it: calls to org.freedesktop.systemd1 fail with ServiceUnknown. */
  noSystemd?: boolean;
  /** Answer calls of these members with an error, `times` times (default: always). */
  errors?: Record<string, { name: string; message: string; times?: number }>;
}

const GUID = "0123456789abcdef0123456789abcdef";
const SYSTEMD_NAME = ":1.0";
const SD = { path: "/org/freedesktop/systemd1", manager: "org.freedesktop.systemd1.Manager" } as const;
const enc = new TextEncoder();

/** One connection's server side. Feed it the client's bytes; it returns what to send back. */
export class FakeBusCore {
  /** Every message received, decoded, in order. */
  readonly received: Message[] = [];
  /** The same, as the bytes on the wire. */
  readonly receivedBytes: Uint8Array[] = [];
  /** The client's SASL lines, e.g. "AUTH EXTERNAL 30". */
  readonly authLines: string[] = [];
  /** The peer should hang up (auth refused). */
  closed = false;
  private buf: Uint8Array = new Uint8Array(0);
  private phase: "nul" | "auth" | "messages" = "nul";
  private serial = 0;
  private hello = false;
  private readonly matches: string[] = [];
  private readonly units = new Map<string, "active" | "failed">();
  private jobs = 0;
  private readonly errorsLeft = new Map<string, number>();

  constructor(private readonly config: FakeBusConfig, private readonly clientName = ":1.42") {
    for (const u of config.failedUnits ?? []) this.units.set(u, "failed");
    for (const [member, e] of Object.entries(config.errors ?? {})) this.errorsLeft.set(member, e.times ?? Infinity);
  }

  feed(bytes: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    const next = new Uint8Array(this.buf.length + bytes.length);
    next.set(this.buf);
    next.set(bytes, this.buf.length);
    this.buf = next;
    if (this.phase === "nul" && this.buf.length > 0) {
      if (this.buf[0] !== 0) {
        this.closed = true;
        return out;
      }
      this.buf = this.buf.subarray(1);
      this.phase = "auth";
    }
    while (this.phase === "auth" && !this.closed) {
      const got = takeLine(this.buf);
      if (!got) break;
      this.buf = got.rest;
      this.authLines.push(got.line);
      const reply = this.authLine(got.line);
      if (reply) out.push(enc.encode(reply));
    }
    while (this.phase === "messages") {
      const len = messageLength(this.buf);
      if (len === undefined || this.buf.length < len) break;
      const bytes = this.buf.slice(0, len);
      this.buf = this.buf.subarray(len);
      const m = decodeMessage(bytes);
      this.received.push(m);
      this.receivedBytes.push(bytes);
      for (const r of this.handle(m)) out.push(encodeMessage(r));
    }
    return out;
  }

  private authLine(line: string): string | undefined {
    const [cmd, mech, resp] = line.split(" ");
    if (cmd === "AUTH") {
      if (mech !== "EXTERNAL") return "REJECTED EXTERNAL\r\n";
      if (resp === undefined) return "DATA\r\n";
      return this.checkUid(resp);
    }
    if (cmd === "DATA") return this.checkUid(mech ?? "");
    if (cmd === "NEGOTIATE_UNIX_FD") return "AGREE_UNIX_FD\r\n";
    if (cmd === "BEGIN") {
      this.phase = "messages";
      return undefined;
    }
    if (cmd === "CANCEL" || cmd === "ERROR") return "REJECTED EXTERNAL\r\n";
    return "ERROR \"Unknown command\"\r\n";
  }

  private checkUid(hex: string): string {
    const claimed = hex === "" ? undefined : Number(Buffer.from(hex, "hex").toString("ascii"));
    const wrong = this.config.uid !== undefined && claimed !== undefined && claimed !== this.config.uid;
    if (this.config.rejectAuth || wrong) return "REJECTED EXTERNAL\r\n";
    return `OK ${GUID}\r\n`;
  }

  private nextSerial(): number {
    return ++this.serial;
  }

  private reply(call: Message, signature: string, body: DBusValue[], sender: string): Message {
    return {
      type: MessageType.METHOD_RETURN, serial: this.nextSerial(), replySerial: call.serial, signature, body,
      ...this.routing(sender),
    };
  }

  private error(call: Message, name: string, text: string, sender: string): Message {
    return {
      type: MessageType.ERROR, serial: this.nextSerial(), replySerial: call.serial, errorName: name,
      signature: "s", body: [text], ...this.routing(sender),
    };
  }

  /** On a bus, messages carry sender and destination; a peer-to-peer socket has no names. */
  private routing(sender: string): Partial<Message> {
    return this.config.mode === "bus" ? { sender, destination: this.clientName } : {};
  }

  private handle(m: Message): Message[] {
    if (m.type !== MessageType.METHOD_CALL) return [];
    const out = this.answer(m);
    return (m.flags ?? 0) & MessageFlag.NO_REPLY_EXPECTED ? out.filter((r) => r.type === MessageType.SIGNAL) : out;
  }

  private answer(m: Message): Message[] {
    const toBus = this.config.mode === "bus" && m.destination === "org.freedesktop.DBus";
    const busSender = "org.freedesktop.DBus";
    if (this.config.mode === "bus" && !this.hello && !(toBus && m.member === "Hello")) {
      return [this.error(m, "org.freedesktop.DBus.Error.AccessDenied", "Client tried to send a message other than Hello without being registered", busSender)];
    }
    if (this.config.silent?.includes(m.member ?? "")) return [];
    if (this.config.noSystemd && m.destination === "org.freedesktop.systemd1") {
      return [this.error(m, "org.freedesktop.DBus.Error.ServiceUnknown", "The name org.freedesktop.systemd1 was not provided by any .service files", busSender)];
    }
    const left = this.errorsLeft.get(m.member ?? "");
    if (left !== undefined && left > 0) {
      this.errorsLeft.set(m.member!, left - 1);
      const e = this.config.errors![m.member!]!;
      return [this.error(m, e.name, e.message, toBus ? busSender : SYSTEMD_NAME)];
    }
    if (toBus) return this.busMethod(m);
    if (m.path === SD.path) return this.systemdMethod(m);
    return [this.error(m, "org.freedesktop.DBus.Error.UnknownObject", `Unknown object '${m.path}'.`, SYSTEMD_NAME)];
  }

  private busMethod(m: Message): Message[] {
    const s = "org.freedesktop.DBus";
    switch (m.member) {
      case "Hello": {
        if (this.hello) return [this.error(m, "org.freedesktop.DBus.Error.Failed", "Already handled an Hello message", s)];
        this.hello = true;
        const acquired: Message = {
          type: MessageType.SIGNAL, serial: 0, path: "/org/freedesktop/DBus", interface: s, member: "NameAcquired",
          signature: "s", body: [this.clientName], sender: s, destination: this.clientName,
        };
        const r = this.reply(m, "s", [this.clientName], s);
        return [r, { ...acquired, serial: this.nextSerial() }];
      }
      case "AddMatch":
        this.matches.push(String(m.body?.[0]));
        return [this.reply(m, "", [], s)];
      case "RemoveMatch":
        return [this.reply(m, "", [], s)];
      default:
        return [this.error(m, "org.freedesktop.DBus.Error.UnknownMethod", `Unknown method ${m.member}`, s)];
    }
  }

  private systemdMethod(m: Message): Message[] {
    const unknown = () => [this.error(m, "org.freedesktop.DBus.Error.UnknownMethod", `Unknown method ${m.member} or interface ${m.interface}.`, SYSTEMD_NAME)];
    if (m.interface === "org.freedesktop.DBus.Properties" && m.member === "Get") {
      const [iface, prop] = m.body ?? [];
      if (iface === SD.manager && prop === "Version") {
        return [this.reply(m, "v", [new Variant("s", this.config.systemdVersion ?? "252.38-1~deb12u1")], SYSTEMD_NAME)];
      }
      return [this.error(m, "org.freedesktop.DBus.Error.UnknownProperty", `Unknown property ${String(prop)}`, SYSTEMD_NAME)];
    }
    if (m.interface !== SD.manager) return unknown();
    const unit = String(m.body?.[0] ?? "");
    switch (m.member) {
      case "StartTransientUnit": {
        if (m.signature !== "ssa(sv)a(sa(sv))") return [this.error(m, "org.freedesktop.DBus.Error.InvalidArgs", "Invalid arguments", SYSTEMD_NAME)];
        if (this.units.has(unit)) return [this.error(m, "org.freedesktop.systemd1.UnitExists", `Unit ${unit} was already loaded or has a fragment file.`, SYSTEMD_NAME)];
        this.units.set(unit, "active");
        return this.job(m, unit);
      }
      case "StopUnit": {
        if (!this.units.has(unit)) return [this.error(m, "org.freedesktop.systemd1.NoSuchUnit", `Unit ${unit} not loaded.`, SYSTEMD_NAME)];
        this.units.delete(unit);
        return this.job(m, unit);
      }
      case "SetUnitProperties": {
        if (m.signature !== "sba(sv)") return [this.error(m, "org.freedesktop.DBus.Error.InvalidArgs", "Invalid arguments", SYSTEMD_NAME)];
        if (!this.units.has(unit)) return [this.error(m, "org.freedesktop.systemd1.NoSuchUnit", `Unit ${unit} not loaded.`, SYSTEMD_NAME)];
        return [this.reply(m, "", [], SYSTEMD_NAME)];
      }
      case "ResetFailedUnit": {
        if (!this.units.has(unit)) return [this.error(m, "org.freedesktop.systemd1.NoSuchUnit", `Unit ${unit} not loaded.`, SYSTEMD_NAME)];
        if (this.units.get(unit) === "failed") this.units.delete(unit);
        return [this.reply(m, "", [], SYSTEMD_NAME)];
      }
      default:
        return unknown();
    }
  }

  /** The job reply, then (when configured) the JobRemoved signal for it. */
  private job(m: Message, unit: string): Message[] {
    const id = ++this.jobs;
    const path = `/org/freedesktop/systemd1/job/${id}`;
    const out = [this.reply(m, "o", [path], SYSTEMD_NAME)];
    if (this.config.emitJobRemoved ?? true) {
      const signal: Message = {
        type: MessageType.SIGNAL, serial: this.nextSerial(), path: SD.path, interface: SD.manager, member: "JobRemoved",
        signature: "uoss", body: [id, path, unit, this.config.jobResult ?? "done"],
        ...(this.config.mode === "bus" ? { sender: SYSTEMD_NAME } : {}),
      };
      if (this.config.mode === "direct" || this.matches.some((rule) => matchRule(rule, signal))) out.push(signal);
    }
    return out;
  }
}

/** dbus-daemon's match rules, as far as these tests use them: every key='value' must equal the field. */
export function matchRule(rule: string, m: Message): boolean {
  const fields: Record<string, string | undefined> = {
    type: m.type === MessageType.SIGNAL ? "signal" : undefined,
    sender: m.sender, interface: m.interface, member: m.member, path: m.path,
  };
  for (const part of rule.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim().replace(/^'(.*)'$/, "$1");
    if (key === "sender" && value === "org.freedesktop.systemd1" && m.sender === SYSTEMD_NAME) continue;
    if (key in fields && fields[key] !== value) return false;
  }
  return true;
}

/** An in-memory transport to a FakeBusCore: same thread, no socket; recv never waits. */
export function memoryTransport(core: FakeBusCore): Transport {
  const queue: Uint8Array[] = [];
  let closed = false;
  return {
    send(data) {
      queue.push(...core.feed(data));
    },
    recv() {
      if (queue.length > 0) return queue.shift()!;
      return closed || core.closed ? new Uint8Array(0) : null;
    },
    close() {
      closed = true;
    },
  };
}

/**
 * Serves the fake bus on a Unix socket in this thread; one FakeBusCore per
 * connection. `onData` runs after each chunk the core has taken in.
 */
export function serveFakeBus(
  path: string, config: FakeBusConfig, opts: { onData?: (core: FakeBusCore) => void } = {},
): { cores: FakeBusCore[]; stop(): void } {
  const cores: FakeBusCore[] = [];
  const server = Bun.listen<{ core: FakeBusCore }>({
    unix: path,
    socket: {
      open(socket) {
        const core = new FakeBusCore(config, `:1.${42 + cores.length}`);
        cores.push(core);
        socket.data = { core };
      },
      data(socket, data) {
        const core = socket.data.core;
        for (const chunk of core.feed(new Uint8Array(data))) socket.write(chunk);
        opts.onData?.(core);
        if (core.closed) socket.end();
      },
    },
  });
  return { cores, stop: () => server.stop(true) };
}

/** What the worker reports: each connection's auth lines and received messages as wire bytes. */
export interface FakeBusLog {
  connections: Array<{ authLines: string[]; messages: Uint8Array[] }>;
}

export interface FakeBus {
  /** The socket path to connect to. */
  path: string;
  /** Everything received so far, decoded. */
  log(): Promise<Array<{ authLines: string[]; messages: Message[] }>>;
  stop(): Promise<void>;
}

/** Starts the fake bus on a fresh socket path, served from a Worker thread. */
export async function startFakeBus(config: FakeBusConfig): Promise<FakeBus> {
  const dir = mkdtempSync(join(tmpdir(), "fakebus-"));
  const path = join(dir, "bus.sock");
  const worker = new Worker(new URL("./fakebus_worker.ts", import.meta.url).href);
  const next = () =>
    new Promise<{ type: string; log?: FakeBusLog; error?: string }>((resolve) => {
      worker.addEventListener("message", (e) => resolve(e.data), { once: true });
    });
  const started = next();
  worker.postMessage({ cmd: "start", path, config });
  const first = await started;
  if (first.type !== "listening") {
    void worker.terminate();
    throw new Error(`fake bus did not start: ${first.error ?? first.type}`);
  }
  return {
    path,
    async log() {
      const got = next();
      worker.postMessage({ cmd: "log" });
      const { log } = await got;
      return log!.connections.map((c) => ({ authLines: c.authLines, messages: c.messages.map(decodeMessage) }));
    },
    async stop() {
      const got = next();
      worker.postMessage({ cmd: "stop" });
      await got;
      await worker.terminate();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (import.meta.main) {
  const [path, json] = process.argv.slice(2);
  if (!path) throw new Error("usage: fakebus.ts SOCKET_PATH [CONFIG_JSON]");
  const printed = new Map<FakeBusCore, { lines: number; messages: number }>();
  serveFakeBus(path, JSON.parse(json ?? '{"mode":"bus"}') as FakeBusConfig, {
    onData(core) {
      const seen = printed.get(core) ?? { lines: 0, messages: 0 };
      for (; seen.lines < core.authLines.length; seen.lines++) console.log(`# ${JSON.stringify(core.authLines[seen.lines])}`);
      for (; seen.messages < core.receivedBytes.length; seen.messages++) console.log(Buffer.from(core.receivedBytes[seen.messages]!).toString("hex"));
      printed.set(core, seen);
    },
  });
}

/** A real dbus-daemon on a private socket, for tests; undefined when the binary is missing. */
export interface DbusDaemon {
  path: string;
  /** The server GUID from the address it printed. */
  guid: string;
  stop(): Promise<void>;
}

const DAEMON_CONFIG = (path: string) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=${path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

export async function startDbusDaemon(): Promise<DbusDaemon | undefined> {
  const bin = Bun.which("dbus-daemon");
  if (!bin) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "dbus-daemon-"));
  const path = join(dir, "bus.sock");
  const config = join(dir, "bus.conf");
  await Bun.write(config, DAEMON_CONFIG(path));
  const proc = Bun.spawn([bin, `--config-file=${config}`, "--nofork", "--print-address"], { stdout: "pipe", stderr: "ignore" });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const guid = /guid=([0-9a-f]+)/.exec(text)?.[1];
  if (!guid) {
    proc.kill();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`dbus-daemon did not print its address (got ${JSON.stringify(text)})`);
  }
  return {
    path, guid,
    async stop() {
      proc.kill();
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
