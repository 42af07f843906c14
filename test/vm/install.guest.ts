/**
 * In the test VM: the install a user runs (scripts/install.sh, run by
 * scripts/vm-guest.sh before these tests) on a systemd, cgroup v2 host with
 * Docker's systemd cgroup driver, and a first system container there.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { IMAGE, RT, docker, isGuest, mapping, ok, run } from "./_guest.ts";

const installRc = process.env.SYSBOX_VM_INSTALL_RC;
const installLog = process.env.SYSBOX_VM_INSTALL_LOG;

describe.skipIf(!isGuest)("the guest host after install.sh [requires the test VM]", () => {
  test("docker info: Cgroup Driver systemd, Cgroup Version 2, runtime sysbox-runc", () => {
    const out = ok(["info"]);
    expect(out).toContain("Cgroup Driver: systemd");
    expect(out).toContain("Cgroup Version: 2");
    expect(out).toMatch(/Runtimes:.*sysbox-runc/);
  });

  test.skipIf(installRc === undefined)("install.sh exited 0, used the prebuilt binaries, and ended with a running system container [requires scripts/vm-guest.sh]", () => {
    const log = readFileSync(installLog!, "utf8");
    expect(installRc).toBe("0");
    expect(log).toContain("installing these prebuilt binaries");
    expect(log).toContain("sysbox-demo is running");
    expect(ok(["inspect", "-f", "{{.State.Status}} {{.HostConfig.Runtime}}", "sysbox-demo"]).trim()).toBe("running sysbox-runc");
  });

  test("the daemons run as systemd units, enabled at boot", () => {
    for (const u of ["sysbox-mgr.service", "sysbox-fs.service", "sysbox.service"]) {
      expect(run(["systemctl", "is-active", u]).out.trim()).toBe("active");
      expect(run(["systemctl", "is-enabled", u]).out.trim()).toBe("enabled");
    }
    expect(JSON.parse(readFileSync("/etc/docker/daemon.json", "utf8")).runtimes["sysbox-runc"].path).toBe("/usr/bin/sysbox-runc");
  });

  test("root inside a system container is an unprivileged range on the host", () => {
    const [inside, host, size] = mapping(ok(["run", RT, "--rm", IMAGE, "cat", "/proc/self/uid_map"]));
    expect(inside).toBe(0);
    expect(host).toBeGreaterThan(0);
    expect(size).toBe(65536);
  });
});
