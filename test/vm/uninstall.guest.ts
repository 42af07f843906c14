/**
 * In the test VM, last (scripts/vm-guest.sh runs it on its own): the
 * uninstall's systemd branch for real. It removes the units and the runtime
 * from daemon.json and keeps the file's other keys.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isGuest, run } from "./_guest.ts";

const ROOT = join(import.meta.dir, "..", "..");
const DAEMON_JSON = "/etc/docker/daemon.json";

describe.skipIf(!isGuest)("uninstall.sh on a systemd host [requires the test VM]", () => {
  test("--remove-containers removes the units and binaries; daemon.json stays valid with its other keys", () => {
    const before = JSON.parse(readFileSync(DAEMON_JSON, "utf8"));
    before["log-level"] = "info";
    writeFileSync(DAEMON_JSON, JSON.stringify(before, null, 2));
    const r = run(["bash", join(ROOT, "scripts", "uninstall.sh"), "--remove-containers"]);
    if (r.code !== 0) console.log(r.out, r.err);
    expect(r.code).toBe(0);
    for (const u of ["sysbox.service", "sysbox-mgr.service", "sysbox-fs.service"]) {
      expect(existsSync(`/lib/systemd/system/${u}`)).toBe(false);
      expect(existsSync(`/etc/systemd/system/${u}`)).toBe(false);
      expect(run(["systemctl", "is-active", u]).out.trim()).not.toBe("active");
    }
    for (const b of ["sysbox-runc", "sysbox-mgr", "sysbox-fs"]) expect(existsSync(`/usr/bin/${b}`)).toBe(false);
    const after = JSON.parse(readFileSync(DAEMON_JSON, "utf8"));
    expect(after.runtimes?.["sysbox-runc"]).toBeUndefined();
    expect(after["log-level"]).toBe("info");
    expect(run(["docker", "info", "--format", "{{.CgroupDriver}}"]).out.trim()).toBe("systemd");
  });
});
