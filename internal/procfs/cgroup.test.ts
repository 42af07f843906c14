import { describe, expect, test } from "bun:test";
import { emulation, fakeHost, fakePassThrough, served } from "./_testing.ts";
import { cpuQuotaOfPid, cpusOfPid, pidCgroups } from "../cgroups/mod.ts";
import { cgroupIo, hostCgroups, linuxHost, type Host } from "./host.ts";
import { parseMeminfo } from "./proc_meminfo.ts";
import { SWAPS_HEADER } from "./proc_swaps.ts";

const MB = 1024 * 1024;

const HOST_MEMINFO = [
  "MemTotal:       16000000 kB",
  "MemFree:        12000000 kB",
  "MemAvailable:   14000000 kB",
  "Buffers:          100000 kB",
  "Cached:          1500000 kB",
  "SwapCached:            0 kB",
  "Active:          1000000 kB",
  "Inactive:         900000 kB",
  "Active(anon):     500000 kB",
  "Inactive(anon):   100000 kB",
  "Active(file):     500000 kB",
  "Inactive(file):   800000 kB",
  "Unevictable:           0 kB",
  "SwapTotal:       1048576 kB",
  "SwapFree:        1048576 kB",
  "Dirty:               100 kB",
  "Writeback:             0 kB",
  "AnonPages:        600000 kB",
  "Mapped:           200000 kB",
  "Shmem:             10000 kB",
  "Slab:             300000 kB",
  "SReclaimable:     200000 kB",
  "SUnreclaim:       100000 kB",
  "HugePages_Total:       0",
  "",
].join("\n");

const cpuBlock = (n: number) => `processor\t: ${n}\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\ncore id\t\t: ${n}`;
const HOST_CPUINFO = `${[0, 1, 2, 3].map(cpuBlock).join("\n\n")}\n\n`;
const HOST_STAT = [
  "cpu  400 0 200 4000 0 0 0 0 0 0",
  "cpu0 100 0 50 1000 0 0 0 0 0 0",
  "cpu1 100 0 50 1000 0 0 0 0 0 0",
  "cpu2 100 0 50 1000 0 0 0 0 0 0",
  "cpu3 100 0 50 1000 0 0 0 0 0 0",
  "intr 12345",
  "ctxt 999",
  "btime 1700000000",
  "processes 42",
  "",
].join("\n");

const common = { "/proc/meminfo": HOST_MEMINFO, "/proc/cpuinfo": HOST_CPUINFO, "/proc/stat": HOST_STAT };

function v1Host(extra: Record<string, string> = {}) {
  const leaf = "/docker/abc/syscont-cgroup-root";
  return fakeHost({
    ...common,
    "/proc/self/mountinfo": [
      "30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs ro",
      "31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu",
      "32 30 0:29 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct",
      "33 30 0:30 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset",
      "34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
      "40 30 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw",
      "",
    ].join("\n"),
    "/proc/4000/cgroup": `4:memory:${leaf}\n3:cpuset:${leaf}\n2:cpuacct:${leaf}\n1:cpu:${leaf}\n0::/\n`,
    "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
    "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": `${512 * MB}\n`,
    [`/sys/fs/cgroup/memory${leaf}/memory.limit_in_bytes`]: "9223372036854771712\n",
    [`/sys/fs/cgroup/memory${leaf}/memory.usage_in_bytes`]: `${100 * MB}\n`,
    [`/sys/fs/cgroup/memory${leaf}/memory.stat`]: [
      "cache 1", "rss 1", `total_cache ${20 * MB}`, `total_rss ${80 * MB}`, `total_active_anon ${70 * MB}`,
      `total_inactive_anon ${10 * MB}`, `total_active_file ${10 * MB}`, `total_inactive_file ${5 * MB}`,
      "total_unevictable 0", "total_dirty 4096", "total_writeback 0", `total_mapped_file ${MB}`, `total_shmem ${2 * MB}`, "",
    ].join("\n"),
    [`/sys/fs/cgroup/cpuset${leaf}/cpuset.effective_cpus`]: "1,3\n",
    "/sys/fs/cgroup/cpu/docker/abc/cpu.cfs_quota_us": "100000\n",
    "/sys/fs/cgroup/cpu/docker/abc/cpu.cfs_period_us": "100000\n",
    [`/sys/fs/cgroup/cpu${leaf}/cpu.cfs_quota_us`]: "-1\n",
    [`/sys/fs/cgroup/cpu${leaf}/cpu.cfs_period_us`]: "100000\n",
    [`/sys/fs/cgroup/cpuacct${leaf}/cpuacct.usage_all`]: "cpu user system\n0 0 0\n1 300000000 100000000\n2 0 0\n3 0 0\n",
    ...extra,
  });
}

