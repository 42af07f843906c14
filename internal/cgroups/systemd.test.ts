import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Variant, type Message } from "../dbus/mod.ts";
import { FakeBusCore, memoryTransport, startDbusDaemon, startFakeBus, type FakeBus, type FakeBusConfig } from "../dbus/fakebus.ts";
import {
  connectSystemd, defaultAddresses, JOB_REMOVED_MATCH, setUnitResources, startTransientScope, stopUnit, SystemdJobError, SystemdUnavailableError,
  type SystemdConnectOptions,
} from "./systemd.ts";
import { cpuQuotaPerSecUSec, cpusetMask, resourceProperties, scopeProperties, UINT64_MAX, type ScopeSpec, type UnitProperty } from "./systemd_props.ts";
import type { LinuxResources } from "./spec.ts";

const t = (n: number | bigint) => new Variant("t", BigInt(n));
const b = (v: boolean) => new Variant("b", v);
const s = (v: string) => new Variant("s", v);

/** Docker's `--memory 300m --cpus 1.5 --pids-limit 100 --cpu-shares 512 --cpuset-cpus 0-1`. */
const SAMPLE: LinuxResources = {
  memory: { limit: 314572800, reservation: 104857600, swap: 629145600 },
  cpu: { shares: 512, quota: 150000, period: 100000, cpus: "0-1", mems: "0" },
  pids: { limit: 100 },
  blockIO: { weight: 500 },
};

const SCOPE: ScopeSpec = {
  slice: "system.slice", unitName: "docker-4f1a.scope", pid: 4242, resources: SAMPLE, description: "libcontainer container 4f1a",
};

const BASE_V2: UnitProperty[] = [
  ["Description", s("libcontainer container 4f1a")],
  ["Slice", s("system.slice")],
  ["Delegate", b(true)],
  ["PIDs", new Variant("au", [4242])],
  ["MemoryAccounting", b(true)],
  ["CPUAccounting", b(true)],
  ["IOAccounting", b(true)],
  ["TasksAccounting", b(true)],
  ["DefaultDependencies", b(false)],
];

/** What a StartTransientUnit carried, with ay values compared as plain arrays. */
function sentProperties(m: Message): Array<[string, string, unknown]> {
  expect(m.member).toBe("StartTransientUnit");
  expect(m.signature).toBe("ssa(sv)a(sa(sv))");
  return (m.body![2] as Array<[string, Variant]>).map(([k, v]) => [k, v.signature, v.value instanceof Uint8Array ? [...v.value] : v.value]);
}
const flat = (props: UnitProperty[]): Array<[string, string, unknown]> =>
  props.map(([k, v]) => [k, v.signature, v.value instanceof Uint8Array ? [...v.value] : v.value]);

