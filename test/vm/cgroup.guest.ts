/**
 * In the test VM: a system container's cgroup under Docker's systemd driver
 * on pure cgroup v2: the limits in the v2 files of its docker-<id>.scope,
 * what sysbox-fs shows inside, docker update, pause, and a limit the kernel
 * refuses.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { IMAGE, RT, SYSCONT, containerId, docker, isGuest, name, ok, readCg, run, scopeDir, waitFor } from "./_guest.ts";

describe.skipIf(!isGuest)("cgroup v2 with the systemd driver [requires the test VM]", () => {
  test("--memory 256m --memory-swap 384m --cpus 0.5 --pids-limit 50 --cpuset-cpus 1 land in memory.max, memory.swap.max, cpu.max, pids.max, cpuset.cpus of docker-<id>.scope; free -m says 256", () => {
    const n = name("cg-limits");
    // The systemd image has procps (free); the minbase one does not.
    ok(["run", RT, "-d", "--name", n, "--memory", "256m", "--memory-swap", "384m", "--cpus", "0.5", "--pids-limit", "50", "--cpuset-cpus", "1", SYSCONT, "sleep", "600"]);
    const id = containerId(n);
    expect(existsSync(scopeDir(id))).toBe(true);
    expect(readCg(id, "memory.max")).toBe(String(256 * 1024 * 1024));
    // v2 counts swap apart: --memory-swap is memory plus swap.
    expect(readCg(id, "memory.swap.max")).toBe(String(128 * 1024 * 1024));
    expect(readCg(id, "cpuset.cpus")).toBe("1");
    expect(readCg(id, "cpu.max")).toBe("50000 100000");
    expect(readCg(id, "pids.max")).toBe("50");
    const free = ok(["exec", n, "free", "-m"]);
    const mem = free.split("\n").find((l) => l.startsWith("Mem:"))!.trim().split(/\s+/);
    expect(mem[1]).toBe("256");
  });

  test("--blkio-weight and --device-read-bps land in io.weight and io.max; inside, the container's cgroup is writable but its limits are not", () => {
    const n = name("cg-io");
    const dev = statSync("/dev/vda").rdev;
    const majMin = `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;
    ok(["run", RT, "-d", "--name", n, "--memory", "256m", "--blkio-weight", "300", "--device-read-bps", "/dev/vda:1mb", IMAGE, "sleep", "600"]);
    const id = containerId(n);
    expect(readCg(id, "io.max")).toContain(`${majMin} rbps=1048576`);
    // BFQ takes the v1 weight as it is; otherwise io.weight gets it converted (300 -> 2930).
    if (existsSync(`${scopeDir(id)}/io.bfq.weight`)) expect(readCg(id, "io.bfq.weight")).toBe("default 300");
    else expect(readCg(id, "io.weight")).toBe("default 2930");
    // Delegation: a sub-cgroup can be made inside, but the limit above it cannot be raised.
    const inside = docker(["exec", n, "sh", "-c", "mkdir /sys/fs/cgroup/sub && echo made; echo max > /sys/fs/cgroup/memory.max && echo raised; cat /sys/fs/cgroup/memory.max"]);
    console.log(`inside: ${inside.out.trim().replace(/\n/g, " | ")} ${inside.err.trim()}`);
    expect(inside.out).toContain("made");
    expect(inside.out).not.toContain("raised");
    expect(readCg(id, "memory.max")).toBe(String(256 * 1024 * 1024));
  });

  test("nproc inside follows --cpuset-cpus", () => {
    expect(ok(["run", RT, "--rm", "--cpuset-cpus", "0", IMAGE, "nproc"]).trim()).toBe("1");
    expect(ok(["run", RT, "--rm", "--cpuset-cpus", "0-1", IMAGE, "nproc"]).trim()).toBe("2");
  });

  test("docker update --memory changes memory.max of the running container, and systemd's MemoryMax so a daemon-reload keeps it", () => {
    const n = name("cg-update");
    ok(["run", RT, "-d", "--name", n, "--memory", "256m", IMAGE, "sleep", "600"]);
    const id = containerId(n);
    ok(["update", "--memory", "300m", n]);
    expect(readCg(id, "memory.max")).toBe(String(300 * 1024 * 1024));
    // systemd knows the new limit too: a daemon-reload re-applies the unit's own.
    expect(run(["systemctl", "show", "-p", "MemoryMax", "--value", `docker-${id}.scope`]).out.trim()).toBe(String(300 * 1024 * 1024));
    expect(run(["systemctl", "daemon-reload"]).code).toBe(0);
    expect(readCg(id, "memory.max")).toBe(String(300 * 1024 * 1024));
  });

  test("docker top and stats see it; docker pause freezes the scope (cgroup.freeze, cgroup.events) and unpause thaws it", async () => {
    const n = name("cg-pause");
    ok(["run", RT, "-d", "--name", n, IMAGE, "sleep", "600"]);
    const id = containerId(n);
    // docker top and docker stats read the same cgroup.
    expect(ok(["top", n])).toContain("sleep 600");
    const stats = ok(["stats", "--no-stream", "--format", "{{.PIDs}} {{.MemUsage}}", n]).trim();
    console.log(`docker stats: ${stats}`);
    expect(stats).toMatch(/^[1-9]\d* \d/);
    ok(["pause", n]);
    expect(readCg(id, "cgroup.freeze")).toBe("1");
    expect(await waitFor(() => readCg(id, "cgroup.events").includes("frozen 1"), 10_000, 200)).toBe(true);
    expect(ok(["inspect", "-f", "{{.State.Status}}", n]).trim()).toBe("paused");
    ok(["unpause", n]);
    expect(readCg(id, "cgroup.freeze")).toBe("0");
    expect(await waitFor(() => readCg(id, "cgroup.events").includes("frozen 0"), 10_000, 200)).toBe(true);
    expect(ok(["exec", n, "echo", "thawed"]).trim()).toBe("thawed");
  });

  test("--memory 6m (Docker's minimum, too small for the container to start) fails with the kernel's reason and leaves no scope, cgroup or range", async () => {
    const n = name("cg-tiny");
    const r = docker(["run", RT, "--name", n, "--memory", "6m", IMAGE, "true"]);
    console.log(`docker run --memory 6m: exit ${r.code}: ${r.err.trim()}`);
    expect(r.code).not.toBe(0);
    // The OOM killer, or a failed allocation first: either way the kernel's memory events say why.
    expect(r.err).toMatch(/(the kernel's OOM killer ended it \(memory\.events: oom_kill|it reached its memory limit \(memory\.events: max) \d+/);
    expect(r.err).toContain("memory.max is 6291456 bytes");
    const id = docker(["inspect", "-f", "{{.Id}}", n]).out.trim();
    docker(["rm", "-f", n]);
    expect(id).not.toBe("");
    expect(await waitFor(() => !existsSync(scopeDir(id)), 20_000)).toBe(true);
    expect(run(["systemctl", "list-units", "--all", "--no-legend", `docker-${id}.scope`]).out.trim()).toBe("");
    // sysbox-mgr frees a removed container's id range and dirs at its next sweep,
    // which a registration starts at once.
    const held = () => existsSync("/var/lib/sysbox/docker") && readdirSync("/var/lib/sysbox/docker").some((d) => d.includes(id));
    expect(await waitFor(() => {
      if (!held()) return true;
      docker(["run", RT, "--rm", IMAGE, "true"]);
      return !held();
    }, 60_000, 1000)).toBe(true);
  });
});

