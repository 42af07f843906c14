import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as posix from "node:path/posix";
import { createCgroup, type Cgroup } from "./cgroup.ts";
import { applyResources } from "./resources.ts";
import { fabricateV2, fakeKernel, tempRoot, type FakeKernel } from "./_fakefs.ts";

let root: string;
let io: FakeKernel;
let cg: Cgroup;
let dir: string;

beforeEach(() => {
  root = tempRoot();
  const layout = fabricateV2(root, ["cpuset", "cpu", "io", "memory", "hugetlb", "pids"]);
  io = fakeKernel(layout);
  cg = createCgroup(layout, "/sysbox/c1", { io });
  dir = cg.paths["unified"]!;
  io.writes.length = 0;
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const writes = () => io.writes.map(([p, d]) => [posix.basename(p), d]);
const knob = (f: string) => fs.readFileSync(posix.join(dir, f), "utf8").trim();

describe("applyResources on cgroup v2", () => {
  test("a docker run --memory 64m --memory-swap 128m --pids-limit 20 --cpus 0.5 --cpu-shares 512 spec", () => {
    const r = applyResources(cg, {
      memory: { limit: 67108864, swap: 134217728, reservation: 33554432 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0-1", mems: "0" },
      pids: { limit: 20 },
    }, { io });
    expect(r.warnings).toEqual([]);
    expect(writes()).toEqual([
      ["pids.max", "20"],
      ["memory.swap.max", "67108864"], // memory+swap minus memory
      ["memory.max", "67108864"],
      ["memory.low", "33554432"],
      ["cpu.weight", "59"],
      ["cpu.max", "50000 100000"],
      ["cpuset.cpus", "0-1"],
      ["cpuset.mems", "0"],
    ]);
    expect(knob("memory.max")).toBe("67108864");
    expect(knob("cpu.max")).toBe("50000 100000");
  });

  test("memory: swap equal to the limit means no swap; -1 is max", () => {
    applyResources(cg, { memory: { limit: 1000, swap: 1000 } }, { io });
    applyResources(cg, { memory: { limit: -1 } }, { io });
    expect(writes()).toEqual([
      ["memory.swap.max", "0"],
      ["memory.max", "1000"],
      ["memory.swap.max", "max"],
      ["memory.max", "max"],
    ]);
  });

  test("memory: v1-only settings warn instead of failing", () => {
    const r = applyResources(cg, { memory: { swappiness: 0, kernel: 1 << 20, disableOOMKiller: true } }, { io });
    expect(writes()).toEqual([]);
    expect(r.warnings.map((w) => w.split(":")[0])).toEqual(["memory.kernel", "memory.swappiness", "memory.disableOOMKiller"]);
  });

  test("memory: no swap accounting", () => {
    fs.rmSync(posix.join(dir, "memory.swap.max"));
    const r = applyResources(cg, { memory: { limit: 1000, swap: 3000 } }, { io });
    expect(knob("memory.max")).toBe("1000");
    expect(r.warnings).toEqual(["memory.swap: the kernel has no swap accounting (memory.swap.max); swap limit skipped"]);
    // "swap == limit" (no swap) needs no accounting and gives no warning
    expect(applyResources(cg, { memory: { limit: 1000, swap: 1000 } }, { io }).warnings).toEqual([]);
  });

  test("memory: a swap limit without a memory limit is an error", () => {
    expect(() => applyResources(cg, { memory: { swap: 3000 } }, { io })).toThrow(/without memory limit/);
  });

  test("cpu: quota without period, period without quota, burst", () => {
    applyResources(cg, { cpu: { quota: 25000 } }, { io });
    applyResources(cg, { cpu: { period: 50000 } }, { io });
    applyResources(cg, { cpu: { quota: -1, period: 100000, burst: 1000, idle: 0 } }, { io });
    expect(writes()).toEqual([
      ["cpu.max", "25000 100000"],
      ["cpu.max", "max 50000"],
      ["cpu.idle", "0"],
      ["cpu.max.burst", "1000"],
      ["cpu.max", "max 100000"],
    ]);
  });

  test("io: io.weight converted, throttles to io.max one per write", () => {
    applyResources(cg, {
      blockIO: {
        weight: 500,
        leafWeight: 10,
        weightDevice: [{ major: 8, minor: 0, weight: 200 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2097152 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 50 }],
      },
    }, { io });
    expect(writes()).toEqual([
      ["io.weight", "4950"],
      ["io.max", "8:0 rbps=1048576"],
      ["io.max", "8:0 wbps=2097152"],
      ["io.max", "8:16 riops=100"],
      ["io.max", "8:16 wiops=50"],
    ]);
  });

  test("io: BFQ takes the weight unconverted, and per-device weights", () => {
    fs.writeFileSync(posix.join(dir, "io.bfq.weight"), "default 100\n");
    const r = applyResources(cg, { blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 200 }] } }, { io });
    expect(writes()).toEqual([["io.bfq.weight", "500"], ["io.bfq.weight", "8:0 200"]]);
    expect(r.warnings).toEqual([]);
  });

  test("devices: skipped with a warning (needs an eBPF program)", () => {
    const r = applyResources(cg, { devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3 }] }, { io });
    expect(writes()).toEqual([]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^devices: .*eBPF.*\(2 rules\)$/);
  });

  test("hugetlb: .max and .rsvd.max", () => {
    fs.writeFileSync(posix.join(dir, "hugetlb.1GB.max"), "max\n");
    applyResources(cg, { hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }, { pageSize: "1GB", limit: 0 }] }, { io });
    expect(writes()).toEqual([
      ["hugetlb.2MB.max", "4194304"],
      ["hugetlb.2MB.rsvd.max", "4194304"],
      ["hugetlb.1GB.max", "0"],
    ]);
  });

  test("unified: raw values written last, multi-line values one line per write", () => {
    applyResources(cg, {
      memory: { limit: 1000 },
      unified: { "memory.max": "2000", "io.max": "8:0 rbps=1\n8:16 wbps=2\n", "cgroup.freeze": "0" },
    }, { io });
    expect(writes()).toEqual([
      ["memory.max", "1000"],
      ["memory.max", "2000"],
      ["io.max", "8:0 rbps=1"],
      ["io.max", "8:16 wbps=2"],
      ["cgroup.freeze", "0"],
    ]);
  });

  test("unified: bad keys and unavailable controllers", () => {
    expect(() => applyResources(cg, { unified: { "../memory.max": "1" } }, { io })).toThrow(/no slashes/);
    expect(() => applyResources(cg, { unified: { nodot: "1" } }, { io })).toThrow(/CONTROLLER.PARAMETER/);
    expect(() => applyResources(cg, { unified: { "rdma.max": "x" } }, { io })).toThrow(/controller "rdma" not available/);
  });

  test("a knob of a controller not enabled here names the fix", () => {
    const layout = fabricateV2(`${root}/other`, ["memory"]);
    const io2 = fakeKernel(layout);
    const cg2 = createCgroup(layout, "/x", { io: io2 });
    expect(() => applyResources(cg2, { pids: { limit: 5 } }, { io: io2 })).toThrow(
      /pids controller is not enabled .*cgroup.controllers: memory/,
    );
  });

  test("network settings warn: no net_cls/net_prio on v2", () => {
    const r = applyResources(cg, { network: { classID: 1 } }, { io });
    expect(r.warnings).toEqual(["network: net_cls/net_prio do not exist on cgroup v2; ignored"]);
  });
});
