import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, type RunningDaemon } from "../daemon/run.ts";
import { testHost, type TestHost } from "./_testenv.ts";
import { MgrError, openMgr, prepareMgrMounts, registerWithMgr, unregisterFromMgr, updateMgr } from "../ipc/mod.ts";
import { mgrHandlers } from "./handlers.ts";
import { Manager } from "./manager.ts";
import { processStartTime } from "./_proc.ts";
import { SYSBOX_SETTING_DEFAULTS } from "../syscont/mod.ts";

const SMALL = `sysbox:131072:${2 * 65536}\n`;

let runDir: string;
let host: TestHost;
let mgr: Manager;
let daemon: RunningDaemon | undefined;

beforeEach(() => {
  runDir = mkdtempSync(join(tmpdir(), "mgr-client-"));
  host = testHost({ subuid: SMALL, subgid: SMALL });
  mgr = new Manager({ dataRoot: host.dataRoot, hostRoot: host.hostRoot, reclaimIntervalMs: 0 });
});

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  mgr.close();
  host[Symbol.dispose]();
  rmSync(runDir, { recursive: true, force: true });
});

async function start(): Promise<void> {
  daemon = await startDaemon("mgr", { runDir, handlers: mgrHandlers(mgr), setup: () => mgr.open() });
}

async function failure(p: Promise<unknown>): Promise<MgrError> {
  const e = await p.then(() => undefined, (e: unknown) => e);
  expect(e).toBeInstanceOf(MgrError);
  return e as MgrError;
}

test("the daemon down: each step says what failed and asks whether sysbox-mgr runs", async () => {
  const sock = join(runDir, "sysmgr.sock");
  // No restart grace: a daemon that is down, not restarting.
  const reg = await failure(registerWithMgr("a", { runDir, restartGraceMs: 0 }));
  expect(reg.code).toBe("connect");
  expect(reg.message).toBe(`failed to register with sysbox-mgr: failed to connect to sysbox-mgr at ${sock}: ENOENT (is sysbox-mgr running?)`);
  expect((await failure(unregisterFromMgr("a", { runDir, restartGraceMs: 0 }))).message).toStartWith("failed to unregister from sysbox-mgr: failed to connect");
  expect((await failure(updateMgr("a", { pid: 1, startTime: "1" }, { runDir, restartGraceMs: 0 }))).message).toStartWith("failed to update sysbox-mgr: ");
  expect((await failure(prepareMgrMounts("a", { uid: 0, gid: 0 }, { runDir, restartGraceMs: 0 }))).message).toStartWith("failed to get mounts from sysbox-mgr: ");
});

test("the whole sequence through one session, and the one-shot helpers", async () => {
  await start();
  using s = await openMgr({ runDir });
  const range = await s.register("a", { rootfs: "/nonexistent/rootfs" });
  expect(range).toEqual({ uid: 131072, gid: 131072, size: 65536, reused: false, settings: SYSBOX_SETTING_DEFAULTS });
  const mounts = await s.prepareMounts("a", { uid: range.uid, gid: range.gid }, { kinds: ["docker"] });
  expect(mounts).toEqual([
    { kind: "docker", source: join(mgr.dataRoot, "docker/a"), destination: "/var/lib/docker", type: "bind", options: ["rbind", "rprivate"] },
  ]);
  await s.update("a", { pid: process.pid, startTime: processStartTime(process.pid)! });
  expect(await s.unregister("a")).toBe("released");
  expect(await s.unregister("a")).toBe("unknown");

  expect((await registerWithMgr("b", { runDir })).uid).toBe(131072);
  expect((await registerWithMgr("c", { runDir })).uid).toBe(131072 + 65536);
  const full = await failure(registerWithMgr("d", { runDir }));
  expect(full.code).toBe("id-range-exhausted");
  expect(full.message).toBe(
    "failed to register with sysbox-mgr: no free ID range: all 2 ranges of 65536 ids in sysbox's subuid range 131072-262143 are in use",
  );
  const bad = await failure(updateMgr("zz", { pid: 1, startTime: "1" }, { runDir }));
  expect([bad.code, bad.message]).toEqual(["not-registered", "failed to update sysbox-mgr: container zz is not registered"]);
  const invalid = await failure(registerWithMgr("../etc", { runDir }));
  expect(invalid.code).toBe("invalid-message");
  expect(invalid.message).toContain("body.id: must be letters, digits");
  expect(await unregisterFromMgr("b", { runDir })).toBe("released");
  expect((await prepareMgrMounts("c", { uid: 0, gid: 0 }, { runDir, kinds: [] }))).toEqual([]);
});
