import { describe, expect, test } from "bun:test";
import { emulation, fakeHost, fakePassThrough, served } from "./_testing.ts";
import {
  calcLoad, containerTasks, EXP, FIXED_1, formatLoad, loadavgText, newLoadAverages, parseTaskStatus, sampleLoad, taskFigures, updateLoad,
} from "./proc_loadavg.ts";

const status = (state: string, nspid: string) => `Name:\tx\nState:\t${state} (whatever)\nTgid:\t1\nNSpid:\t${nspid}\nPPid:\t0\n`;

/** A v1 host: the container's cpu/pids cgroup with a child, init in init.scope; a busy and a blocked thread. */
function v1Host() {
  const pids = "/sys/fs/cgroup/pids/docker/abc/syscont-cgroup-root";
  return fakeHost({
    "/proc/self/mountinfo": [
      "30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs ro",
      "31 30 0:28 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids",
      "32 30 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu",
      "",
    ].join("\n"),
    "/proc/4000/cgroup": "2:cpu:/docker/abc/syscont-cgroup-root/init.scope\n1:pids:/docker/abc/syscont-cgroup-root/init.scope\n",
    [`${pids}/tasks`]: "",
    [`${pids}/init.scope/tasks`]: "4000\n",
    [`${pids}/system.slice/tasks`]: "4100\n4101\n",
    [`${pids}/system.slice/deep/tasks`]: "4200\n4300\n",
    // Another container's cgroup, next to this one: never counted.
    "/sys/fs/cgroup/pids/docker/other/tasks": "5000\n",
    "/proc/4000/status": status("S", "4000\t1"),
    "/proc/4100/status": status("R", "4100\t20"),
    "/proc/4101/status": status("R", "4101\t21"),
    "/proc/4200/status": status("D", "4200\t35"),
    "/proc/5000/status": status("R", "5000\t1"),
    // 4300 is listed but gone: skipped.
    "/proc/loadavg": "9.99 9.99 9.99 7/700 70000\n",
  });
}

describe("load average arithmetic (kernel/sched/loadavg.c)", () => {
  test("one step from 0 with one task, steady state, decay", () => {
    expect(calcLoad(0, EXP[0], FIXED_1)).toBe(164);
    expect(calcLoad(164, EXP[0], FIXED_1)).toBe(315);
    // A steady load converges to exactly itself (the round-up while rising).
    let l = 0;
    for (let i = 0; i < 200; i++) l = calcLoad(l, EXP[0], 2 * FIXED_1);
    expect(l).toBe(2 * FIXED_1);
    // Falling: rounds down.
    expect(calcLoad(FIXED_1, EXP[0], 0)).toBe(1884);
    expect(calcLoad(FIXED_1, EXP[2], 0)).toBe(2037);
  });

  test("the three averages move at their own rates", () => {
    const s = newLoadAverages();
    updateLoad(s, 1);
    expect(s.avg).toEqual([164, 34, 11]);
    updateLoad(s, 1);
    expect(s.avg[0]).toBe(315);
    expect(s.avg[0]).toBeGreaterThan(s.avg[1]);
    expect(s.avg[1]).toBeGreaterThan(s.avg[2]);
  });

  test("formatting rounds like fs/proc/loadavg.c", () => {
    expect(formatLoad(0)).toBe("0.00");
    expect(formatLoad(164)).toBe("0.08");
    expect(formatLoad(315)).toBe("0.15");
    expect(formatLoad(FIXED_1)).toBe("1.00");
    expect(formatLoad(FIXED_1 / 2)).toBe("0.50");
    // 2047/2048 + the offset is 1.00, not 0.99.
    expect(formatLoad(FIXED_1 - 1)).toBe("1.00");
    expect(formatLoad(12 * FIXED_1 + 1000)).toBe("12.49");
    expect(loadavgText({ avg: [FIXED_1, 315, 0] }, 2, 17, 345)).toBe("1.00 0.15 0.00 2/17 345\n");
  });
});