function v2Host(extra: Record<string, string> = {}) {
  const ctr = "/sys/fs/cgroup/system.slice/docker-abc.scope";
  return fakeHost({
    ...common,
    "/proc/self/mountinfo": "30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
    "/proc/4000/cgroup": "0::/system.slice/docker-abc.scope/init.scope\n",
    [`${ctr}/memory.max`]: `${512 * MB}\n`,
    [`${ctr}/init.scope/memory.max`]: "max\n",
    [`${ctr}/init.scope/memory.current`]: `${200 * MB}\n`,
    [`${ctr}/init.scope/memory.stat`]: [
      `anon ${150 * MB}`, `file ${50 * MB}`, `active_file ${30 * MB}`, `inactive_file ${10 * MB}`, `slab ${8 * MB}`,
      `slab_reclaimable ${6 * MB}`, `slab_unreclaimable ${2 * MB}`, "",
    ].join("\n"),
    [`${ctr}/memory.swap.max`]: `${256 * MB}\n`,
    [`${ctr}/init.scope/memory.swap.max`]: "max\n",
    [`${ctr}/init.scope/memory.swap.current`]: `${MB}\n`,
    [`${ctr}/cpu.max`]: "200000 100000\n",
    [`${ctr}/init.scope/cpu.max`]: "max 100000\n",
    [`${ctr}/cpuset.cpus.effective`]: "0-3\n",
    [`${ctr}/init.scope/cpu.stat`]: "usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n",
    ...extra,
  });
}

const pt = () => fakePassThrough({});

const cpuQuota = (host: Host, pid: number) => cpuQuotaOfPid(hostCgroups(host), pid);
const containerCpus = (host: Host, pid: number, hostCpus: number[]) => cpusOfPid(hostCgroups(host), pid, hostCpus);

describe("cgroup lookups through the host seam", () => {
  test("quotas and the container's CPUs on v1 and v2", () => {
    expect(cpuQuota(v1Host(), 4000)).toBe(1);
    expect(containerCpus(v1Host(), 4000, [0, 1, 2, 3])).toEqual([1]);
    expect(cpuQuota(v2Host(), 4000)).toBe(2);
    expect(containerCpus(v2Host(), 4000, [0, 1, 2, 3])).toEqual([0, 1]);
    // 1.5 CPUs of quota round up.
    expect(containerCpus(v2Host({ "/sys/fs/cgroup/system.slice/docker-abc.scope/cpu.max": "150000 100000\n" }), 4000, [0, 1, 2, 3])).toEqual([0, 1]);
    // No cgroup info at all: every host CPU.
    expect(containerCpus(fakeHost({ "/proc/self/mountinfo": "" }), 4000, [0, 1])).toEqual([0, 1]);
  });
});

describe("/proc/meminfo", () => {
  test("v1: the limit from the container's cgroup above the init's, usage and stat figures", async () => {
    const s = served(emulation(v1Host(), pt()).em);
    const m = parseMeminfo(await s.read("proc/meminfo"));
    expect(m.get("MemTotal")).toBe(524288);
    expect(m.get("MemFree")).toBe(412 * 1024);
    expect(m.get("MemAvailable")).toBe(427 * 1024);
    expect(m.get("Cached")).toBe(20 * 1024);
    expect(m.get("Buffers")).toBe(0);
    expect(m.get("AnonPages")).toBe(80 * 1024);
    expect(m.get("Active")).toBe(80 * 1024);
    expect(m.get("Slab")).toBe(0);
    expect(m.get("SwapTotal")).toBe(0);
    expect(m.get("HugePages_Total")).toBe(0);
    // Columns stay where the kernel puts them.
    const text = await s.read("proc/meminfo");
    expect(text.split("\n")[0]).toBe("MemTotal:         524288 kB");
    expect(text.split("\n").length).toBe(HOST_MEMINFO.split("\n").length);
    expect(await s.read("proc/swaps")).toBe(SWAPS_HEADER);
  });

  test("v2: memory.max, memory.current, slab and swap", async () => {
    const s = served(emulation(v2Host(), pt()).em);
    const m = parseMeminfo(await s.read("proc/meminfo"));
    expect(m.get("MemTotal")).toBe(524288);
    expect(m.get("MemFree")).toBe(312 * 1024);
    expect(m.get("MemAvailable")).toBe((312 + 30 + 10 + 6) * 1024);
    expect(m.get("SReclaimable")).toBe(6 * 1024);
    expect(m.get("SwapTotal")).toBe(256 * 1024);
    expect(m.get("SwapFree")).toBe(255 * 1024);
    expect(await s.read("proc/swaps")).toBe(`${SWAPS_HEADER}${"none".padEnd(40)}virtual\t\t262144\t1024\t0\n`);
  });

  test("no limit: the host's total; no memory cgroup: the host's file", async () => {
    const unlimited = v2Host({ "/sys/fs/cgroup/system.slice/docker-abc.scope/memory.max": "max\n" });
    expect(parseMeminfo(await served(emulation(unlimited, pt()).em).read("proc/meminfo")).get("MemTotal")).toBe(16000000);
    const none = fakeHost({ ...common, "/proc/self/mountinfo": "" });
    expect(await served(emulation(none, pt()).em).read("proc/meminfo")).toBe(HOST_MEMINFO);
  });
});

