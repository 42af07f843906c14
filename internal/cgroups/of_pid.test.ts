import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { SysError } from "../sys/errno.ts";
import type { CgroupIo } from "./_io.ts";
import { containerCgroupDir, controllerDirs, pathInMount, pidCgroups } from "./of_pid.ts";
import { cpuQuotaOfPid, cpusOfPid, cpuTimeOfPid, ioOfPid, memoryOfPid, threadsOfPid } from "./of_pid_figures.ts";

const MB = 1024 * 1024;
const recorded = (name: string) => readFileSync(`${import.meta.dir}/testdata/mountinfo-${name}.txt`, "utf8");

/** Files by path, read-only; dirs are implied by the paths. */
function memIo(files: Record<string, string>): CgroupIo & { reads: string[] } {
  const enoent = (syscall: string, path: string) => new SysError({ syscall, errno: 2, path });
  const ro = (): never => {
    throw new TypeError("read-only");
  };
  const io = {
    reads: [] as string[],
    readFile(path: string) {
      io.reads.push(path);
      const f = files[path];
      if (f === undefined) throw enoent("read", path);
      return f;
    },
    readdir(path: string) {
      const names = new Map<string, boolean>();
      for (const p of Object.keys(files)) {
        if (!p.startsWith(`${path}/`)) continue;
        const rest = p.slice(path.length + 1).split("/");
        names.set(rest[0]!, rest.length > 1);
      }
      if (names.size === 0) throw enoent("readdir", path);
      return [...names].map(([name, isDir]) => ({ name, isDir }));
    },
    exists: (path: string) => Object.keys(files).some((p) => p === path || p.startsWith(`${path}/`)),
    writeFile: ro, mkdir: ro, rmdir: ro, chown: ro, kill: ro, sleep: ro,
  };
  return io;
}

const V2_CTR = "/sys/fs/cgroup/system.slice/docker-abc.scope";

/** A Docker container on a cgroup v2 host (Ubuntu 22.04 mountinfo), systemd inside in init.scope. */
function v2(extra: Record<string, string> = {}) {
  return pidCgroups(memIo({
    "/proc/self/mountinfo": recorded("v2-ubuntu2204"),
    "/proc/4000/cgroup": "0::/system.slice/docker-abc.scope/init.scope\n",
    ...extra,
  }));
}

const V1_MEM = "/sys/fs/cgroup/memory/docker/abc";

/** A Sysbox container on a cgroup v1 host (CentOS 7 mountinfo): the init sits in syscont-cgroup-root. */
function v1(extra: Record<string, string> = {}) {
  const leaf = "/docker/abc/syscont-cgroup-root";
  return pidCgroups(memIo({
    "/proc/self/mountinfo": recorded("v1-centos7"),
    "/proc/4000/cgroup": [
      `11:blkio:${leaf}`, `10:cpuset:${leaf}`, `9:pids:${leaf}`, `4:memory:${leaf}`, `3:cpu,cpuacct:${leaf}`, `1:name=systemd:${leaf}`, "",
    ].join("\n"),
    ...extra,
  }));
}

