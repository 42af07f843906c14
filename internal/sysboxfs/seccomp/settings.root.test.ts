/**
 * The interceptor against the real kernel, for the calls a container's
 * settings add (SYSBOX_IGNORE_SYSFS_CHOWN, SYSBOX_ALLOW_TRUSTED_XATTR): an
 * in-process server and a probe (testdata/settings_child.ts) started as root
 * of a new user namespace mapped to 100000, which traps the chown and xattr
 * groups and tries them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { libseccomp } from "../../sys/seccomp.ts";
import { runProbe } from "./_probe.ts";
import { startInterceptServer, type InterceptServer } from "./server.ts";

const isRoot = process.getuid?.() === 0;
const hasPerl = Bun.which("perl") !== null;

let work = "";
let server: InterceptServer | undefined;
const logged: string[] = [];

beforeAll(async () => {
  if (!isRoot || !hasPerl) return;
  work = mkdtempSync("/var/tmp/intercept-settings-");
  const log = (level: string) => (msg: string) => logged.push(`${level} ${msg}`);
  server = await startInterceptServer({ runDir: join(work, "run"), logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") } });
});

afterAll(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!isRoot || !hasPerl || !libseccomp.available())("the settings' trapped calls [requires root, perl]", () => {
  test("trusted.* is set and read back as host root on the caller's own file; chown of /sys is ignored", async () => {
    const report = (await runProbe({
      mode: "check", work, runDir: join(work, "run"), containerId: "settings1", child: join(import.meta.dir, "testdata", "settings_child.ts"),
    }).catch((e: Error) => { throw new Error(`${e.message}; log:\n${logged.join("\n")}`); })) as { results: Record<string, unknown> };
    expect(report.results).toEqual({
      setTrusted: "0",
      getTrusted: "on",
      // Not trusted.*: the kernel's own answer (user.* on its own file on ext4).
      setUser: "0",
      // A host file, owned by an id outside the caller's range: EPERM.
      setTrustedHostFile: "1",
      chownSys: "ok",
      sysOwnerUnchanged: true,
      chownOwn: "ok",
    });
    for (let i = 0; i < 200 && server!.stats().fds > 0; i++) await Bun.sleep(10);
    expect(server!.stats()).toMatchObject({ errors: 0, fds: 0 });
  });
});
