import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectDaemon } from "../ipc/client.ts";
import { VERSION } from "../version/mod.ts";
import { AlreadyRunningError, isDaemonProcess } from "./pidfile.ts";
import { startDaemon, statusHandler, untilSignal, type RunningDaemon } from "./run.ts";

/** sysbox-mgr's table; these tests only ever send status. */
const notServed = () => {
  throw new Error("not served in this test");
};
const mgrHandlers = {
  status: statusHandler("sysbox-mgr"),
  register: notServed,
  update: notServed,
  prepareMounts: notServed,
  unregister: notServed,
};
/** sysbox-fs's table, likewise. */
const fsHandlers = { status: statusHandler("sysbox-fs"), fsRegister: notServed, fsUnregister: notServed };

let dir: string;
let runDir: string;
let daemon: RunningDaemon | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "daemon-"));
  runDir = join(dir, "run");
});

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe("startDaemon", () => {
  test("creates the run dir, pid file and socket; serves status; close removes them", async () => {
    daemon = await startDaemon("fs", { runDir, handlers: fsHandlers });
    expect(daemon.socketPath).toBe(join(runDir, "sysfs.sock"));
    expect(daemon.pidFile).toBe(join(runDir, "sysfs.pid"));
    expect(statSync(runDir).mode & 0o777).toBe(0o700);
    expect(statSync(daemon.socketPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(daemon.pidFile, "utf8")).toBe(`${process.pid}\n`);

    using c = await connectDaemon("fs", { runDir });
    const st = await c.request("status", {});
    expect(st).toMatchObject({ daemon: "sysbox-fs", version: VERSION, pid: process.pid });
    expect(st.uptimeSeconds).toBeGreaterThan(0);

    await daemon.close();
    expect(existsSync(daemon.socketPath)).toBe(false);
    expect(existsSync(daemon.pidFile)).toBe(false);
  });

  test("a live daemon named in the pid file stops the start before the socket is touched", async () => {
    const other = Bun.spawn(["sh", "-c", "sleep 30; :", "/usr/bin/sysbox-mgr"]);
    try {
      // Until exec, /proc shows the test runner's cmdline.
      for (let i = 0; i < 200 && !isDaemonProcess(other.pid, "sysbox-mgr"); i++) await Bun.sleep(5);
      mkdirSync(runDir);
      writeFileSync(join(runDir, "sysmgr.pid"), `${other.pid}\n`);
      const err = await startDaemon("mgr", { runDir, handlers: mgrHandlers }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AlreadyRunningError);
      expect(existsSync(join(runDir, "sysmgr.sock"))).toBe(false);
      expect(readFileSync(join(runDir, "sysmgr.pid"), "utf8")).toBe(`${other.pid}\n`);
    } finally {
      other.kill("SIGKILL");
      await other.exited;
    }
  });

  test("a listen failure releases the pid file", async () => {
    mkdirSync(runDir);
    writeFileSync(join(runDir, "sysmgr.sock"), "not a socket");
    const err = await startDaemon("mgr", { runDir, handlers: mgrHandlers }).catch((e: Error) => e);
    expect((err as Error).message).toContain("exists and is not a socket");
    expect(existsSync(join(runDir, "sysmgr.pid"))).toBe(false);
  });

  test("setup runs holding the pid file, before the socket; a throw releases the pid file", async () => {
    let sawPid = "";
    let sawSocket = true;
    daemon = await startDaemon("mgr", {
      runDir,
      handlers: mgrHandlers,
      setup: async () => {
        sawPid = readFileSync(join(runDir, "sysmgr.pid"), "utf8");
        sawSocket = existsSync(join(runDir, "sysmgr.sock"));
      },
    });
    expect(sawPid).toBe(`${process.pid}\n`);
    expect(sawSocket).toBe(false);
    await daemon.close();
    daemon = undefined;

    const err = await startDaemon("mgr", {
      runDir,
      handlers: mgrHandlers,
      setup: () => {
        throw new Error("no subuid range");
      },
    }).catch((e: Error) => e);
    expect((err as Error).message).toBe("no subuid range");
    expect(existsSync(join(runDir, "sysmgr.pid"))).toBe(false);
    expect(existsSync(join(runDir, "sysmgr.sock"))).toBe(false);
  });
});

describe("untilSignal", () => {
  test("resolves with the signal and removes its handlers", async () => {
    const before = process.listenerCount("SIGUSR2");
    const got = untilSignal(["SIGUSR2", "SIGHUP"]);
    process.kill(process.pid, "SIGUSR2");
    expect(await got).toBe("SIGUSR2");
    expect(process.listenerCount("SIGUSR2")).toBe(before);
    expect(process.listenerCount("SIGHUP")).toBe(0);
  });
});