describe("a process's cgroup dirs", () => {
  test.each([
    ["/", "/docker/abc", "/docker/abc"],
    ["/", "/", "/"],
    ["/docker/4f1a", "/docker/4f1a/sub/", "/sub"],
    ["/docker/4f1a", "/docker/4f1a", "/"],
    ["/docker/4f1a", "/docker/4f1ab", undefined],
    ["/docker/4f1a", "/other", undefined],
  ])("mount root %p, path %p: %p inside the mount", (root, path, expected) => {
    expect(pathInMount(root, path)).toBe(expected);
  });

  test.each([
    ["v2-ubuntu2204", "0::/system.slice/docker-abc.scope\n", "memory", true, [V2_CTR, "/sys/fs/cgroup/system.slice", "/sys/fs/cgroup"]],
    ["v2-ubuntu2204", "0::/\n", "", true, ["/sys/fs/cgroup"]],
    ["hybrid-ubuntu2004", "5:memory:/docker/abc\n0::/docker/abc\n", "memory", false, [V1_MEM, "/sys/fs/cgroup/memory/docker", "/sys/fs/cgroup/memory"]],
    ["hybrid-ubuntu2004", "5:memory:/docker/abc\n0::/docker/abc\n", "", true, ["/sys/fs/cgroup/unified/docker/abc", "/sys/fs/cgroup/unified/docker", "/sys/fs/cgroup/unified"]],
    ["v1-centos7", "3:cpu,cpuacct:/docker/abc\n", "cpuacct", false, ["/sys/fs/cgroup/cpu,cpuacct/docker/abc", "/sys/fs/cgroup/cpu,cpuacct/docker", "/sys/fs/cgroup/cpu,cpuacct"]],
    ["v1-in-container", "4:memory:/docker/4f1a/inner\n", "memory", false, ["/sys/fs/cgroup/memory/inner", "/sys/fs/cgroup/memory"]],
  ])("%s, %p, controller %p", (mountinfo, procCgroup, controller, isV2, dirs) => {
    const cg = pidCgroups(memIo({ "/proc/self/mountinfo": recorded(mountinfo), "/proc/7/cgroup": procCgroup }));
    expect(controllerDirs(cg, 7, controller)).toEqual({ v2: isV2, dirs });
  });

  test("none: no such controller, a cgroup outside the mounted part, a gone process, no cgroupfs", () => {
    const files = { "/proc/self/mountinfo": recorded("v1-in-container"), "/proc/7/cgroup": "4:memory:/docker/other\n3:blkio:/x\n" };
    const cg = pidCgroups(memIo(files));
    expect(controllerDirs(cg, 7, "memory")).toBeUndefined();
    expect(controllerDirs(cg, 7, "blkio")).toBeUndefined();
    expect(controllerDirs(cg, 8, "memory")).toBeUndefined();
    // A v1-only host has no unified hierarchy.
    expect(controllerDirs(pidCgroups(memIo({ ...files, "/proc/self/mountinfo": recorded("v1-centos7") })), 7, "")).toBeUndefined();
    expect(controllerDirs(pidCgroups(memIo({ ...files, "/proc/self/mountinfo": "" })), 7, "memory")).toBeUndefined();
  });

  test("the container's own dir: init.scope pruned; the hierarchy's root is not one", () => {
    expect(containerCgroupDir(v2(), 4000, "")).toEqual({ v2: true, dir: V2_CTR });
    expect(containerCgroupDir(v1(), 4000, "blkio")).toEqual({ v2: false, dir: "/sys/fs/cgroup/blkio/docker/abc/syscont-cgroup-root" });
    const top = pidCgroups(memIo({ "/proc/self/mountinfo": recorded("v2-ubuntu2204"), "/proc/7/cgroup": "0::/init.scope\n" }));
    expect(containerCgroupDir(top, 7, "")).toBeUndefined();
  });

  test("the layout is read once per ttl, from the object that holds it", () => {
    let t = 0;
    const io = memIo({ "/proc/self/mountinfo": recorded("v2-ubuntu2204"), "/proc/7/cgroup": "0::/a\n" });
    const cg = pidCgroups(io, { ttlMs: 1000, now: () => t });
    for (let i = 0; i < 3; i++) controllerDirs(cg, 7, "memory");
    t = 999;
    expect(cg.layout()?.mode).toBe("v2");
    expect(io.reads.filter((p) => p === "/proc/self/mountinfo")).toHaveLength(1);
    t = 1000;
    cg.layout();
    expect(io.reads.filter((p) => p === "/proc/self/mountinfo")).toHaveLength(2);
    // Another object, another cache.
    pidCgroups(io).layout();
    expect(io.reads.filter((p) => p === "/proc/self/mountinfo")).toHaveLength(3);
  });

  test("with procTtlMs, a process's /proc/PID/cgroup is read once per ttl; without, on every lookup", () => {
    let t = 0;
    const files = { "/proc/self/mountinfo": recorded("v2-ubuntu2204"), "/proc/7/cgroup": "0::/a\n" };
    const io = memIo(files);
    const cg = pidCgroups(io, { procTtlMs: 1000, now: () => t });
    const reads = () => io.reads.filter((p) => p === "/proc/7/cgroup").length;
    for (let i = 0; i < 3; i++) expect(controllerDirs(cg, 7, "")?.dirs[0]).toBe("/sys/fs/cgroup/a");
    expect(reads()).toBe(1);
    // The process moved: seen once the ttl is over.
    files["/proc/7/cgroup"] = "0::/a/init.scope\n";
    t = 1000;
    expect(controllerDirs(cg, 7, "")?.dirs[0]).toBe("/sys/fs/cgroup/a/init.scope");
    expect(reads()).toBe(2);
    const plain = pidCgroups(io);
    controllerDirs(plain, 7, "");
    controllerDirs(plain, 7, "");
    expect(reads()).toBe(4);
  });
});

