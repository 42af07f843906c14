import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Connection, type Transport } from "./conn.ts";
import { DBusConnectionError, DBusError } from "./errors.ts";
import { FakeBusCore, memoryTransport, startFakeBus, type FakeBus, type FakeBusConfig } from "./fakebus.ts";
import { Variant } from "./marshal.ts";
import { encodeMessage, MessageType } from "./message.ts";

const SD = { destination: "org.freedesktop.systemd1", path: "/org/freedesktop/systemd1" } as const;
const getVersion = { ...SD, interface: "org.freedesktop.DBus.Properties", member: "Get", signature: "ss", body: ["org.freedesktop.systemd1.Manager", "Version"] };

function fake(config: FakeBusConfig): { core: FakeBusCore; transport: Transport } {
  const core = new FakeBusCore(config);
  return { core, transport: memoryTransport(core) };
}

/** Hands the server's bytes over one at a time: every message arrives split at every offset. */
function byteByByte(t: Transport): Transport {
  const pending: number[] = [];
  return {
    send: (d) => t.send(d),
    recv(ms) {
      if (pending.length === 0) {
        const chunk = t.recv(ms);
        if (chunk === null || chunk.length === 0) return chunk;
        pending.push(...chunk);
      }
      return new Uint8Array([pending.shift()!]);
    },
    close: () => t.close(),
  };
}

describe("connection over an in-memory fake bus", () => {
  test("peer-to-peer (systemd's private socket): auth, no Hello, a call", () => {
    const { core, transport } = fake({ mode: "direct", uid: 1000 });
    using conn = Connection.open("/run/systemd/private", { hello: false, uid: 1000, transport });
    expect(core.authLines).toEqual(["AUTH EXTERNAL 31303030", "BEGIN"]);
    expect(conn.guid).toBe("0123456789abcdef0123456789abcdef");
    expect(conn.uniqueName).toBeUndefined();
    const reply = conn.call(getVersion);
    expect(reply.body).toEqual([new Variant("s", "252.38-1~deb12u1")]);
    expect(core.received.map((m) => [m.serial, m.member])).toEqual([[1, "Get"]]);
  });

  test("message bus: Hello first, replies matched by serial, NameAcquired queued as a signal", () => {
    const { core, transport } = fake({ mode: "bus" });
    using conn = Connection.open("/bus", { uid: 0, transport });
    expect(conn.uniqueName).toBe(":1.42");
    conn.addMatch("type='signal',member='JobRemoved'");
    expect(core.received.map((m) => [m.serial, m.member, m.destination])).toEqual([
      [1, "Hello", "org.freedesktop.DBus"],
      [2, "AddMatch", "org.freedesktop.DBus"],
    ]);
    const acquired = conn.waitForSignal((m) => m.member === "NameAcquired", { timeoutMs: 0 });
    expect(acquired.body).toEqual([":1.42"]);
  });

  test("every server message split at every byte offset still parses", () => {
    const { core, transport } = fake({ mode: "bus" });
    using conn = Connection.open("/bus", { uid: 0, transport: byteByByte(transport) });
    conn.addMatch("type='signal'");
    const [job] = conn.call({ ...SD, interface: "org.freedesktop.systemd1.Manager", member: "StartTransientUnit", signature: "ssa(sv)a(sa(sv))", body: ["a.scope", "replace", [], []] }).body!;
    expect(job).toBe("/org/freedesktop/systemd1/job/1");
    const removed = conn.waitForSignal((m) => m.member === "JobRemoved", { timeoutMs: 0 });
    expect(removed.body).toEqual([1, "/org/freedesktop/systemd1/job/1", "a.scope", "done"]);
    expect(core.received.length).toBe(3);
  });

  test("an error reply throws DBusError with the name and text", () => {
    const { transport } = fake({ mode: "direct", errors: { Get: { name: "org.freedesktop.DBus.Error.AccessDenied", message: "nope" } } });
    using conn = Connection.open("/p", { hello: false, uid: 0, transport });
    let err: unknown;
    try {
      conn.call(getVersion);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DBusError);
    expect(err).toMatchObject({ errorName: "org.freedesktop.DBus.Error.AccessDenied", method: "org.freedesktop.DBus.Properties.Get" });
    expect((err as Error).message).toBe("org.freedesktop.DBus.Properties.Get: org.freedesktop.DBus.Error.AccessDenied: nope");
  });

  test("no reply in time is a timeout error; the connection stays usable", () => {
    const { transport } = fake({ mode: "direct", silent: ["Ping"] });
    using conn = Connection.open("/p", { hello: false, uid: 0, transport });
    expect(() => conn.call({ path: "/", interface: "org.freedesktop.DBus.Peer", member: "Ping" }, { timeoutMs: 50 }))
      .toThrow(expect.objectContaining({ code: "timeout", message: "D-Bus call org.freedesktop.DBus.Peer.Ping to /p: no reply within 0.05s" }));
    expect(conn.call(getVersion).body?.length).toBe(1);
  });

  test("refused authentication", () => {
    const { transport } = fake({ mode: "direct", uid: 1000 });
    expect(() => Connection.open("/p", { hello: false, uid: 0, transport })).toThrow(
      expect.objectContaining({ code: "auth", message: "D-Bus server at /p refused EXTERNAL authentication as uid 0 (it offers EXTERNAL)" }),
    );
  });

  test("a bus refuses calls before Hello", () => {
    const { transport } = fake({ mode: "bus" });
    using conn = Connection.open("/bus", { hello: false, uid: 0, transport });
    expect(() => conn.call(getVersion)).toThrow(expect.objectContaining({ errorName: "org.freedesktop.DBus.Error.AccessDenied" }));
  });

  test("the peer hanging up is a closed error", () => {
    const t: Transport = { send() {}, recv: () => new Uint8Array(0), close() {} };
    expect(() => Connection.open("/p", { hello: false, uid: 0, transport: t })).toThrow(
      expect.objectContaining({ code: "closed", message: "D-Bus peer at /p closed the connection" }),
    );
  });

  test("incoming method calls get UnknownMethod, Peer.Ping an empty reply", () => {
    const sent: Uint8Array[] = [];
    const core = new FakeBusCore({ mode: "direct" });
    const inner = memoryTransport(core);
    const t: Transport = { send: (d) => { sent.push(d); inner.send(d); }, recv: (ms) => inner.recv(ms), close: () => inner.close() };
    using conn = Connection.open("/p", { hello: false, uid: 0, transport: t });
    // The server calls us before answering.
    const incoming = [
      encodeMessage({ type: MessageType.METHOD_CALL, serial: 90, path: "/", interface: "org.freedesktop.DBus.Peer", member: "Ping" }),
      encodeMessage({ type: MessageType.METHOD_CALL, serial: 91, path: "/", interface: "x.y", member: "Z" }),
    ];
    const recv = t.recv;
    t.recv = (ms) => incoming.shift() ?? recv(ms);
    conn.call(getVersion);
    const answers = core.received.filter((m) => m.replySerial !== undefined);
    expect(answers.map((m) => [m.type, m.replySerial, m.errorName])).toEqual([
      [MessageType.METHOD_RETURN, 90, undefined],
      [MessageType.ERROR, 91, "org.freedesktop.DBus.Error.UnknownMethod"],
    ]);
  });
});

