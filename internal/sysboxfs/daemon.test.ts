import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { interceptSocketPath } from "../intercept/mod.ts";
import { connectDaemon } from "../ipc/client.ts";
import { startSysboxFs, type RunningSysboxFs } from "./daemon.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

let dir: string;
let fs: RunningSysboxFs | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sysboxfs-daemon-"));
});

afterEach(async () => {
  await fs?.close();
  fs = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const options = () => ({ name: "sysbox-fs", runDir: join(dir, "run"), mountRoot: join(dir, "mnt"), keepers: false, debug: false });

describe("startSysboxFs", () => {
  test("serves the daemon socket and the interceptor's; close removes both", async () => {
    fs = await startSysboxFs(options(), quiet);
    expect(fs.counts()).toEqual({ containers: 0 });
    expect(existsSync(join(dir, "mnt"))).toBe(true);
    expect(existsSync(interceptSocketPath(join(dir, "run")))).toBe(true);
    {
      using c = await connectDaemon("fs", { runDir: join(dir, "run") });
      expect(await c.request("status", {})).toMatchObject({ daemon: "sysbox-fs", fs: { containers: 0 } });
    }
    await fs.close();
    fs = undefined;
    expect(existsSync(join(dir, "run", "sysfs.sock"))).toBe(false);
    expect(existsSync(interceptSocketPath(join(dir, "run")))).toBe(false);
  });

  test("a second one on the same run dir fails and leaves the first serving", async () => {
    fs = await startSysboxFs(options(), quiet);
    await expect(startSysboxFs(options(), quiet)).rejects.toThrow();
    using c = await connectDaemon("fs", { runDir: join(dir, "run") });
    expect(await c.request("status", {})).toMatchObject({ daemon: "sysbox-fs" });
  });
});