describe("memory", () => {
  const stat = [
    `anon ${150 * MB}`, `file ${50 * MB}`, `active_anon ${140 * MB}`, `active_file ${30 * MB}`, `inactive_file ${10 * MB}`,
    `file_dirty 4096`, `slab ${8 * MB}`, `slab_reclaimable ${6 * MB}`, `slab_unreclaimable ${2 * MB}`, "",
  ].join("\n");

  test.each([
    ["the container's memory.max above the init's max", { [`${V2_CTR}/memory.max`]: `${512 * MB}\n`, [`${V2_CTR}/init.scope/memory.max`]: "max\n" }, 512 * MB],
    ["the tightest along the path", { [`${V2_CTR}/memory.max`]: `${512 * MB}\n`, [`${V2_CTR}/init.scope/memory.max`]: `${256 * MB}\n` }, 256 * MB],
    ["max everywhere", { [`${V2_CTR}/memory.max`]: "max\n" }, undefined],
  ])("v2: %s", (_name, limits, limit) => {
    const m = memoryOfPid(v2({ ...limits, [`${V2_CTR}/init.scope/memory.current`]: `${200 * MB}\n`, [`${V2_CTR}/init.scope/memory.stat`]: stat }), 4000)!;
    expect(m.v2).toBe(true);
    expect(m.limit).toBe(limit);
    expect(m.usage).toBe(200 * MB);
    expect(m.stat).toMatchObject({ cache: 50 * MB, anon: 150 * MB, activeAnon: 140 * MB, inactiveAnon: 0, dirty: 4096, slabReclaimable: 6 * MB });
    expect(m.swap).toBeUndefined();
  });

  test("v2 swap: memory.swap.max up the path, memory.swap.current", () => {
    const m = memoryOfPid(v2({
      [`${V2_CTR}/init.scope/memory.current`]: "1\n",
      [`${V2_CTR}/memory.swap.max`]: `${256 * MB}\n`,
      [`${V2_CTR}/init.scope/memory.swap.max`]: "max\n",
      [`${V2_CTR}/init.scope/memory.swap.current`]: `${MB}\n`,
    }), 4000)!;
    expect(m.swap).toEqual({ limit: 256 * MB, usage: MB });
    expect(m.memsw).toBeUndefined();
  });

  test("v1: limit_in_bytes (its page-counter maximum is none), total_* stat keys, memsw", () => {
    const leaf = `${V1_MEM}/syscont-cgroup-root`;
    const m = memoryOfPid(v1({
      [`${V1_MEM}/memory.limit_in_bytes`]: `${512 * MB}\n`,
      [`${leaf}/memory.limit_in_bytes`]: "9223372036854771712\n",
      [`${leaf}/memory.usage_in_bytes`]: `${100 * MB}\n`,
      [`${leaf}/memory.stat`]: `cache 1\ntotal_cache ${20 * MB}\ntotal_rss ${80 * MB}\n`,
      [`${V1_MEM}/memory.memsw.limit_in_bytes`]: `${768 * MB}\n`,
      [`${leaf}/memory.memsw.usage_in_bytes`]: `${110 * MB}\n`,
    }), 4000)!;
    expect(m).toMatchObject({ v2: false, limit: 512 * MB, usage: 100 * MB, memsw: { limit: 768 * MB, usage: 110 * MB } });
    expect(m.stat).toMatchObject({ cache: 20 * MB, anon: 80 * MB, slab: 0 });
  });

  test("none without a usage file or a memory cgroup", () => {
    expect(memoryOfPid(v2({ [`${V2_CTR}/memory.max`]: "1\n" }), 4000)).toBeUndefined();
    expect(memoryOfPid(v2(), 4001)).toBeUndefined();
  });
});