describe("connection over a Unix socket (fake bus in a worker thread)", () => {
  let bus: FakeBus | undefined;
  afterEach(async () => {
    await bus?.stop();
    bus = undefined;
  });

  test("a missing socket is a connect error naming the path and errno", () => {
    const dir = mkdtempSync(join(tmpdir(), "dbus-"));
    try {
      const path = join(dir, "absent");
      let err: unknown;
      try {
        Connection.open(path);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DBusConnectionError);
      expect(err).toMatchObject({ code: "connect", errno: "ENOENT", message: `connect ${path}: ENOENT` });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test("peer-to-peer over the socket: a call, then a deadline kept by poll", async () => {
    bus = await startFakeBus({ mode: "direct", silent: ["Ping"] });
    using conn = Connection.open(bus.path, { hello: false, uid: 0, timeoutMs: 5000 });
    expect(conn.call(getVersion).body).toEqual([new Variant("s", "252.38-1~deb12u1")]);
    const t0 = performance.now();
    expect(() => conn.call({ path: "/", interface: "org.freedesktop.DBus.Peer", member: "Ping" }, { timeoutMs: 200 }))
      .toThrow(expect.objectContaining({ code: "timeout" }));
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(190);
    expect(waited).toBeLessThan(2000);
  }, 10_000);

  test("bus mode over the socket: the call sequence and the recorded bytes", async () => {
    bus = await startFakeBus({ mode: "bus", failedUnits: ["a.scope"] });
    const conn = Connection.open(bus.path, { uid: 0, timeoutMs: 5000 });
    conn.addMatch("type='signal',member='JobRemoved'");
    conn.call({ ...SD, interface: "org.freedesktop.systemd1.Manager", member: "ResetFailedUnit", signature: "s", body: ["a.scope"] });
    const [job] = conn.call({ ...SD, interface: "org.freedesktop.systemd1.Manager", member: "StartTransientUnit", signature: "ssa(sv)a(sa(sv))", body: ["a.scope", "replace", [["PIDs", new Variant("au", [1])]], []] }).body!;
    const done = conn.waitForSignal((m) => m.member === "JobRemoved" && m.body?.[1] === job);
    expect(done.body?.[3]).toBe("done");
    expect(done.sender).toBe(":1.0");
    conn.close();
    const [c] = await bus.log();
    expect(c!.authLines).toEqual(["AUTH EXTERNAL 30", "BEGIN"]);
    expect(c!.messages.map((m) => m.member)).toEqual(["Hello", "AddMatch", "ResetFailedUnit", "StartTransientUnit"]);
  }, 10_000);
});
