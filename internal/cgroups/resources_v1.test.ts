import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as posix from "node:path/posix";
import { createCgroup, type Cgroup } from "./cgroup.ts";
import { applyResources } from "./resources.ts";
import { fabricateV1, fakeKernel, tempRoot, type FakeKernel } from "./_fakefs.ts";

let root: string;
let io: FakeKernel;
let cg: Cgroup;

beforeEach(() => {
  root = tempRoot();
  const layout = fabricateV1(root, ["cpu,cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb", "name=systemd"]);
  io = fakeKernel(layout);
  cg = createCgroup(layout, "/docker/abc", { io });
  io.writes.length = 0;
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** Writes as [hierarchy/file, value], the cgroup path stripped. */
const writes = () => io.writes.map(([p, d]) => [posix.relative(root, p).replace("/docker/abc/", "/"), d]);
const knob = (p: string) => fs.readFileSync(`${root}/${p.replace("/", "/docker/abc/")}`, "utf8").trim();

describe("applyResources on cgroup v1", () => {
  test("a docker run --memory 64m --pids-limit 20 --cpus 0.5 --cpuset-cpus 0-1 spec", () => {
    const r = applyResources(cg, {
      memory: { limit: 67108864, swap: 134217728, reservation: 33554432, swappiness: 10 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0-1", mems: "0" },
      pids: { limit: 20 },
    }, { io });
    expect(r.warnings).toEqual([]);
    expect(writes()).toEqual([
      ["cpuset/cpuset.cpus", "0-1"],
      ["cpuset/cpuset.mems", "0"],
      // The current limit (unlimited) is above the new memsw value, so memory goes first.
      ["memory/memory.limit_in_bytes", "67108864"],
      ["memory/memory.memsw.limit_in_bytes", "134217728"],
      ["memory/memory.soft_limit_in_bytes", "33554432"],
      ["memory/memory.swappiness", "10"],
      ["cpu,cpuacct/cpu.shares", "512"],
      ["cpu,cpuacct/cpu.cfs_period_us", "100000"],
      ["cpu,cpuacct/cpu.cfs_quota_us", "50000"],
      ["pids/pids.max", "20"],
    ]);
    expect(knob("memory/memory.limit_in_bytes")).toBe("67108864");
    expect(knob("pids/pids.max")).toBe("20");
  });

  test("raising memory above the current memsw limit writes memsw first", () => {
    fs.writeFileSync(`${root}/memory/docker/abc/memory.limit_in_bytes`, "1000\n");
    fs.writeFileSync(`${root}/memory/docker/abc/memory.memsw.limit_in_bytes`, "2000\n");
    applyResources(cg, { memory: { limit: 3000, swap: 6000 } }, { io });
    expect(writes()).toEqual([
      ["memory/memory.memsw.limit_in_bytes", "6000"],
      ["memory/memory.limit_in_bytes", "3000"],
    ]);
  });

  test("memory -1 also lifts swap; disableOOMKiller; kernel limits only warn", () => {
    const r = applyResources(cg, { memory: { limit: -1, kernel: 1 << 20, disableOOMKiller: true } }, { io });
    expect(writes()).toEqual([
      ["memory/memory.memsw.limit_in_bytes", "-1"],
      ["memory/memory.limit_in_bytes", "-1"],
      ["memory/memory.oom_control", "1"],
    ]);
    expect(r.warnings).toEqual(["memory.kernel: kernel memory limits are deprecated and ignored"]);
  });

  test("no swap accounting: swap limit skipped with a warning", () => {
    fs.rmSync(`${root}/memory/docker/abc/memory.memsw.limit_in_bytes`);
    const r = applyResources(cg, { memory: { limit: 100, swap: 200 } }, { io });
    expect(writes()).toEqual([["memory/memory.limit_in_bytes", "100"]]);
    expect(r.warnings[0]).toMatch(/^memory.swap: .*swap accounting/);
  });

  test("a limit below current usage (EBUSY) gives a readable error", () => {
    io.failWrites.set("memory.limit_in_bytes", "EBUSY");
    fs.writeFileSync(`${root}/memory/docker/abc/memory.usage_in_bytes`, "5000\n");
    expect(() => applyResources(cg, { memory: { limit: 100 } }, { io })).toThrow(
      "Unable to set memory limit to 100 (current usage: 5000, peak usage: 0)",
    );
  });

  test("swappiness out of range is an error", () => {
    expect(() => applyResources(cg, { memory: { swappiness: 101 } }, { io })).toThrow(/valid range is 0-100/);
  });

  test("cpu: shares clamped by the kernel are reported", () => {
    const write = io.writeFile;
    io.writeFile = (p, d) => write(p, p.endsWith("cpu.shares") ? "262144" : d);
    expect(() => applyResources(cg, { cpu: { shares: 1_000_000 } }, { io })).toThrow("The maximum allowed cpu-shares is 262144");
  });

  test("cpu: a period refused with EINVAL is retried after the quota; realtime warns", () => {
    let first = true;
    const write = io.writeFile;
    io.writeFile = (p, d) => {
      if (p.endsWith("cfs_period_us") && first) {
        first = false;
        io.failWrites.set("cpu.cfs_period_us", "EINVAL");
        try {
          write(p, d);
        } finally {
          io.failWrites.delete("cpu.cfs_period_us");
        }
      }
      write(p, d);
    };
    const r = applyResources(cg, { cpu: { period: 10000, quota: 5000, realtimeRuntime: 100 } }, { io });
    expect(writes()).toEqual([
      ["cpu,cpuacct/cpu.cfs_period_us", "10000"],
      ["cpu,cpuacct/cpu.cfs_quota_us", "5000"],
      ["cpu,cpuacct/cpu.cfs_period_us", "10000"],
    ]);
    expect(r.warnings).toEqual(["cpu.realtimeRuntime: realtime scheduler limits are not supported; skipped"]);
  });

  test("devices: one line per rule, in order, to allow or deny", () => {
    applyResources(cg, {
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 136, access: "rwm" },
        { allow: true, type: "b", major: 8, minor: -1, access: "r" },
        { allow: false, type: "c", major: 5, minor: 1, access: "w" },
      ],
    }, { io });
    expect(writes()).toEqual([
      ["devices/devices.deny", "a *:* rwm"],
      ["devices/devices.allow", "c 1:3 rwm"],
      ["devices/devices.allow", "c 136:* rwm"],
      ["devices/devices.allow", "b 8:* r"],
      ["devices/devices.deny", "c 5:1 w"],
    ]);
  });

  test("devices without a devices hierarchy is fatal", () => {
    const layout = fabricateV1(`${root}/other`, ["memory"]);
    const io2 = fakeKernel(layout);
    const cg2 = createCgroup(layout, "/x", { io: io2 });
    expect(() => applyResources(cg2, { devices: [{ allow: false }] }, { io: io2 })).toThrow(/devices cgroup controller/);
  });

  test("blkio: weight, per-device weight and throttles", () => {
    applyResources(cg, {
      blockIO: {
        weight: 300,
        weightDevice: [{ major: 8, minor: 0, weight: 400, leafWeight: 200 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
      },
    }, { io });
    expect(writes()).toEqual([
      ["blkio/blkio.weight", "300"],
      ["blkio/blkio.weight_device", "8:0 400"],
      ["blkio/blkio.leaf_weight_device", "8:0 200"],
      ["blkio/blkio.throttle.read_bps_device", "8:0 1048576"],
      ["blkio/blkio.throttle.write_iops_device", "8:16 100"],
    ]);
  });

  test("blkio: BFQ file names when CFQ's are absent, warning when neither exists", () => {
    fs.rmSync(`${root}/blkio/docker/abc/blkio.weight`);
    fs.writeFileSync(`${root}/blkio/docker/abc/blkio.bfq.weight`, "100\n");
    applyResources(cg, { blockIO: { weight: 300 } }, { io });
    expect(writes()).toEqual([["blkio/blkio.bfq.weight", "300"]]);
    fs.rmSync(`${root}/blkio/docker/abc/blkio.bfq.weight`);
    const r = applyResources(cg, { blockIO: { weight: 300 } }, { io });
    expect(r.warnings[0]).toMatch(/^blockIO.weight: /);
  });

  test("hugetlb with and without reservation files", () => {
    applyResources(cg, { hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }] }, { io });
    expect(writes()).toEqual([
      ["hugetlb/hugetlb.2MB.limit_in_bytes", "4194304"],
      ["hugetlb/hugetlb.2MB.rsvd.limit_in_bytes", "4194304"], // ENOENT here: skipped from now on
    ]);
  });

  test("pids: -1 is max, 0 is unset", () => {
    applyResources(cg, { pids: { limit: -1 } }, { io });
    applyResources(cg, { pids: { limit: 0 } }, { io });
    expect(writes()).toEqual([["pids/pids.max", "max"]]);
  });

  test("unified is refused on v1", () => {
    expect(() => applyResources(cg, { unified: { "memory.high": "1G" } }, { io })).toThrow(/needs cgroup v2/);
  });

  test("missing controllers warn (net_cls, rdma)", () => {
    const r = applyResources(cg, { network: { classID: 0x100001 }, rdma: { mlx5_1: { hcaHandles: 3 } } }, { io });
    expect(r.warnings).toEqual([
      "network.classID: the net_cls cgroup controller is not mounted; skipped",
      "rdma: rdma limits are not supported yet; skipped",
    ]);
  });
});
