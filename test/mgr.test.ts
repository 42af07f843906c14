/**
 * End to end: sysbox-mgr as a real process over a fake host (temp subuid,
 * subgid, passwd and data root), driven through the client sysbox-runc uses.
 * Container inits are real `sleep` processes.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectDaemon, waitForSocket } from "../internal/ipc/mod.ts";
import { MgrError, openMgr, registerWithMgr, unregisterFromMgr, type MgrSession } from "../internal/ipc/mod.ts";
import { processStartTime } from "../internal/mgr/mod.ts";

const ROOT = join(import.meta.dir, "..");
const MAIN = join(ROOT, "cmd", "sysbox-mgr", "main.ts");
const B = 65536;

type Proc = ReturnType<typeof Bun.spawn>;

let dir: string;
let runDir: string;
let hostRoot: string;
let dataRoot: string;
let logFile: string;
const procs: Proc[] = [];

beforeEach(() => {
  // Not /tmp: the data root may not be on tmpfs.
  dir = mkdtempSync(join(existsSync("/var/tmp") ? "/var/tmp" : tmpdir(), "e2e-mgr-"));
  runDir = join(dir, "run");
  hostRoot = join(dir, "host");
  dataRoot = join(dir, "data");
  logFile = join(dir, "mgr.log");
  mkdirSync(join(hostRoot, "etc"), { recursive: true });
  writeFileSync(join(hostRoot, "etc/passwd"), "root:x:0:0::/root:/bin/sh\nsysbox:x:999:999::/nonexistent:/bin/false\n");
});

afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.kill("SIGKILL");
    await p.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

function subids(text: string): void {
  writeFileSync(join(hostRoot, "etc/subuid"), text);
  writeFileSync(join(hostRoot, "etc/subgid"), text);
}

function spawnMgr(extra: string[] = []): Proc {
  const p = Bun.spawn(
    [process.execPath, MAIN, "--run-dir", runDir, "--host-root", hostRoot, "--data-root", dataRoot, "--log", logFile, ...extra],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  procs.push(p);
  return p;
}

async function startMgr(extra: string[] = []): Promise<Proc> {
  const p = spawnMgr(extra);
  await Promise.race([
    waitForSocket(join(runDir, "sysmgr.sock"), { timeoutMs: 10_000 }),
    p.exited.then((code) => {
      throw new Error(`sysbox-mgr exited with ${code}: ${existsSync(logFile) ? readFileSync(logFile, "utf8") : ""}`);
    }),
  ]);
  return p;
}

/** A stand-in container init. */
function init(): { proc: Proc; pid: number; startTime: string } {
  const proc = Bun.spawn(["sleep", "60"]);
  procs.push(proc);
  return { proc, pid: proc.pid, startTime: processStartTime(proc.pid)! };
}

async function status() {
  using c = await connectDaemon("mgr", { runDir });
  return (await c.request("status", {})).mgr!;
}

async function session(): Promise<MgrSession> {
  return openMgr({ runDir });
}

test("no sysbox entry: the daemon adds one range and serves disjoint blocks from it", async () => {
  subids("alice:100000:65536\n");
  await startMgr();
  expect(readFileSync(join(hostRoot, "etc/subuid"), "utf8")).toBe("alice:100000:65536\nsysbox:196608:268435456\n");
  expect(readFileSync(join(hostRoot, "etc/subgid"), "utf8")).toBe("alice:100000:65536\nsysbox:196608:268435456\n");
  expect(await status()).toEqual({ containers: 0, rangesUsed: 0, rangesTotal: 4096, rangeSize: B, idRanges: [{ start: 196608, size: 268435456 }] });

  using s = await session();
  const a = await s.register("a");
  const b = await s.register("b");
  // A daemon started without flags sends Sysbox's default settings.
  const settings = { honorCaps: false, syscontMode: true, ignoreSysfsChown: false, allowTrustedXattr: false };
  expect(a).toEqual({ uid: 196608, gid: 196608, size: B, reused: false, settings });
  expect(b).toEqual({ uid: 196608 + B, gid: 196608 + B, size: B, reused: false, settings });
  expect(await status()).toMatchObject({ containers: 2, rangesUsed: 2 });
  expect(await s.unregister("a")).toBe("released");
  expect(await status()).toMatchObject({ containers: 1, rangesUsed: 1 });
  expect((await s.register("c")).uid).toBe(196608);
  expect(readFileSync(logFile, "utf8")).toContain("added sysbox:196608:268435456 to");
});

test("20 parallel registrations get 20 disjoint ranges", async () => {
  subids("");
  await startMgr();
  const ranges = await Promise.all(Array.from({ length: 20 }, (_, i) => registerWithMgr(`c${i}`, { runDir })));
  const starts = new Set(ranges.map((r) => r.uid));
  expect(starts.size).toBe(20);
  for (const r of ranges) expect(r.gid).toBe(r.uid);
  expect(await status()).toMatchObject({ containers: 20, rangesUsed: 20 });
  await Promise.all(ranges.map((_, i) => unregisterFromMgr(`c${i}`, { runDir })));
  expect(await status()).toMatchObject({ containers: 0, rangesUsed: 0 });
});

