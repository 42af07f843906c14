import { describe, expect, test } from "bun:test";
import { fakeHost } from "./_testing.ts";
import { SI_LOAD_SHIFT, sysinfoFigures } from "./sysinfo.ts";
import { FIXED_1 } from "./proc_loadavg.ts";

const MB = 1024 * 1024;
const HOST_MEMINFO = "MemTotal:       16000000 kB\nMemFree:        12000000 kB\nBuffers:          100000 kB\nShmem:             10000 kB\nSwapTotal:       1048576 kB\nSwapFree:         1000000 kB\n";
const ctr = "/sys/fs/cgroup/system.slice/docker-abc.scope";

function v2Host() {
  return fakeHost({
    "/proc/meminfo": HOST_MEMINFO,
    "/proc/self/mountinfo": "30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
    "/proc/4000/cgroup": "0::/system.slice/docker-abc.scope/init.scope\n",
    [`${ctr}/memory.max`]: `${512 * MB}\n`,
    [`${ctr}/init.scope/memory.max`]: "max\n",
    [`${ctr}/init.scope/memory.current`]: `${200 * MB}\n`,
    [`${ctr}/init.scope/memory.stat`]: `anon ${150 * MB}\nfile ${50 * MB}\nshmem ${4 * MB}\n`,
    [`${ctr}/memory.swap.max`]: `${256 * MB}\n`,
    [`${ctr}/init.scope/memory.swap.max`]: "max\n",
    [`${ctr}/init.scope/memory.swap.current`]: `${MB}\n`,
    [`${ctr}/init.scope/cgroup.threads`]: "4000\n4001\n4002\n",
    "/proc/4000/status": "State:\tS (sleeping)\nNSpid:\t4000\t1\n",
    "/proc/4001/status": "State:\tR (running)\nNSpid:\t4001\t7\n",
    "/proc/4002/status": "State:\tS (sleeping)\nNSpid:\t4002\t9\n",
  });
}

describe("sysinfoFigures", () => {
  test("memory from the container's cgroup as meminfo has it, uptime from its start, its loads and threads", () => {
    const host = v2Host();
    host.up = { up: 1000.7, idle: 0 };
    const f = sysinfoFigures(host, { initPid: 4000, startBoot: 900.2, load: { avg: [FIXED_1, FIXED_1 / 2, 0] } });
    expect(f).toEqual({
      uptime: 100,
      loads: [1 << SI_LOAD_SHIFT, 1 << (SI_LOAD_SHIFT - 1), 0],
      totalram: 512 * MB, freeram: 312 * MB, sharedram: 4 * MB, bufferram: 0,
      totalswap: 256 * MB, freeswap: 255 * MB,
      procs: 3,
    });
  });
  test("no memory cgroup: the host's memory figures; never a negative uptime", () => {
    const host = fakeHost({ "/proc/meminfo": HOST_MEMINFO, "/proc/self/mountinfo": "" });
    const f = sysinfoFigures(host, { initPid: 4000, startBoot: 5000 });
    expect(f.uptime).toBe(0);
    expect(f.totalram).toBe(16000000 * 1024);
    expect(f.freeram).toBe(12000000 * 1024);
    expect(f.bufferram).toBe(100000 * 1024);
    expect(f.freeswap).toBe(1000000 * 1024);
    expect(f.loads).toEqual([0, 0, 0]);
  });
});
