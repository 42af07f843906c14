/**
 * In the test VM: the daemons as systemd units. Restarting sysbox-fs or
 * sysbox-mgr leaves running containers with their virtualized files and
 * their id ranges.
 */
import { describe, expect, test } from "bun:test";
import { IMAGE, RT, docker, isGuest, name, ok, run, waitFor } from "./_guest.ts";

function memTotal(n: string): string {
  return /MemTotal:\s+(\d+ kB)/.exec(ok(["exec", n, "cat", "/proc/meminfo"]))?.[1] ?? "";
}

describe.skipIf(!isGuest)("systemctl restart of the daemons [requires the test VM]", () => {
  for (const unit of ["sysbox-fs", "sysbox-mgr"]) {
    test(`systemctl restart ${unit}: a running container keeps its /proc/meminfo and its uid range; a new one starts`, async () => {
      const n = name(`rs-${unit}`);
      ok(["run", RT, "-d", "--name", n, "--memory", "256m", IMAGE, "sleep", "600"]);
      const uidMap = ok(["exec", n, "cat", "/proc/self/uid_map"]);
      expect(memTotal(n)).toBe("262144 kB");
      const mainPid = (u: string) => run(["systemctl", "show", "-p", "MainPID", "--value", u]).out.trim();
      const other = unit === "sysbox-fs" ? "sysbox-mgr" : "sysbox-fs";
      const pid = mainPid(unit);
      const otherPid = mainPid(other);
      expect(run(["systemctl", "restart", unit]).code).toBe(0);
      expect(await waitFor(() => run(["systemctl", "is-active", unit]).out.trim() === "active", 30_000)).toBe(true);
      expect(mainPid(unit)).not.toBe(pid);
      // Only that daemon restarted; the umbrella unit stays up.
      expect(mainPid(other)).toBe(otherPid);
      expect(run(["systemctl", "is-active", "sysbox"]).out.trim()).toBe("active");
      expect(memTotal(n)).toBe("262144 kB");
      expect(ok(["exec", n, "cat", "/proc/self/uid_map"])).toBe(uidMap);
      const m = name(`rs2-${unit}`);
      ok(["run", RT, "-d", "--name", m, IMAGE, "sleep", "600"]);
      expect(ok(["exec", m, "cat", "/proc/self/uid_map"])).not.toBe(uidMap);
      docker(["rm", "-f", m]);
    });
  }
});