describe("CPUs", () => {
  test.each([
    ["cpu.max on the container, max below", { [`${V2_CTR}/cpu.max`]: "200000 100000\n", [`${V2_CTR}/init.scope/cpu.max`]: "max 100000\n" }, 2, [0, 1]],
    ["1.5 CPUs of quota round up", { [`${V2_CTR}/cpu.max`]: "150000 100000\n" }, 1.5, [0, 1]],
    ["cpuset.cpus.effective", { [`${V2_CTR}/cpuset.cpus.effective`]: "1,3\n" }, undefined, [1, 3]],
    ["cpuset.cpus when there is no effective file", { [`${V2_CTR}/init.scope/cpuset.cpus`]: "2-3\n" }, undefined, [2, 3]],
    ["an empty cpuset leaves the parent's", { [`${V2_CTR}/init.scope/cpuset.cpus.effective`]: "\n", [`${V2_CTR}/cpuset.cpus.effective`]: "0,2\n" }, undefined, [0, 2]],
    ["cpuset and quota together", { [`${V2_CTR}/cpuset.cpus.effective`]: "1-3\n", [`${V2_CTR}/cpu.max`]: "100000 100000\n" }, 1, [1]],
    ["nothing set: every host CPU", {}, undefined, [0, 1, 2, 3]],
  ])("v2: %s", (_name, files, quota, cpus) => {
    const cg = v2(files);
    expect(cpuQuotaOfPid(cg, 4000)).toBe(quota);
    expect(cpusOfPid(cg, 4000, [0, 1, 2, 3])).toEqual(cpus);
  });

  test("v1: cfs quota/period and cpuset.effective_cpus", () => {
    const cpu = "/sys/fs/cgroup/cpu,cpuacct/docker/abc";
    const cg = v1({
      [`${cpu}/cpu.cfs_quota_us`]: "100000\n", [`${cpu}/cpu.cfs_period_us`]: "100000\n",
      [`${cpu}/syscont-cgroup-root/cpu.cfs_quota_us`]: "-1\n", [`${cpu}/syscont-cgroup-root/cpu.cfs_period_us`]: "100000\n",
      "/sys/fs/cgroup/cpuset/docker/abc/syscont-cgroup-root/cpuset.effective_cpus": "1,3\n",
    });
    expect(cpuQuotaOfPid(cg, 4000)).toBe(1);
    expect(cpusOfPid(cg, 4000, [0, 1, 2, 3])).toEqual([1]);
  });

  test("time: v2 cpu.stat totals in µs; v1 cpuacct.usage_all per CPU in ns", () => {
    expect(cpuTimeOfPid(v2({ [`${V2_CTR}/init.scope/cpu.stat`]: "usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n" }), 4000))
      .toEqual({ totalUsec: { user: 4000000, system: 1000000 } });
    expect(cpuTimeOfPid(v2({ [`${V2_CTR}/init.scope/cpu.stat`]: "usage_usec 5\n" }), 4000)).toBeUndefined();
    const all = "cpu user system\n0 0 0\n1 300000000 100000000\n";
    expect(cpuTimeOfPid(v1({ "/sys/fs/cgroup/cpu,cpuacct/docker/abc/syscont-cgroup-root/cpuacct.usage_all": all }), 4000))
      .toEqual({ perCpuNs: new Map([[0, { user: 0, system: 0 }], [1, { user: 300000000, system: 100000000 }]]) });
    expect(cpuTimeOfPid(v1(), 4000)).toBeUndefined();
  });
});

describe("I/O", () => {
  test("v2: io.stat of the container's dir, init.scope pruned", () => {
    const io = ioOfPid(v2({
      [`${V2_CTR}/io.stat`]: "254:0 rbytes=2097152 wbytes=8388608 rios=64 wios=128 dbytes=4096 dios=2\n",
      [`${V2_CTR}/init.scope/io.stat`]: "254:0 rbytes=512 rios=1\n",
    }), 4000);
    expect(io).toEqual({ v2: true, ioStat: new Map([["254:0", new Map([["rbytes", 2097152], ["wbytes", 8388608], ["rios", 64], ["wios", 128], ["dbytes", 4096], ["dios", 2]])]]) });
    expect(ioOfPid(v2(), 4000)).toBeUndefined();
  });

  test("v1: each family present, in order of preference; none present is no accounting", () => {
    const dir = "/sys/fs/cgroup/blkio/docker/abc/syscont-cgroup-root";
    const io = ioOfPid(v1({
      [`${dir}/blkio.throttle.io_serviced_recursive`]: "254:0 Read 16\n254:0 Write 32\nTotal 48\n",
      [`${dir}/blkio.throttle.io_service_bytes_recursive`]: "254:0 Read 1048576\nTotal 1048576\n",
      [`${dir}/blkio.bfq.io_serviced_recursive`]: "Total 0\n",
    }), 4000);
    expect(io?.v2).toBe(false);
    const families = io && !io.v2 ? io.families : [];
    expect(families).toHaveLength(2);
    expect(families[0]!.serviced.size).toBe(0);
    expect(families[1]!.serviced.get("254:0")).toEqual(new Map([["Read", 16], ["Write", 32]]));
    expect(families[1]!.bytes.get("254:0")?.get("Read")).toBe(1048576);
    expect(families[1]!.merged.size).toBe(0);
    expect(ioOfPid(v1(), 4000)).toBeUndefined();
  });
});

describe("threads", () => {
  test("v2 cgroup.threads of the container's dir and every dir below", () => {
    const tids = threadsOfPid(v2({
      [`${V2_CTR}/cgroup.threads`]: "",
      [`${V2_CTR}/init.scope/cgroup.threads`]: "4000\n",
      [`${V2_CTR}/system.slice/cron.service/cgroup.threads`]: "4100\n4101\n",
    }), 4000);
    expect(tids?.sort()).toEqual([4000, 4100, 4101]);
  });

  test("v1 tasks, from the pids hierarchy; none without a cgroup of its own", () => {
    expect(threadsOfPid(v1({ "/sys/fs/cgroup/pids/docker/abc/syscont-cgroup-root/tasks": "4000\n4001\n" }), 4000)).toEqual([4000, 4001]);
    const top = pidCgroups(memIo({ "/proc/self/mountinfo": recorded("v2-ubuntu2204"), "/proc/7/cgroup": "0::/\n" }));
    expect(threadsOfPid(top, 7)).toBeUndefined();
  });
});
