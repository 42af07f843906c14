/**
 * The client against a real dbus-daemon (the reference implementation) on a
 * private socket: authentication, Hello, calls, errors, signals and a large
 * message. Skipped where dbus-daemon is not installed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Connection } from "./conn.ts";
import { DBusError } from "./errors.ts";
import { startDbusDaemon, type DbusDaemon } from "./fakebus.ts";
import { MessageType } from "./message.ts";

const hasDaemon = Bun.which("dbus-daemon") !== null;
const BUS = { destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus" } as const;
const uid = process.getuid?.() ?? 0;

describe.skipIf(!hasDaemon)("against dbus-daemon [requires dbus-daemon]", () => {
  let daemon: DbusDaemon;
  beforeAll(async () => {
    daemon = (await startDbusDaemon())!;
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  test("EXTERNAL auth, Hello and the bus's own methods", () => {
    using conn = Connection.open(daemon.path, { timeoutMs: 5000 });
    expect(conn.guid).toBe(daemon.guid);
    expect(conn.uniqueName).toMatch(/^:1\.\d+$/);
    const [id] = conn.call({ ...BUS, member: "GetId" }).body!;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const [names] = conn.call({ ...BUS, member: "ListNames" }).body! as [string[]];
    expect(names).toContain("org.freedesktop.DBus");
    expect(names).toContain(conn.uniqueName!);
    const [owner] = conn.call({ ...BUS, member: "GetNameOwner", signature: "s", body: ["org.freedesktop.DBus"] }).body!;
    expect(owner).toBe("org.freedesktop.DBus");
  });

  test("errors: an unknown method, and a name nobody owns (a bus without systemd)", () => {
    using conn = Connection.open(daemon.path, { timeoutMs: 5000 });
    expect(() => conn.call({ ...BUS, member: "NoSuchMethod" })).toThrow(expect.objectContaining({ errorName: "org.freedesktop.DBus.Error.UnknownMethod" }));
    let err: unknown;
    try {
      conn.call({ destination: "org.freedesktop.systemd1", path: "/org/freedesktop/systemd1", interface: "org.freedesktop.DBus.Properties", member: "Get", signature: "ss", body: ["org.freedesktop.systemd1.Manager", "Version"] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DBusError);
    expect((err as DBusError).errorName).toBe("org.freedesktop.DBus.Error.ServiceUnknown");
  });

  test("a uid other than ours is refused", () => {
    expect(() => Connection.open(daemon.path, { uid: uid + 1, timeoutMs: 5000 })).toThrow(expect.objectContaining({ code: "auth" }));
  });

  test("signals reach only a connection whose AddMatch selects them, large ones too", () => {
    using listener = Connection.open(daemon.path, { timeoutMs: 5000 });
    using other = Connection.open(daemon.path, { timeoutMs: 5000 });
    using emitter = Connection.open(daemon.path, { timeoutMs: 5000 });
    listener.addMatch("type='signal',interface='test.sysbox.Jobs',member='JobRemoved'");
    const payload = new Uint8Array(300_000).map((_, i) => i & 0xff);
    emitter.send({
      type: MessageType.SIGNAL, path: "/test/sysbox", interface: "test.sysbox.Jobs", member: "JobRemoved",
      signature: "uossay", body: [7, "/test/sysbox/job/7", "x.scope", "done", payload],
    });
    const got = listener.waitForSignal((m) => m.member === "JobRemoved", { timeoutMs: 5000 });
    expect(got.sender).toBe(emitter.uniqueName!);
    expect(got.body!.slice(0, 4)).toEqual([7, "/test/sysbox/job/7", "x.scope", "done"]);
    expect(new Uint8Array(got.body![4] as number[])).toEqual(payload);
    expect(() => other.waitForSignal((m) => m.member === "JobRemoved", { timeoutMs: 200 })).toThrow(expect.objectContaining({ code: "timeout" }));
  });
});