test("kill -9 and restart: a running container keeps its range, a dead one's is reclaimed", async () => {
  subids(`sysbox:131072:${4 * B}\n`);
  const first = await startMgr();
  const live = init();
  const dead = init();
  {
    using s = await session();
    expect((await s.register("live")).uid).toBe(131072);
    await s.update("live", live);
    expect((await s.register("dead")).uid).toBe(131072 + B);
    await s.update("dead", dead);
    await s.prepareMounts("dead", { uid: 0, gid: 0 }, { kinds: ["docker"] });
  }
  first.kill("SIGKILL");
  await first.exited;
  dead.proc.kill("SIGKILL");
  await dead.proc.exited;

  await startMgr();
  expect(await status()).toMatchObject({ containers: 1, rangesUsed: 1 });
  expect(existsSync(join(dataRoot, "docker/dead"))).toBe(false);
  using s = await session();
  // The dead one's block is free again; the live one's is not handed out.
  expect((await s.register("next")).uid).toBe(131072 + B);
  expect((await s.register("next2")).uid).toBe(131072 + 2 * B);
  // A register of the live id while its init runs is refused.
  const e = await s.register("live").catch((e: unknown) => e as MgrError);
  expect((e as MgrError).code).toBe("container-running");
  expect(readFileSync(logFile, "utf8")).toContain(`reclaimed container dead (init pid ${dead.pid} is gone)`);
});

test("exhaustion: a clear error naming the range", async () => {
  subids(`alice:100000:65536\nsysbox:262144:${2 * B}\n`);
  await startMgr();
  using s = await session();
  await s.register("a");
  await s.register("b");
  const e = await s.register("c").catch((e: unknown) => e);
  expect(e).toBeInstanceOf(MgrError);
  expect((e as MgrError).message).toBe(
    "failed to register with sysbox-mgr: no free ID range: all 2 ranges of 65536 ids in sysbox's subuid range 262144-393215 are in use",
  );
  expect(await s.unregister("a")).toBe("released");
  expect((await s.register("c")).uid).toBe(262144);
});

test("host dirs: created with the owner and modes asked for, kept across a restart of the container, removed at unregister", async () => {
  subids(`sysbox:131072:${2 * B}\n`);
  await startMgr();
  using s = await session();
  const layer = join(dir, "overlay2", "layer1");
  mkdirSync(layer, { recursive: true });
  const r = await s.register("web", { rootfs: join(layer, "merged") });
  const mounts = await s.prepareMounts("web", { uid: r.uid, gid: r.gid });
  expect(mounts.map((m) => m.destination)).toEqual([
    "/var/lib/docker",
    "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs",
    "/var/lib/kubelet",
    "/var/lib/buildkit",
    "/var/lib/rancher/k3s",
    "/var/lib/k0s",
  ]);
  for (const m of mounts) {
    const st = statSync(m.source);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([r.uid, r.gid, ["docker", "containerd"].includes(m.kind) ? 0o700 : 0o755]);
    expect(m.source).toBe(join(dataRoot, m.kind, "web"));
  }
  writeFileSync(join(dataRoot, "docker/web/inner-image"), "x");
  const i = init();
  await s.update("web", i);

  // docker stop: the init exits, runc delete unregisters; the layer dir stays.
  i.proc.kill("SIGKILL");
  await i.proc.exited;
  expect(await s.unregister("web")).toBe("kept");
  expect(await status()).toMatchObject({ containers: 1, rangesUsed: 1 });
  // docker start: same range, same dirs.
  expect(await s.register("web", { rootfs: join(layer, "merged") })).toEqual({ ...r, reused: true });
  await s.prepareMounts("web", { uid: r.uid, gid: r.gid });
  expect(readFileSync(join(dataRoot, "docker/web/inner-image"), "utf8")).toBe("x");
  expect(await s.unregister("web")).toBe("kept");

  // docker rm: the layer dir goes; the next status (a sweep) frees everything.
  rmSync(layer, { recursive: true });
  expect(await status()).toMatchObject({ containers: 0, rangesUsed: 0 });
  for (const m of mounts) expect(existsSync(m.source)).toBe(false);

  // Without a rootfs, unregister removes at once.
  await s.register("plain");
  const [m] = await s.prepareMounts("plain", { uid: 0, gid: 0 }, { kinds: ["kubelet"] });
  expect(statSync(m!.source).uid).toBe(0);
  expect(await s.unregister("plain")).toBe("released");
  expect(existsSync(m!.source)).toBe(false);
});

describe("start-up failures exit 1 with the fix in the message", () => {
  async function fails(extra: string[] = []): Promise<string> {
    const p = spawnMgr(extra);
    expect(await p.exited).toBe(1);
    expect(existsSync(join(runDir, "sysmgr.pid"))).toBe(false);
    expect(existsSync(join(runDir, "sysmgr.sock"))).toBe(false);
    return readFileSync(logFile, "utf8");
  }

  test("uid and gid ranges differ", async () => {
    writeFileSync(join(hostRoot, "etc/subuid"), "sysbox:165536:65536\n");
    writeFileSync(join(hostRoot, "etc/subgid"), "sysbox:231072:65536\n");
    expect(await fails()).toContain("cannot start: sysbox's entries in");
  });

  test.skipIf(!existsSync("/dev/shm"))("a data root on tmpfs [requires /dev/shm]", async () => {
    subids("");
    const shm = mkdtempSync("/dev/shm/e2e-mgr-");
    try {
      expect(await fails(["--data-root", shm])).toContain(`cannot start: data root ${shm} is on tmpfs`);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });
});
