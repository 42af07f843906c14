import type { Logger } from "../log/mod.ts";
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RANGE_WANTED } from "../idrange/mod.ts";
import { RequestError } from "../ipc/messages.ts";
import { testHost, type TestHost } from "./_testenv.ts";
import { SYSBOX_SETTING_DEFAULTS } from "../syscont/mod.ts";
import { Manager, removalWatchPath, type ManagerOptions } from "./manager.ts";
import { loadState } from "./state.ts";

const B = 65536;
const SMALL = `sysbox:131072:${3 * B}\n`;

interface Fake {
  host: TestHost;
  mgr: Manager;
  alive: Set<string>;
  clock: { now: number };
  logs: string[];
}

const open: Fake[] = [];
afterEach(() => {
  for (const f of open.splice(0)) {
    f.mgr.close();
    f.host[Symbol.dispose]();
  }
});

/** A manager over a fake host; `alive` holds "pid:startTime" of inits that run. */
function fake(host = testHost({ subuid: SMALL, subgid: SMALL }), opts: ManagerOptions = {}): Fake {
  const alive = new Set<string>();
  const clock = { now: Date.parse("2026-01-01T00:00:00Z") };
  const logs: string[] = [];
  const logger: Logger = { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`), debug: () => {}, error: (m) => logs.push(`error ${m}`) };
  const mgr = new Manager({
    dataRoot: host.dataRoot,
    hostRoot: host.hostRoot,
    reclaimIntervalMs: 0,
    kernelRelease: "6.1.0-test",
    now: () => clock.now,
    initAlive: (i) => alive.has(`${i.pid}:${i.startTime}`),
    logger,
    ...opts,
  });
  mgr.open();
  const f = { host, mgr, alive, clock, logs };
  open.push(f);
  return f;
}

/** Another manager over the same host and data root (a restart). */
function restart(f: Fake): Manager {
  f.mgr.close();
  const mgr = new Manager({
    dataRoot: f.host.dataRoot,
    hostRoot: f.host.hostRoot,
    reclaimIntervalMs: 0,
    now: () => f.clock.now,
    initAlive: (i) => f.alive.has(`${i.pid}:${i.startTime}`),
  });
  mgr.open();
  f.mgr = mgr;
  return mgr;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RequestError);
    return (e as RequestError).code;
  }
  return undefined;
}

describe("setup", () => {
  test("no sysbox entry: one large range is added and the state file is created", () => {
    const f = fake(testHost({ subuid: "alice:100000:65536\n", subgid: "alice:100000:65536\n" }));
    const line = `sysbox:196608:${RANGE_WANTED}`;
    expect(readFileSync(f.host.etc("subuid"), "utf8")).toBe(`alice:100000:65536\n${line}\n`);
    expect(readFileSync(f.host.etc("subgid"), "utf8")).toBe(`alice:100000:65536\n${line}\n`);
    expect(f.mgr.counts()).toEqual({ containers: 0, rangesUsed: 0, rangesTotal: 4096, rangeSize: B, idRanges: [{ start: 196608, size: RANGE_WANTED }] });
    expect(loadState(f.mgr.statePath)).toEqual({ version: 1, idRanges: [{ start: 196608, size: RANGE_WANTED }], containers: [] });
    expect(statSync(f.mgr.statePath).mode & 0o777).toBe(0o600);
    expect(statSync(f.host.dataRoot).mode & 0o777).toBe(0o710);
    expect(f.logs).toContain(`info added ${line} to ${f.host.etc("subuid")} and ${f.host.etc("subgid")}`);
  });

  test.skipIf(!existsSync("/dev/shm"))("a data root on tmpfs is refused [requires /dev/shm]", () => {
    using host = testHost({ subuid: SMALL, subgid: SMALL });
    const mgr = new Manager({ dataRoot: "/dev/shm/sysbox-mgr-test-nope", hostRoot: host.hostRoot, reclaimIntervalMs: 0 });
    try {
      expect(() => mgr.open()).toThrow(/data root \/dev\/shm\/sysbox-mgr-test-nope is on tmpfs/);
    } finally {
      rmSync("/dev/shm/sysbox-mgr-test-nope", { recursive: true, force: true });
    }
  });

  test("a damaged state file stops the start with advice", () => {
    const f = fake();
    writeFileSync(f.mgr.statePath, "{");
    expect(() => restart(f)).toThrow(/cannot read state file .*mgr-state\.json: .*; if no system container is running, move it away and start again/);
  });
});

describe("register / unregister", () => {
  test("two containers get disjoint ranges; unregister frees; first-fit reuses", () => {
    const { mgr } = fake();
    expect(mgr.register({ id: "a" })).toEqual({ uid: 131072, gid: 131072, size: B, reused: false, settings: SYSBOX_SETTING_DEFAULTS });
    expect(mgr.register({ id: "b" })).toEqual({ uid: 131072 + B, gid: 131072 + B, size: B, reused: false, settings: SYSBOX_SETTING_DEFAULTS });
    expect(mgr.counts()).toMatchObject({ containers: 2, rangesUsed: 2, rangesTotal: 3 });
    expect(mgr.unregister({ id: "a" })).toEqual({ result: "released" });
    expect(mgr.unregister({ id: "a" })).toEqual({ result: "unknown" });
    expect(mgr.register({ id: "c" }).uid).toBe(131072);
  });

  test("exhaustion is a clear error with its own code", () => {
    const { mgr } = fake();
    for (const id of ["a", "b", "c"]) mgr.register({ id });
    let err: unknown;
    try {
      mgr.register({ id: "d" });
    } catch (e) {
      err = e;
    }
    expect((err as RequestError).code).toBe("id-range-exhausted");
    expect((err as Error).message).toBe("no free ID range: all 3 ranges of 65536 ids in sysbox's subuid range 131072-327679 are in use");
  });

  test("a known id gets its range again; while its init runs it is refused", () => {
    const f = fake();
    f.mgr.register({ id: "a" });
    f.mgr.register({ id: "b" });
    f.alive.add("42:1000");
    f.mgr.update({ id: "a", initPid: 42, initStartTime: "1000" });
    expect(codeOf(() => f.mgr.register({ id: "a" }))).toBe("container-running");
    f.alive.delete("42:1000");
    expect(f.mgr.register({ id: "a" })).toEqual({ uid: 131072, gid: 131072, size: B, reused: true, settings: SYSBOX_SETTING_DEFAULTS });
    expect(f.mgr.record("a")?.init).toBeUndefined();
  });

  test("the per-container setting defaults it was started with go into every register reply", () => {
    const settings = { honorCaps: true, syscontMode: false, ignoreSysfsChown: true, allowTrustedXattr: true };
    const { mgr } = fake(undefined, { settings });
    expect(mgr.register({ id: "a" }).settings).toEqual(settings);
    expect(mgr.register({ id: "a" }).settings).toEqual(settings);
  });

  test("a spec mapping is recorded and takes nothing from the pool", () => {
    const { mgr } = fake();
    expect(mgr.register({ id: "a", mapping: { uid: 500000, gid: 600000, size: B } })).toEqual({ uid: 500000, gid: 600000, size: B, reused: false, settings: SYSBOX_SETTING_DEFAULTS });
    expect(mgr.counts()).toMatchObject({ containers: 1, rangesUsed: 0 });
    // Registered again without it: now from the pool.
    expect(mgr.register({ id: "a" }).uid).toBe(131072);
    expect(mgr.counts().rangesUsed).toBe(1);
    // And with it again: the pool block is given back.
    mgr.register({ id: "a", mapping: { uid: 500000, gid: 600000, size: B } });
    expect(mgr.counts().rangesUsed).toBe(0);
    expect(codeOf(() => mgr.register({ id: "b", mapping: { uid: 0, gid: 100000, size: B } }))).toBe("invalid-mapping");
  });

  test("update checks that the init runs; unknown ids are errors", () => {
    const f = fake();
    f.mgr.register({ id: "a" });
    expect(codeOf(() => f.mgr.update({ id: "a", initPid: 7, initStartTime: "1" }))).toBe("init-not-running");
    expect(codeOf(() => f.mgr.update({ id: "zz", initPid: 7, initStartTime: "1" }))).toBe("not-registered");
    expect(codeOf(() => f.mgr.prepareMounts({ id: "zz", uid: 0, gid: 0 }))).toBe("not-registered");
  });
});

describe("sweep", () => {
  test("reclaims containers whose init is gone or whose start time differs, keeps live ones", () => {
    const f = fake();
    f.alive.add("10:100").add("20:200").add("30:300");
    for (const [id, pid, st] of [["live", 10, "100"], ["dead", 20, "200"], ["reused", 30, "300"]] as const) {
      f.mgr.register({ id });
      f.mgr.update({ id, initPid: pid, initStartTime: st });
    }
    f.alive.delete("20:200");
    f.alive.delete("30:300");
    f.alive.add("30:999");
    expect(f.mgr.sweep().sort()).toEqual(["dead", "reused"]);
    expect(f.mgr.counts()).toMatchObject({ containers: 1, rangesUsed: 1 });
    expect(f.logs).toContain("info reclaimed container dead (init pid 20 is gone): freed ids 196608-262143");
  });

  test("a container without an init is kept for the grace period after register", () => {
    const f = fake(undefined, { registerGraceMs: 10_000 });
    f.mgr.register({ id: "new" });
    f.clock.now += 9_000;
    expect(f.mgr.sweep()).toEqual([]);
    f.clock.now += 2_000;
    expect(f.mgr.sweep()).toEqual(["new"]);
  });

  test("a stopped container with a rootfs is kept until the rootfs is removed", () => {
    const f = fake();
    const layer = join(f.host.dir, "overlay2", "abc");
    mkdirSync(join(layer, "diff"), { recursive: true });
    // Docker removes "merged" at stop; the layer dir goes at docker rm.
    f.mgr.register({ id: "a", rootfs: join(layer, "merged") });
    f.mgr.prepareMounts({ id: "a", uid: 0, gid: 0, kinds: ["docker"] });
    f.alive.add("5:5");
    f.mgr.update({ id: "a", initPid: 5, initStartTime: "5" });
    f.alive.delete("5:5");
    expect(f.mgr.unregister({ id: "a" })).toEqual({ result: "kept" });
    f.clock.now += 3600_000;
    expect(f.mgr.sweep()).toEqual([]);
    expect(existsSync(join(f.mgr.dataRoot, "docker/a"))).toBe(true);
    // docker start: the same range and dirs.
    expect(f.mgr.register({ id: "a", rootfs: join(layer, "merged") })).toMatchObject({ uid: 131072, reused: true, settings: SYSBOX_SETTING_DEFAULTS });
    expect(f.mgr.unregister({ id: "a" })).toEqual({ result: "kept" });
    rmSync(layer, { recursive: true });
    expect(f.mgr.sweep()).toEqual(["a"]);
    expect(existsSync(join(f.mgr.dataRoot, "docker/a"))).toBe(false);
    expect(f.logs).toContain("info reclaimed container a (its rootfs is gone): freed ids 131072-196607");
  });

  test("removalWatchPath", () => {
    expect(removalWatchPath("/var/lib/docker/overlay2/x/merged")).toBe("/var/lib/docker/overlay2/x");
    expect(removalWatchPath("/bundle/rootfs")).toBe("/bundle/rootfs");
  });
});

describe("restart", () => {
  test("state survives: live ranges are kept, dead ones reclaimed, nothing handed out twice", () => {
    const f = fake();
    f.alive.add("1:1").add("2:2");
    f.mgr.register({ id: "live" });
    f.mgr.update({ id: "live", initPid: 1, initStartTime: "1" });
    f.mgr.register({ id: "dead" });
    f.mgr.update({ id: "dead", initPid: 2, initStartTime: "2" });
    f.mgr.register({ id: "creating" });
    f.alive.delete("2:2");

    const mgr = restart(f);
    expect(mgr.counts()).toMatchObject({ containers: 2, rangesUsed: 2 });
    expect(mgr.record("live")?.uid).toBe(131072);
    expect(mgr.record("dead")).toBeUndefined();
    // "dead" had the second block; "creating" keeps the third.
    expect(mgr.register({ id: "next" }).uid).toBe(131072 + B);
  });
});

describe("prepareMounts", () => {
  test("dirs with the kinds' modes and the requested owner; kept on re-register, removed at release", () => {
    const f = fake();
    const { uid, gid } = f.mgr.register({ id: "a" });
    const { mounts } = f.mgr.prepareMounts({ id: "a", uid, gid });
    expect(mounts.map((m) => [m.kind, m.destination, m.source])).toEqual([
      ["docker", "/var/lib/docker", join(f.mgr.dataRoot, "docker/a")],
      ["containerd", "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs", join(f.mgr.dataRoot, "containerd/a")],
      ["kubelet", "/var/lib/kubelet", join(f.mgr.dataRoot, "kubelet/a")],
      ["buildkit", "/var/lib/buildkit", join(f.mgr.dataRoot, "buildkit/a")],
      ["rancher-k3s", "/var/lib/rancher/k3s", join(f.mgr.dataRoot, "rancher-k3s/a")],
      ["k0s", "/var/lib/k0s", join(f.mgr.dataRoot, "k0s/a")],
    ]);
    for (const m of mounts) {
      expect(m).toMatchObject({ type: "bind", options: ["rbind", "rprivate"] });
      const st = statSync(m.source);
      expect([st.uid, st.gid]).toEqual([uid, gid]);
      expect(st.mode & 0o777).toBe(m.kind === "docker" || m.kind === "containerd" ? 0o700 : 0o755);
      expect(statSync(join(m.source, "..")).mode & 0o777).toBe(0o710);
    }
    writeFileSync(join(f.mgr.dataRoot, "docker/a/image"), "layers");
    expect(f.mgr.record("a")?.dirs).toEqual({ uid, gid, kinds: ["docker", "containerd", "kubelet", "buildkit", "rancher-k3s", "k0s"] });

    f.mgr.register({ id: "a" });
    f.mgr.prepareMounts({ id: "a", uid, gid, kinds: ["docker"] });
    expect(readFileSync(join(f.mgr.dataRoot, "docker/a/image"), "utf8")).toBe("layers");

    f.mgr.unregister({ id: "a" });
    for (const m of mounts) expect(existsSync(m.source)).toBe(false);
  });

  test("owner must be 0:0 or inside the container's range", () => {
    const f = fake();
    f.mgr.register({ id: "a" });
    expect(f.mgr.prepareMounts({ id: "a", uid: 0, gid: 0, kinds: ["k0s"] }).mounts).toHaveLength(1);
    expect(statSync(join(f.mgr.dataRoot, "k0s/a")).uid).toBe(0);
    expect(codeOf(() => f.mgr.prepareMounts({ id: "a", uid: 1000, gid: 1000 }))).toBe("invalid-owner");
    expect(codeOf(() => f.mgr.prepareMounts({ id: "a", uid: 131072 + B, gid: 131072 }))).toBe("invalid-owner");
    expect(f.mgr.prepareMounts({ id: "a", uid: 131072 + 5, gid: 131072 + 5, kinds: ["k0s"] }).mounts[0]!.source).toEndWith("k0s/a");
  });

  test("removal unlinks symlinks inside and never touches what they point to", () => {
    const f = fake();
    f.mgr.register({ id: "a" });
    f.mgr.prepareMounts({ id: "a", uid: 0, gid: 0, kinds: ["docker"] });
    const outside = join(f.host.dir, "precious");
    mkdirSync(join(outside, "sub"), { recursive: true });
    writeFileSync(join(outside, "sub/file"), "x");
    const dir = join(f.mgr.dataRoot, "docker/a");
    mkdirSync(join(dir, "deep"));
    symlinkSync(outside, join(dir, "link"));
    symlinkSync(join(outside, "sub/file"), join(dir, "deep/flink"));
    symlinkSync("/", join(dir, "root"));
    f.mgr.unregister({ id: "a" });
    expect(existsSync(dir)).toBe(false);
    expect(readFileSync(join(outside, "sub/file"), "utf8")).toBe("x");
  });

  test("kernel modules and headers (with their /usr/src symlink targets) are mounted read-only when present", () => {
    const f = fake();
    f.mgr.register({ id: "a" });
    expect(f.mgr.prepareMounts({ id: "a", uid: 0, gid: 0, kinds: [] }).mounts).toEqual([]);
    const h = f.host.hostRoot;
    mkdirSync(join(h, "lib/modules/6.1.0-test/kernel"), { recursive: true });
    mkdirSync(join(h, "usr/src/linux-headers-6.1.0-test"), { recursive: true });
    mkdirSync(join(h, "usr/src/linux-headers-6.1.0-common/include"), { recursive: true });
    symlinkSync("../linux-headers-6.1.0-common/include", join(h, "usr/src/linux-headers-6.1.0-test/include"));
    symlinkSync("/nonexistent", join(h, "usr/src/linux-headers-6.1.0-test/dangling"));
    const { mounts } = f.mgr.prepareMounts({ id: "a", uid: 0, gid: 0, kinds: [] });
    const ro = ["rbind", "ro", "rprivate"];
    expect(mounts).toEqual([
      { kind: "kernel", source: join(h, "lib/modules/6.1.0-test"), destination: "/lib/modules/6.1.0-test", type: "bind", options: ro },
      { kind: "kernel", source: join(h, "usr/src/linux-headers-6.1.0-test"), destination: "/usr/src/linux-headers-6.1.0-test", type: "bind", options: ro },
      { kind: "kernel", source: join(h, "usr/src/linux-headers-6.1.0-common"), destination: "/usr/src/linux-headers-6.1.0-common", type: "bind", options: ro },
    ]);
  });
});