describe("/proc/cpuinfo and /proc/stat", () => {
  test("only the container's CPUs, renumbered from 0", async () => {
    const s = served(emulation(v1Host(), pt()).em);
    const info = await s.read("proc/cpuinfo");
    expect(info.match(/^processor\t: \d+$/gm)).toEqual(["processor\t: 0"]);
    expect(info).toContain("core id\t\t: 1");
    const v2 = await served(emulation(v2Host(), pt()).em).read("proc/cpuinfo");
    expect(v2.match(/^processor\t: \d+$/gm)).toEqual(["processor\t: 0", "processor\t: 1"]);
    const none = await served(emulation(fakeHost({ ...common, "/proc/self/mountinfo": "" }), pt()).em).read("proc/cpuinfo");
    expect(none).toBe(HOST_CPUINFO);
  });

  test("v1: per-CPU user/system from cpuacct.usage_all, the rest idle; other lines the host's", async () => {
    const lines = (await served(emulation(v1Host(), pt()).em).read("proc/stat")).split("\n");
    expect(lines.slice(0, 2)).toEqual(["cpu  30 0 10 1110 0 0 0 0 0 0", "cpu0 30 0 10 1110 0 0 0 0 0 0"]);
    expect(lines.slice(2)).toEqual(["intr 12345", "ctxt 999", "btime 1700000000", "processes 42", ""]);
  });

  test("v2: cpu.stat totals spread over the container's CPUs", async () => {
    const lines = (await served(emulation(v2Host(), pt()).em).read("proc/stat")).split("\n");
    expect(lines.slice(0, 3)).toEqual(["cpu  400 0 100 1800 0 0 0 0 0 0", "cpu0 200 0 50 900 0 0 0 0 0 0", "cpu1 200 0 50 900 0 0 0 0 0 0"]);
  });
});

describe("the host seam as a CgroupIo", () => {
  test("reads and listings pass through; a missing file is SysError ENOENT; writes are refused", () => {
    const io = cgroupIo(v2Host());
    expect(io.readFile("/sys/fs/cgroup/system.slice/docker-abc.scope/cpu.max")).toBe("200000 100000\n");
    expect(() => io.readFile("/sys/fs/cgroup/nope")).toThrow(expect.objectContaining({ code: "ENOENT", errno: 2 }));
    expect(io.readdir("/sys/fs/cgroup/system.slice/docker-abc.scope").find((e) => e.name === "init.scope")).toEqual({ name: "init.scope", isDir: true });
    expect(io.exists("/sys/fs/cgroup/system.slice")).toBe(true);
    expect(() => io.writeFile("/sys/fs/cgroup/system.slice/docker-abc.scope/cpu.max", "max")).toThrow(TypeError);
  });

  test("a host that holds its own lookups (the real one) shares them; a fake gets a fresh one", () => {
    const host = v2Host();
    const own = pidCgroups(cgroupIo(host));
    expect(hostCgroups({ ...host, cgroups: own })).toBe(own);
    expect(hostCgroups(host)).not.toBe(hostCgroups(host));
    expect(linuxHost.cgroups).toBeDefined();
    expect(hostCgroups(linuxHost)).toBe(hostCgroups(linuxHost));
  });
});
