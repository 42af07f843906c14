/**
 * In the test VM: what sysbox-fs shows inside a system container when its
 * figures come from cgroup v2 files (memory.max, memory.current,
 * cpuset.cpus.effective, cpu.max, cpu.stat, io.stat) under Docker's systemd
 * driver, read the way users read them: cat, free, nproc, top.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { RT, SYSCONT, containerId, docker, isGuest, name, ok, readCg } from "./_guest.ts";

/** The numbers after the name on `dev`'s line of a diskstats text. */
function diskLine(text: string, dev: string): number[] | undefined {
  const line = text.split("\n").find((l) => l.trim().split(/\s+/)[2] === dev);
  return line?.trim().split(/\s+/).slice(3).map(Number);
}

/** user+nice+system+idle... of the `cpu ` line of a /proc/stat text, in ticks. */
function cpuTotal(stat: string, field: number): number {
  const cpu = stat.split("\n").find((l) => l.startsWith("cpu "))!;
  return Number(cpu.trim().split(/\s+/)[field]);
}

describe.skipIf(!isGuest)("sysbox-fs on cgroup v2 [requires the test VM]", () => {
  test("cpuinfo, stat, loadavg, diskstats, meminfo, nproc and top inside follow the container's v2 cgroup", async () => {
    const n = name("fs-v2");
    // The systemd image has procps (top, free); sleep keeps systemd out of the figures.
    ok(["run", RT, "-d", "--name", n, "--memory", "256m", "--cpuset-cpus", "1", SYSCONT, "sleep", "600"]);
    const id = containerId(n);
    expect(readCg(id, "cpuset.cpus.effective")).toBe("1");

    const inside = (cmd: string) => ok(["exec", n, "sh", "-c", cmd]);
    // cpuset.cpus.effective: one CPU, renumbered from 0.
    expect(inside("grep -c ^processor /proc/cpuinfo").trim()).toBe("1");
    expect(inside("grep ^processor /proc/cpuinfo").trim()).toMatch(/^processor\s*:\s*0$/);
    expect(inside("grep -c '^cpu[0-9]' /proc/stat").trim()).toBe("1");
    expect(inside("nproc").trim()).toBe("1");

    // cpu.stat: the container's busy time, far below the host's since boot.
    const burn = inside("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; cat /proc/stat");
    const hostStat = readFileSync("/proc/stat", "utf8");
    const usage = Number(/usage_usec (\d+)/.exec(readCg(id, "cpu.stat"))![1]);
    console.log(`cpu.stat usage_usec ${usage}; inside cpu user ${cpuTotal(burn, 1)} ticks, host ${cpuTotal(hostStat, 1)}`);
    expect(cpuTotal(burn, 1) + cpuTotal(burn, 3)).toBeGreaterThan(0);
    expect(cpuTotal(burn, 1)).toBeLessThan(cpuTotal(hostStat, 1));

    // loadavg: the kernel's format; running/total counts this container's tasks only.
    const load = inside("cat /proc/loadavg").trim();
    expect(load).toMatch(/^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+$/);
    const total = Number(load.split(" ")[3]!.split("/")[1]);
    const hostTotal = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[3]!.split("/")[1]);
    expect(total).toBeLessThan(10);
    expect(total).toBeLessThan(hostTotal);

    // io.stat: the container's writes (written back on fsync, charged to its
    // cgroup) show as its own sectors on the guest's disk, a small part of
    // the host's since boot.
    inside("dd if=/dev/zero of=/var/tmp/f bs=1M count=8 conv=fsync 2>/dev/null");
    const disk = diskLine(inside("cat /proc/diskstats"), "vda");
    const hostDisk = diskLine(readFileSync("/proc/diskstats", "utf8"), "vda")!;
    console.log(`diskstats vda inside: ${disk?.slice(0, 8).join(" ")}; host: ${hostDisk.slice(0, 8).join(" ")}`);
    expect(disk).toBeDefined();
    // Field 7 (index 6): sectors written; 8 MB is 16384 sectors.
    expect(disk![6]).toBeGreaterThanOrEqual(16384);
    expect(disk![6]).toBeLessThan(hostDisk[6]!);
    expect(disk![2]).toBeLessThan(hostDisk[2]!);

    // memory.max and memory.current, as meminfo, free and top show them.
    const meminfo = inside("cat /proc/meminfo");
    expect(meminfo).toContain(`MemTotal:         262144 kB`);
    const avail = Number(/MemAvailable:\s+(\d+) kB/.exec(meminfo)![1]);
    expect(avail).toBeGreaterThan(0);
    expect(avail).toBeLessThan(262144);
    expect(inside("free -m | awk '/^Mem:/ {print $2}'").trim()).toBe("256");
    const top = inside("top -b -n 1");
    console.log(top.split("\n").slice(0, 5).join("\n"));
    expect(top).toMatch(/MiB Mem :\s+256\.0 total/);
    expect(top).toMatch(/Tasks:\s+[1-9]\d? total/);
    expect(top).toContain("sleep");
    expect(docker(["rm", "-f", n]).code).toBe(0);
  }, 5 * 60_000);
});
