/**
 * In the test VM: systemd as a system container's init, and Docker inside
 * one, on a host whose own systemd delegates the container's scope: inner
 * cgroups nest under the outer container's and cannot raise its limits.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { BUSYBOX, MIN, RT, SYSCONT, containerId, docker, isGuest, name, ok, scopeDir, systemState, waitFor } from "./_guest.ts";

/** The first directory under `root` whose name contains `part`, depth first. */
function findDir(root: string, part: string): string | undefined {
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = `${root}/${e.name}`;
    if (e.name.includes(part)) return p;
    const found = findDir(p, part);
    if (found) return found;
  }
  return undefined;
}

describe.skipIf(!isGuest)("systemd and Docker inside [requires the test VM]", () => {
  test("systemd image: is-system-running says running; docker stop is clean and quick", async () => {
    const n = name("sd");
    ok(["run", RT, "-d", "--name", n, SYSCONT]);
    const state = await systemState(n, 4 * MIN);
    if (state !== "running") console.log(ok(["exec", n, "systemctl", "--failed", "--no-pager"]));
    expect(state).toBe("running");
    const t0 = Date.now();
    // Under software emulation systemd's own shutdown took 4.6-11.6 s in the
    // test VM: a longer grace than Docker's 10 s, so "clean" means systemd
    // halted by itself on SIGRTMIN+3 and was not killed (exit code 137).
    ok(["stop", "-t", "60", n]);
    const secs = (Date.now() - t0) / 1000;
    const code = ok(["inspect", "-f", "{{.State.ExitCode}}", n]).trim();
    console.log(`docker stop of a systemd container: ${secs.toFixed(1)}s, exit code ${code}`);
    expect(code).not.toBe("137");
    expect(secs).toBeLessThan(60);
  }, 6 * MIN);

  test("Docker inside: inner docker run prints ok, its cgroup sits under the outer's, and an inner --memory above the outer limit cannot exceed it (OOM inside, both engines up)", async () => {
    const n = name("dind");
    ok(["run", RT, "-d", "--name", n, "--memory", "512m", SYSCONT]);
    const outer = containerId(n);
    expect(await waitFor(() => docker(["exec", n, "docker", "info"]).code === 0, 4 * MIN, 2000)).toBe(true);
    const bb = Bun.spawnSync(["docker", "save", BUSYBOX], { stdout: "pipe" }).stdout;
    const load = docker(["exec", "-i", n, "docker", "load"], { stdin: bb });
    expect(load.err).toBe("");
    expect(ok(["exec", n, "docker", "run", "--rm", BUSYBOX, "echo", "ok"]).trim()).toBe("ok");

    // The inner limit (700m) is above the outer one (512m): the outer one still rules.
    const started = docker(["exec", n, "docker", "run", "-d", "--name", "inner", "--memory", "700m", "--memory-swap", "700m", BUSYBOX, "sleep", "600"]);
    if (started.code !== 0) {
      console.log(`inner docker run failed: ${started.err.trim()}`);
      console.log(docker(["exec", n, "sh", "-c",
        "echo self=$(cat /proc/self/cgroup); for d in /sys/fs/cgroup /sys/fs/cgroup/system.slice /sys/fs/cgroup/init.scope; do echo \"$d: controllers=[$(cat $d/cgroup.controllers)] subtree=[$(cat $d/cgroup.subtree_control)] procs=$(cat $d/cgroup.procs | wc -l)\"; done; " +
        "systemctl show -p MemoryAccounting -p DefaultMemoryAccounting system.slice; journalctl --no-pager -n 40"]).out);
    }
    expect(started.code).toBe(0);
    const inner = ok(["exec", n, "docker", "inspect", "-f", "{{.Id}}", "inner"]).trim();
    // The inner engine names its cgroup after the inner id (docker-<id>.scope with
    // its systemd driver, <id> with cgroupfs); it must sit inside the outer scope.
    const innerDir = findDir(scopeDir(outer), inner);
    console.log(`inner container's cgroup on the host: ${innerDir}`);
    expect(innerDir).toBeDefined();
    expect(readFileSync(`${innerDir}/cgroup.procs`, "utf8").trim()).not.toBe("");

    expect(readFileSync(`${innerDir}/memory.max`, "utf8").trim()).toBe(String(700 * 1024 * 1024));
    // 650 MB through dd's buffer: under the inner limit, over the outer one.
    const hog = docker(["exec", n, "docker", "exec", "inner", "busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=650M", "count=1"]);
    console.log(`inner 650 MB (inner limit 700m) inside 512m: exit ${hog.code} ${hog.err.trim().split("\n").slice(-1)[0]}`);
    expect(hog.code).toBe(137);
    const events = readFileSync(`${scopeDir(outer)}/memory.events`, "utf8");
    expect(Number(/oom_kill (\d+)/.exec(events)![1])).toBeGreaterThan(0);
    expect(ok(["exec", n, "docker", "info", "--format", "{{.ServerVersion}}"]).trim()).not.toBe("");
    expect(ok(["inspect", "-f", "{{.State.Status}}", n]).trim()).toBe("running");
    expect(readFileSync(`${scopeDir(outer)}/memory.max`, "utf8").trim()).toBe(String(512 * 1024 * 1024));
  }, 10 * MIN);
});
