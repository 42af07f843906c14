import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AlreadyRunningError, acquirePidFile, isDaemonProcess, readPidFile } from "./pidfile.ts";

let dir: string;
let path: string;
let child: ReturnType<typeof Bun.spawn> | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pidfile-"));
  path = join(dir, "sysmgr.pid");
});

afterEach(async () => {
  child?.kill("SIGKILL");
  await child?.exited;
  child = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A live process whose cmdline names `name` ($0 of sh; the `; :` keeps sh from exec-ing sleep). */
async function fakeDaemon(name: string): Promise<number> {
  child = Bun.spawn(["sh", "-c", "sleep 30; :", name]);
  // Wait until /proc shows the new cmdline rather than the pre-exec one.
  const pid = child.pid;
  const shows = () => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(name);
  for (let i = 0; i < 200 && !shows(); i++) await Bun.sleep(5);
  return pid;
}

describe("isDaemonProcess", () => {
  test("matches a path segment of any argument", async () => {
    const pid = await fakeDaemon("/usr/local/bin/sysbox-mgr");
    expect(isDaemonProcess(pid, "sysbox-mgr")).toBe(true);
    expect(isDaemonProcess(pid, "sysbox-fs")).toBe(false);
    expect(isDaemonProcess(pid, "sysbox")).toBe(false);
  });

  test("a dead pid is not running", async () => {
    const p = Bun.spawn(["true"]);
    await p.exited;
    expect(isDaemonProcess(p.pid, "true")).toBe(false);
  });
});

describe("acquirePidFile", () => {
  test("writes our pid and removes the file on release", () => {
    const pf = acquirePidFile(path, "sysbox-mgr");
    expect(readFileSync(path, "utf8")).toBe(`${process.pid}\n`);
    expect(pf.pid).toBe(process.pid);
    pf.release();
    expect(existsSync(path)).toBe(false);
    pf.release();
  });

  test("refuses while the named process is the same daemon", async () => {
    const pid = await fakeDaemon("cmd/sysbox-mgr/main.ts");
    writeFileSync(path, `${pid}\n`);
    let err: unknown;
    try {
      acquirePidFile(path, "sysbox-mgr");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AlreadyRunningError);
    expect((err as Error).message).toBe(`sysbox-mgr is already running (pid ${pid}, pid file ${path})`);
    expect(readPidFile(path)).toBe(pid);
  });

  test("replaces a pid file naming another program (a reused pid)", async () => {
    const pid = await fakeDaemon("something-else");
    writeFileSync(path, `${pid}\n`);
    acquirePidFile(path, "sysbox-mgr");
    expect(readPidFile(path)).toBe(process.pid);
  });

  test("replaces a pid file naming a dead process, or garbage", async () => {
    const p = Bun.spawn(["true"]);
    await p.exited;
    for (const content of [`${p.pid}\n`, "garbage", "", "-5", "0"]) {
      writeFileSync(path, content);
      const pf = acquirePidFile(path, "sysbox-mgr");
      expect(readPidFile(path)).toBe(process.pid);
      pf.release();
    }
  });

  test("release leaves a file that no longer names us", () => {
    const pf = acquirePidFile(path, "sysbox-mgr");
    writeFileSync(path, "12345\n");
    pf.release();
    expect(readPidFile(path)).toBe(12345);
  });

  test("a missing directory is an error, not a silent success", () => {
    expect(() => acquirePidFile(join(dir, "nope", "x.pid"), "sysbox-mgr")).toThrow(/ENOENT/);
  });
});