describe("the container's tasks", () => {
  test("status lines: state letter and NSpid", () => {
    expect(parseTaskStatus(7, status("D", "7\t3\t1"))).toEqual({ tid: 7, state: "D", nsPids: [7, 3, 1] });
    expect(parseTaskStatus(7, "State:\tS (sleeping)\n")).toEqual({ tid: 7, state: "S", nsPids: [7] });
    expect(parseTaskStatus(7, "")).toBeUndefined();
  });

  test("v1: every dir below the container's cgroup (init.scope pruned), none beside it", () => {
    const tasks = containerTasks(v1Host(), 4000)!;
    expect(tasks.map((t) => t.tid).sort()).toEqual([4000, 4100, 4101, 4200]);
    // R and D sampled as active; the reader (4000, blocked on us) counts as running.
    expect(taskFigures(tasks, 4000, 4000)).toEqual({ running: 3, total: 4, lastPid: 35 });
    expect(taskFigures(tasks, 4000, 999)).toEqual({ running: 2, total: 4, lastPid: 35 });
  });

  test("v2: cgroup.threads, the init's parent when it sits in init.scope", () => {
    const ctr = "/sys/fs/cgroup/system.slice/docker-abc.scope";
    const h = fakeHost({
      "/proc/self/mountinfo": "30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
      "/proc/4000/cgroup": "0::/system.slice/docker-abc.scope/init.scope\n",
      [`${ctr}/cgroup.threads`]: "",
      [`${ctr}/init.scope/cgroup.threads`]: "4000\n",
      [`${ctr}/work/cgroup.threads`]: "4100\n",
      "/proc/4000/status": status("S", "4000\t1"),
      "/proc/4100/status": status("R", "4100\t9"),
    });
    const tasks = containerTasks(h, 4000)!;
    expect(taskFigures(tasks, 4000, 1)).toEqual({ running: 1, total: 2, lastPid: 9 });
    const load = newLoadAverages();
    expect(sampleLoad(h, 4000, load)).toBe(true);
    expect(load.avg[0]).toBe(164);
  });

  test("an init in the hierarchy's root has no cgroup of its own", () => {
    const h = fakeHost({
      "/proc/self/mountinfo": "30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
      "/proc/4000/cgroup": "0::/\n",
      "/sys/fs/cgroup/cgroup.threads": "1\n4000\n",
    });
    expect(containerTasks(h, 4000)).toBeUndefined();
    const load = newLoadAverages();
    expect(sampleLoad(h, 4000, load)).toBe(false);
    expect(load.avg).toEqual([0, 0, 0]);
  });
});

describe("/proc/loadavg", () => {
  test("zeros before the first sample, then the sampled averages; counts read now", async () => {
    const h = v1Host();
    const { em } = emulation(h, fakePassThrough({}));
    const load = newLoadAverages();
    const s = served({ ...em, load });
    expect(await s.read("proc/loadavg")).toBe("0.00 0.00 0.00 3/4 35\n");
    // Two samples with 3 active tasks (two R, one D).
    sampleLoad(h, 4000, load);
    sampleLoad(h, 4000, load);
    const [one, five, fifteen] = (await s.read("proc/loadavg")).split(" ").map(Number);
    expect(one).toBeCloseTo(0.46, 2);
    expect(five).toBeGreaterThan(0);
    expect(fifteen).toBeLessThan(five!);
    expect((await s.attr("proc/loadavg")).mode).toBe(0o100444);
  });

  test("no cgroup of its own: the host's file", async () => {
    const h = fakeHost({ "/proc/self/mountinfo": "", "/proc/loadavg": "0.50 0.40 0.30 1/99 1234\n" });
    const s = served(emulation(h, fakePassThrough({})).em);
    expect(await s.read("proc/loadavg")).toBe("0.50 0.40 0.30 1/99 1234\n");
  });
});