describe("unit properties from OCI resources", () => {
  test("cgroup v2: runc's names and conversions", () => {
    expect(flat(scopeProperties(SCOPE, { cgroupMode: "v2", systemdVersion: 252 }))).toEqual(flat([
      ...BASE_V2,
      ["MemoryMax", t(314572800)],
      ["MemoryLow", t(104857600)],
      ["MemorySwapMax", t(314572800)], // OCI swap is memory+swap; v2 wants swap alone
      ["CPUWeight", t(59)], // shares 512 -> weight 59, the cgroupfs code's conversion (convert.ts)
      ["CPUQuotaPeriodUSec", t(100000)],
      ["CPUQuotaPerSecUSec", t(1500000)],
      ["TasksMax", t(100)],
      ["AllowedCPUs", new Variant("ay", new Uint8Array([0x03]))],
      ["AllowedMemoryNodes", new Variant("ay", new Uint8Array([0x01]))],
    ]));
  });

  test("cgroup v1 and hybrid: the legacy names", () => {
    for (const cgroupMode of ["v1", "hybrid"] as const) {
      const props = scopeProperties(SCOPE, { cgroupMode, systemdVersion: 252 });
      expect(props.slice(0, 9).map(([k]) => k)).toEqual([
        "Description", "Slice", "Delegate", "PIDs", "MemoryAccounting", "CPUAccounting", "BlockIOAccounting", "TasksAccounting", "DefaultDependencies",
      ]);
      expect(flat(props.slice(9))).toEqual(flat([
        ["MemoryLimit", t(314572800)],
        ["CPUShares", t(512)],
        ["CPUQuotaPeriodUSec", t(100000)],
        ["CPUQuotaPerSecUSec", t(1500000)],
        ["BlockIOWeight", t(500)],
        ["TasksMax", t(100)],
        ["AllowedCPUs", new Variant("ay", new Uint8Array([0x03]))],
        ["AllowedMemoryNodes", new Variant("ay", new Uint8Array([0x01]))],
      ]));
    }
  });

  test("unlimited values are systemd's infinity; old systemds get no period or cpuset", () => {
    const props = scopeProperties(
      { slice: "system.slice", unitName: "x.scope", pid: 1, resources: { memory: { limit: -1 }, pids: { limit: -1 }, cpu: { quota: -1, period: 50000, cpus: "3" } } },
      { cgroupMode: "v2", systemdVersion: 241 },
    );
    expect(flat(props.slice(9))).toEqual(flat([
      ["MemoryMax", t(UINT64_MAX)],
      ["MemorySwapMax", t(UINT64_MAX)], // unlimited memory lifts swap too
      ["CPUQuotaPerSecUSec", t(UINT64_MAX)],
      ["TasksMax", t(UINT64_MAX)],
    ]));
  });

  test("a slice gets Wants= instead of Slice= and no Delegate; no resources, no resource properties", () => {
    const props = scopeProperties({ slice: "kubepods.slice", unitName: "kubepods-pod1.slice", pid: 0 }, { cgroupMode: "v2", systemdVersion: 252 });
    expect(props.map(([k]) => k)).toEqual([
      "Description", "Wants", "MemoryAccounting", "CPUAccounting", "IOAccounting", "TasksAccounting", "DefaultDependencies",
    ]);
    expect(props[0]![1]).toEqual(s("libcontainer container kubepods-pod1.slice"));
  });

  test("unified keys systemd knows become properties; the rest are left to cgroupfs", () => {
    const props = scopeProperties(
      { slice: "system.slice", unitName: "x.scope", pid: 1, resources: { unified: { "cpu.max": "max 20000", "memory.high": "1048576", "pids.max": "max", "io.weight": "50", "cpuset.cpus": "8" } } },
      { cgroupMode: "v2", systemdVersion: 252 },
    );
    expect(flat(props.slice(9))).toEqual(flat([
      ["CPUQuotaPeriodUSec", t(20000)],
      ["CPUQuotaPerSecUSec", t(UINT64_MAX)],
      ["MemoryHigh", t(1048576)],
      ["TasksMax", t(UINT64_MAX)],
      ["AllowedCPUs", new Variant("ay", new Uint8Array([0x00, 0x01]))],
    ]));
    expect(() => scopeProperties({ slice: "s.slice", unitName: "x.scope", pid: 1, resources: { unified: { "memory.max": "lots" } } }, { cgroupMode: "v2", systemdVersion: 252 }))
      .toThrow(/memory\.max.*invalid value "lots"/);
  });

  test.each([
    [150000, 100000, 1500000n],
    [50000, 0, 500000n], // no period: the 100 ms default
    [12345, 100000, 130000n], // 123450 µs/s rounds up to whole percents
    [1000, 100000, 10000n],
    [0, 100000, UINT64_MAX],
  ])("quota %d per period %d is %p µs per second", (quota, period, expected) => {
    expect(cpuQuotaPerSecUSec(quota, period)).toBe(expected);
  });

  test.each([
    ["0", [0x01]],
    ["0-1", [0x03]],
    ["1,3-5", [0x3a]],
    ["8", [0x00, 0x01]],
    ["0-3, 16 ,", [0x0f, 0x00, 0x01]],
  ])("cpuset %p is the mask %p (bit N of byte N/8)", (list, mask) => {
    expect([...cpusetMask(list)]).toEqual(mask);
  });

  test.each(["", " , ", "3-1", "a", "1-b", "-1"])("cpuset %p is refused", (list) => {
    expect(() => cpusetMask(list)).toThrow(RangeError);
  });
});

/** connect options that talk to an in-memory fake instead of sockets. */
function viaMemory(config: FakeBusConfig): { core: FakeBusCore; connect: SystemdConnectOptions } {
  const core = new FakeBusCore(config);
  return {
    core,
    connect: { addresses: [{ path: "/run/systemd/private", bus: config.mode === "bus" }], transport: () => memoryTransport(core), uid: 0 },
  };
}

