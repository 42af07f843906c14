import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as posix from "node:path/posix";
import { createCgroup } from "./cgroup.ts";
import { eventsJson, eventsStats, stats } from "./stats.ts";
import { fabricateV1, fabricateV2, fakeKernel, tempRoot } from "./_fakefs.ts";

let root: string;
beforeEach(() => {
  root = tempRoot();
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function put(dir: string, files: Record<string, string>): void {
  for (const [f, c] of Object.entries(files)) fs.writeFileSync(posix.join(dir, f), c);
}

describe("stats on cgroup v2", () => {
  test("cpu, memory, pids and io from a recorded cgroup", () => {
    const layout = fabricateV2(root, ["cpu", "io", "memory", "pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/sysbox/c1", { io });
    put(cg.paths["unified"]!, {
      "cpu.stat": "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\ncore_sched.force_idle_usec 0\nnr_periods 10\nnr_throttled 2\nthrottled_usec 300\nnr_bursts 0\nburst_usec 0\n",
      "memory.current": "1204224\n",
      "memory.max": "67108864\n",
      "memory.peak": "2000000\n",
      "memory.swap.current": "4096\n",
      "memory.swap.max": "max\n",
      "memory.events": "low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\noom_group_kill 0\n",
      "memory.stat": "anon 270336\nfile 659456\nkernel 262144\n",
      "pids.current": "1\n",
      "pids.max": "20\n",
      "io.stat": "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
    });
    const s = stats(cg, { io });
    expect(s.cpu.usage).toEqual({ total: 2500000, percpu: [], percpuKernel: [], percpuUser: [], kernel: 500000, user: 2000000 });
    expect(s.cpu.throttling).toEqual({ periods: 10, throttledPeriods: 2, throttledTime: 300000 });
    expect(s.memory.usage).toEqual({ usage: 1204224, limit: 67108864, max: 2000000, failcnt: 3 });
    expect(s.memory.cache).toBe(659456);
    expect(s.memory.raw["anon"]).toBe(270336);
    expect(s.memory.swap).toEqual({ usage: 1208320, limit: 2 ** 64, max: 0, failcnt: 0 });
    expect(s.pids).toEqual({ current: 1, limit: 20 });
    expect(s.blkio.ioServiceBytesRecursive).toEqual([
      { major: 8, minor: 0, op: "Read", value: 4096 },
      { major: 8, minor: 0, op: "Write", value: 8192 },
    ]);
  });

  test("pids without the pids controller are counted from cgroup.procs", () => {
    const layout = fabricateV2(root, ["memory"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    put(cg.paths["unified"]!, { "cgroup.procs": "5\n6\n" });
    expect(stats(cg, { io }).pids).toEqual({ current: 2, limit: 0 });
  });
});

describe("stats on cgroup v1", () => {
  test("cpuacct, cpu.stat, memory with memsw/kmem, pids, blkio", () => {
    const layout = fabricateV1(root, ["cpu,cpuacct", "memory", "pids", "blkio"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/docker/abc", { io });
    put(cg.paths["cpu"]!, {
      "cpuacct.usage": "123456789\n",
      "cpuacct.usage_percpu": "100000000 23456789 \n",
      "cpuacct.stat": "user 7\nsystem 3\n",
      "cpuacct.usage_all": "cpu user system\n0 70000000 30000000\n1 20000000 3456789\n",
      "cpu.stat": "nr_periods 5\nnr_throttled 1\nthrottled_time 999\nnr_bursts 0\nburst_time 0\n",
    });
    put(cg.paths["memory"]!, {
      "memory.usage_in_bytes": "5000000\n",
      "memory.max_usage_in_bytes": "6000000\n",
      "memory.limit_in_bytes": "67108864\n",
      "memory.failcnt": "2\n",
      "memory.memsw.usage_in_bytes": "5100000\n",
      "memory.memsw.limit_in_bytes": "9223372036854771712\n",
      "memory.stat": "cache 4096\nrss 8192\ntotal_inactive_file 100\n",
    });
    put(cg.paths["pids"]!, { "pids.current": "3\n", "pids.max": "max\n" });
    put(cg.paths["blkio"]!, {
      "blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 0\n8:0 Sync 4096\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 4096\nTotal 4096\n",
    });
    const s = stats(cg, { io });
    expect(s.cpu.usage).toEqual({
      total: 123456789,
      percpu: [100000000, 23456789],
      percpuUser: [70000000, 20000000],
      percpuKernel: [30000000, 3456789],
      user: 70000000,
      kernel: 30000000,
    });
    expect(s.cpu.throttling).toEqual({ periods: 5, throttledPeriods: 1, throttledTime: 999 });
    expect(s.memory.usage).toEqual({ usage: 5000000, max: 6000000, limit: 67108864, failcnt: 2 });
    expect(s.memory.swap.limit).toBe(9223372036854771712);
    expect(s.memory.kernel).toEqual({ usage: 0, max: 0, limit: 0, failcnt: 0 }); // no kmem files here
    expect(s.memory.cache).toBe(4096);
    expect(s.pids).toEqual({ current: 3, limit: 0 });
    expect(s.blkio.ioServiceBytesRecursive).toHaveLength(6);
    expect(s.blkio.ioServiceBytesRecursive[0]).toEqual({ major: 8, minor: 0, op: "Read", value: 4096 });
  });

  test("blkio: the first family with data wins (CFQ, then BFQ, then throttle)", () => {
    const layout = fabricateV1(root, ["blkio"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/docker/abc", { io });
    put(cg.paths["blkio"]!, {
      "blkio.io_service_bytes_recursive": "Total 0\n",
      "blkio.bfq.io_service_bytes_recursive": "8:0 Read 512\nTotal 512\n",
      "blkio.bfq.io_serviced_recursive": "8:0 Read 1\nTotal 1\n",
      "blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\nTotal 4096\n",
    });
    const s = stats(cg, { io });
    expect(s.blkio).toEqual({
      ioServiceBytesRecursive: [{ major: 8, minor: 0, op: "Read", value: 512 }],
      ioServicedRecursive: [{ major: 8, minor: 0, op: "Read", value: 1 }],
    });
  });
});

describe("runc events --stats", () => {
  const s = {
    cpu: {
      usage: { total: 100, percpu: [60, 40], percpuKernel: [], percpuUser: [], kernel: 0, user: 0 },
      throttling: { periods: 0, throttledPeriods: 0, throttledTime: 0 },
    },
    memory: {
      cache: 0,
      usage: { usage: 4096, max: 0, limit: 9223372036854771712, failcnt: 0 },
      swap: { usage: 0, max: 0, limit: 2 ** 64, failcnt: 0 },
      kernel: { usage: 0, max: 0, limit: 0, failcnt: 0 },
      kernelTCP: { usage: 0, max: 0, limit: 0, failcnt: 0 },
      raw: { rss: 4096 },
    },
    pids: { current: 1, limit: 0 },
    blkio: { ioServiceBytesRecursive: [], ioServicedRecursive: [] },
  };

  test("shape and Go omitempty rules", () => {
    const ev = eventsStats("c1", s);
    expect(ev.type).toBe("stats");
    expect(ev.id).toBe("c1");
    expect(ev.data["cpu"]).toEqual({ usage: { total: 100, percpu: [60, 40], kernel: 0, user: 0 } });
    expect(ev.data["memory"]).toEqual({
      raw: { rss: 4096 },
      usage: { limit: 9223372036854771712, usage: 4096, failcnt: 0 },
      swap: { limit: 2 ** 64, failcnt: 0 },
    });
    expect(ev.data["pids"]).toEqual({ current: 1 });
    expect(ev.data["blkio"]).toEqual({});
  });

  test("uint64 values print exactly", () => {
    const json = eventsJson(eventsStats("c1", s));
    expect(json).toContain('"usage":{"limit":9223372036854771712,"usage":4096,"failcnt":0}');
    expect(json).toContain('"swap":{"limit":18446744073709551615,"failcnt":0}');
    expect(JSON.parse(json).type).toBe("stats");
  });
});