describe("startTransientScope and stopUnit (in-memory fake systemd)", () => {
  test("systemd's private socket: Version, then StartTransientUnit with exactly the mapped properties", () => {
    const { core, connect } = viaMemory({ mode: "direct" });
    const scope = startTransientScope(SCOPE, { cgroupMode: "v2", connect });
    expect(scope.unit).toBe("docker-4f1a.scope");
    expect(scope.cgroupPath).toBe("/system.slice/docker-4f1a.scope");
    expect(core.received.map((m) => m.member)).toEqual(["Get", "StartTransientUnit"]);
    const start = core.received[1]!;
    expect(start).toMatchObject({ destination: "org.freedesktop.systemd1", path: "/org/freedesktop/systemd1", interface: "org.freedesktop.systemd1.Manager", flags: 0 });
    expect(start.body!.slice(0, 2)).toEqual(["docker-4f1a.scope", "replace"]);
    expect(start.body![3]).toEqual([]);
    expect(sentProperties(start)).toEqual(flat(scopeProperties(SCOPE, { cgroupMode: "v2", systemdVersion: 252 })));
  });

  test("setUnitResources: SetUnitProperties (runtime) on the live scope with the limit properties only", () => {
    const { core, connect } = viaMemory({ mode: "direct" });
    using bus = connectSystemd(connect);
    startTransientScope(SCOPE, { cgroupMode: "v2", bus });
    const res: LinuxResources = { memory: { limit: 300 * 1024 * 1024 } };
    const sent = setUnitResources("docker-4f1a.scope", res, { cgroupMode: "v2", bus });
    expect(flat(sent)).toEqual([["MemoryMax", "t", BigInt(300 * 1024 * 1024)]]);
    const set = core.received.findLast((m) => m.member === "SetUnitProperties")!;
    expect(set.signature).toBe("sba(sv)");
    expect(set.body!.slice(0, 2)).toEqual(["docker-4f1a.scope", true]);
    const props: Array<[string, string, unknown]> = (set.body![2] as Array<[string, Variant]>).map(([k, v]) => [k, v.signature, v.value]);
    expect(props).toEqual(flat(resourceProperties(res, { cgroupMode: "v2", systemdVersion: 252 })));
    expect(() => setUnitResources("docker-gone.scope", res, { cgroupMode: "v2", bus })).toThrow("Unit docker-gone.scope not loaded.");
  });

  test("through the system bus: Hello and the JobRemoved match come first", () => {
    const { core, connect } = viaMemory({ mode: "bus" });
    startTransientScope(SCOPE, { cgroupMode: "v2", connect });
    expect(core.received.map((m) => m.member)).toEqual(["Hello", "AddMatch", "Get", "StartTransientUnit"]);
    expect(core.received[1]!.body).toEqual([JOB_REMOVED_MATCH]);
  });

  test("a leftover unit of the same name is reset and the start retried once", () => {
    const { core, connect } = viaMemory({ mode: "direct", failedUnits: ["docker-4f1a.scope"] });
    startTransientScope(SCOPE, { cgroupMode: "v2", connect });
    expect(core.received.map((m) => m.member)).toEqual(["Get", "StartTransientUnit", "ResetFailedUnit", "StartTransientUnit"]);
  });

  test("a job that fails is reported with its result, and the unit reset", () => {
    const { core, connect } = viaMemory({ mode: "direct", jobResult: "failed" });
    expect(() => startTransientScope(SCOPE, { cgroupMode: "v2", connect })).toThrow(
      expect.objectContaining({ name: "SystemdJobError", result: "failed", message: "systemd failed to create unit docker-4f1a.scope: job failed" }),
    );
    expect(core.received.map((m) => m.member)).toEqual(["Get", "StartTransientUnit", "ResetFailedUnit"]);
  });

  test("no JobRemoved in time: a timeout error naming the unit", () => {
    const { core, connect } = viaMemory({ mode: "direct", emitJobRemoved: false });
    let err: unknown;
    try {
      startTransientScope(SCOPE, { cgroupMode: "v2", connect, timeoutMs: 100 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SystemdJobError);
    expect((err as Error).message).toBe("timed out after 0.1s waiting for systemd to create unit docker-4f1a.scope");
    expect(core.received.at(-1)!.member).toBe("ResetFailedUnit");
  });

  test("an error reply from systemd surfaces as the DBusError", () => {
    const { connect } = viaMemory({ mode: "direct", errors: { StartTransientUnit: { name: "org.freedesktop.DBus.Error.InvalidArgs", message: "Cannot set property AllowedCPUs, or unknown property." } } });
    expect(() => startTransientScope(SCOPE, { cgroupMode: "v2", connect })).toThrow(
      "org.freedesktop.systemd1.Manager.StartTransientUnit: org.freedesktop.DBus.Error.InvalidArgs: Cannot set property AllowedCPUs, or unknown property.",
    );
  });

  test("stopUnit waits for the stop job and resets the unit; a unit already gone is fine", () => {
    const { core, connect } = viaMemory({ mode: "direct" });
    using bus = connectSystemd(connect);
    startTransientScope(SCOPE, { cgroupMode: "v2", bus });
    expect(stopUnit("docker-4f1a.scope", { bus })).toEqual({ result: "done" });
    expect(stopUnit("docker-4f1a.scope", { bus })).toEqual({ result: "gone" });
    expect(core.received.map((m) => [m.member, m.body?.[0]])).toEqual([
      ["Get", "org.freedesktop.systemd1.Manager"],
      ["StartTransientUnit", "docker-4f1a.scope"],
      ["StopUnit", "docker-4f1a.scope"],
      ["ResetFailedUnit", "docker-4f1a.scope"],
      ["StopUnit", "docker-4f1a.scope"],
    ]);
    expect(core.received[2]!.body).toEqual(["docker-4f1a.scope", "replace"]);
  });
});

describe("reaching systemd", () => {
  let dir: string | undefined;
  let fake: FakeBus | undefined;
  afterEach(async () => {
    await fake?.stop();
    fake = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  test("private socket first, then $DBUS_SYSTEM_BUS_ADDRESS or the system bus", () => {
    expect(defaultAddresses({})).toEqual([
      { path: "/run/systemd/private", bus: false },
      { path: "/run/dbus/system_bus_socket", bus: true },
    ]);
    expect(defaultAddresses({ DBUS_SYSTEM_BUS_ADDRESS: "tcp:host=x;unix:guid=1,path=/run/x%20y/bus" })[1]).toEqual({ path: "/run/x y/bus", bus: true });
  });

  test("no systemd anywhere: the error names the private socket and its errno", () => {
    dir = mkdtempSync(join(tmpdir(), "sd-"));
    const addresses = [{ path: "/run/systemd/private", bus: false }, { path: join(dir, "system_bus_socket"), bus: true }];
    // Where this host does run systemd, point the first address somewhere empty instead.
    if (existsSync("/run/systemd/private")) addresses[0]!.path = join(dir, "private");
    let err: unknown;
    try {
      connectSystemd({ addresses });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SystemdUnavailableError);
    expect((err as Error).message).toBe(
      `systemd cgroup driver requested (--systemd-cgroup) but systemd is not running: connect ${addresses[0]!.path}: ENOENT`,
    );
    expect((err as SystemdUnavailableError).reasons).toEqual([
      `connect ${addresses[0]!.path}: ENOENT`,
      `connect ${addresses[1]!.path}: ENOENT`,
    ]);
  });

  test("a system bus without systemd on it also means not running", async () => {
    dir = mkdtempSync(join(tmpdir(), "sd-"));
    fake = await startFakeBus({ mode: "bus", noSystemd: true });
    const addresses = [{ path: join(dir, "private"), bus: false }, { path: fake.path, bus: true }];
    expect(() => connectSystemd({ addresses, uid: 0, timeoutMs: 5000 })).toThrow(
      `systemd cgroup driver requested (--systemd-cgroup) but systemd is not running: connect ${addresses[0]!.path}: ENOENT`,
    );
  });

  test("authentication refused: cannot be reached, with the reason", async () => {
    fake = await startFakeBus({ mode: "direct", rejectAuth: true });
    expect(() => connectSystemd({ addresses: [{ path: fake!.path, bus: false }], uid: 0, timeoutMs: 5000 })).toThrow(
      `systemd cgroup driver requested (--systemd-cgroup) but systemd cannot be reached: D-Bus server at ${fake.path} refused EXTERNAL authentication as uid 0 (it offers EXTERNAL)`,
    );
  });

  test("over a Unix socket through a bus: the fake bus records the exact call", async () => {
    fake = await startFakeBus({ mode: "bus" });
    const scope = startTransientScope(SCOPE, {
      cgroupMode: "v2", connect: { addresses: [{ path: fake.path, bus: true }], timeoutMs: 5000 }, timeoutMs: 5000,
    });
    expect(scope.cgroupPath).toBe("/system.slice/docker-4f1a.scope");
    const [conn] = await fake.log();
    expect(conn!.authLines).toEqual([`AUTH EXTERNAL ${Buffer.from(String(process.getuid?.() ?? 0)).toString("hex")}`, "BEGIN"]);
    expect(conn!.messages.map((m) => m.member)).toEqual(["Hello", "AddMatch", "Get", "StartTransientUnit"]);
    expect(sentProperties(conn!.messages[3]!)).toEqual(flat(scopeProperties(SCOPE, { cgroupMode: "v2", systemdVersion: 252 })));
  });

  test.skipIf(!Bun.which("dbus-daemon"))("a real dbus-daemon without systemd: not running [requires dbus-daemon]", async () => {
    const daemon = (await startDbusDaemon())!;
    try {
      expect(() => connectSystemd({ addresses: [{ path: daemon.path, bus: true }], timeoutMs: 5000 })).toThrow(
        expect.objectContaining({
          name: "SystemdUnavailableError",
          message: `systemd cgroup driver requested (--systemd-cgroup) but systemd is not running: ${daemon.path}: no org.freedesktop.systemd1 on the bus (org.freedesktop.DBus.Error.ServiceUnknown)`,
        }),
      );
    } finally {
      await daemon.stop();
    }
  });
});
