/**
 * Test support: fabricated cgroup trees in a temp dir and a `CgroupIo` that
 * plays the kernel's part for the files whose writes have side effects
 * (cgroup.subtree_control, cgroup.freeze, cgroup.procs, new directories).
 * Every write is recorded in order so tests can assert sequences.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as posix from "node:path/posix";
import { SysError, ERRNO, errnoNumber } from "../sys/errno.ts";
import { realIo, type CgroupIo } from "./_io.ts";
import type { CgroupLayout, V1Mount } from "./layout.ts";

/** Knobs a new cgroup2 directory gets per enabled controller (values as a fresh kernel shows them). */
export const V2_KNOBS: Record<string, Record<string, string>> = {
  cpu: {
    "cpu.weight": "100\n", "cpu.max": "max 100000\n", "cpu.max.burst": "0\n", "cpu.idle": "0\n",
    "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
  },
  cpuset: { "cpuset.cpus": "\n", "cpuset.mems": "\n", "cpuset.cpus.effective": "0-3\n" },
  io: { "io.weight": "default 100\n", "io.max": "", "io.stat": "" },
  memory: {
    "memory.max": "max\n", "memory.low": "0\n", "memory.high": "max\n", "memory.swap.max": "max\n",
    "memory.current": "0\n", "memory.swap.current": "0\n", "memory.peak": "0\n",
    "memory.stat": "anon 0\nfile 0\n", "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
  },
  pids: { "pids.max": "max\n", "pids.current": "0\n" },
  hugetlb: { "hugetlb.2MB.max": "max\n", "hugetlb.2MB.rsvd.max": "max\n", "hugetlb.2MB.current": "0\n" },
};

const V2_CORE: Record<string, string> = {
  "cgroup.subtree_control": "\n", "cgroup.procs": "", "cgroup.threads": "", "cgroup.type": "domain\n",
  "cgroup.events": "populated 0\nfrozen 0\n", "cgroup.freeze": "0\n", "cgroup.kill": "",
};

/** Knobs of a v1 controller directory (non-root). */
export const V1_KNOBS: Record<string, Record<string, string>> = {
  cpu: {
    "cpu.shares": "1024\n", "cpu.cfs_period_us": "100000\n", "cpu.cfs_quota_us": "-1\n", "cpu.cfs_burst_us": "0\n",
    "cpu.rt_period_us": "1000000\n", "cpu.rt_runtime_us": "0\n", "cpu.idle": "0\n",
    "cpu.stat": "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
  },
  cpuacct: {
    "cpuacct.usage": "0\n", "cpuacct.usage_percpu": "0 0 \n", "cpuacct.stat": "user 0\nsystem 0\n",
    "cpuacct.usage_all": "cpu user system\n0 0 0\n1 0 0\n",
  },
  cpuset: { "cpuset.cpus": "\n", "cpuset.mems": "\n" },
  memory: {
    "memory.limit_in_bytes": "9223372036854771712\n", "memory.soft_limit_in_bytes": "9223372036854771712\n",
    "memory.memsw.limit_in_bytes": "9223372036854771712\n", "memory.usage_in_bytes": "0\n",
    "memory.max_usage_in_bytes": "0\n", "memory.failcnt": "0\n", "memory.memsw.usage_in_bytes": "0\n",
    "memory.memsw.max_usage_in_bytes": "0\n", "memory.memsw.failcnt": "0\n", "memory.swappiness": "60\n",
    "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "memory.stat": "cache 0\nrss 0\n",
  },
  devices: { "devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm\n" },
  freezer: { "freezer.state": "THAWED\n", "freezer.self_freezing": "0\n", "freezer.parent_freezing": "0\n" },
  blkio: {
    "blkio.weight": "500\n", "blkio.weight_device": "", "blkio.leaf_weight": "500\n", "blkio.leaf_weight_device": "",
    "blkio.throttle.read_bps_device": "", "blkio.throttle.write_bps_device": "",
    "blkio.throttle.read_iops_device": "", "blkio.throttle.write_iops_device": "",
    "blkio.throttle.io_service_bytes_recursive": "Total 0\n", "blkio.throttle.io_serviced_recursive": "Total 0\n",
  },
  pids: { "pids.max": "max\n", "pids.current": "0\n" },
  hugetlb: { "hugetlb.2MB.limit_in_bytes": "9223372036854771712\n", "hugetlb.2MB.usage_in_bytes": "0\n" },
  "name=systemd": {},
};

const V1_CORE: Record<string, string> = { "cgroup.procs": "", tasks: "", "notify_on_release": "0\n", "cgroup.clone_children": "0\n" };

export function tempRoot(): string {
  return fs.mkdtempSync(posix.join(os.tmpdir(), "cgtest-"));
}

function writeAll(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(posix.join(dir, name), content);
}

/** A pure-v2 root offering `controllers`, like /sys/fs/cgroup on Ubuntu 22.04. */
export function fabricateV2(root: string, controllers = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"]): CgroupLayout {
  fs.mkdirSync(root, { recursive: true });
  writeAll(root, { "cgroup.controllers": controllers.join(" ") + "\n", "cgroup.subtree_control": "\n", "cgroup.procs": "1\n" });
  return { mode: "v2", root, v1: {}, v2: { mountPoint: root, root: "/" } };
}

/**
 * v1 hierarchies under root; each entry is one mount (`"cpu,cpuacct"` co-mounts).
 * With `unified`, a cgroup2 mount at <root>/unified makes it hybrid.
 */
export function fabricateV1(root: string, hierarchies: string[], unified?: string[]): CgroupLayout {
  const v1: Record<string, V1Mount> = {};
  for (const h of hierarchies) {
    const controllers = h.split(",");
    const mountPoint = posix.join(root, h.startsWith("name=") ? h.slice(5) : h);
    fs.mkdirSync(mountPoint, { recursive: true });
    writeAll(mountPoint, { "cgroup.procs": "1\n" });
    if (controllers.includes("cpuset")) writeAll(mountPoint, { "cpuset.cpus": "0-3\n", "cpuset.mems": "0\n" });
    const m: V1Mount = { mountPoint, root: "/", controllers };
    for (const c of controllers) v1[c] = m;
  }
  const layout: CgroupLayout = { mode: unified ? "hybrid" : "v1", root, v1 };
  if (unified) {
    fabricateV2(posix.join(root, "unified"), unified);
    layout.v2 = { mountPoint: posix.join(root, "unified"), root: "/" };
  }
  return layout;
}

export interface FakeKernel extends CgroupIo {
  writes: [string, string][];
  kills: [number, number | string][];
  chowns: [string, number, number][];
  /** Make writes to files with this basename fail with the given errno name. */
  failWrites: Map<string, string>;
  /** Don't report `frozen 1` after cgroup.freeze=1 (simulates a cgroup that won't settle). */
  stuckFreeze: boolean;
  /** rmdir of this path answers EBUSY this many more times (processes still exiting). */
  busyRmdir: Map<string, number>;
  rmdirs: string[];
}

/** A kernel stand-in over the temp tree of `layout`. */
export function fakeKernel(layout: CgroupLayout): FakeKernel {
  const v2Root = layout.v2?.mountPoint;
  const k: FakeKernel = {
    ...realIo,
    writes: [],
    kills: [],
    chowns: [],
    failWrites: new Map(),
    stuckFreeze: false,
    busyRmdir: new Map(),
    rmdirs: [],
    sleep: async () => {},
    rmdir(path) {
      k.rmdirs.push(path);
      if (!fs.existsSync(path)) throw new SysError({ syscall: "rmdir", errno: ERRNO.ENOENT, path });
      const busy = k.busyRmdir.get(path) ?? 0;
      const hasChildren = fs.readdirSync(path, { withFileTypes: true }).some((e) => e.isDirectory());
      const procs = fs.existsSync(posix.join(path, "cgroup.procs")) ? fs.readFileSync(posix.join(path, "cgroup.procs"), "utf8").trim() : "";
      if (busy > 0 || hasChildren || procs !== "") {
        if (busy > 0) k.busyRmdir.set(path, busy - 1);
        throw new SysError({ syscall: "rmdir", errno: ERRNO.EBUSY, path });
      }
      // A cgroup directory holding only its knobs is removable, as on cgroupfs.
      fs.rmSync(path, { recursive: true });
    },
    kill(pid, signal) {
      k.kills.push([pid, signal]);
    },
    chown(path, uid, gid) {
      if (!fs.existsSync(path)) throw new SysError({ syscall: "chown", errno: ERRNO.ENOENT, path });
      k.chowns.push([path, uid, gid]);
    },
    mkdir(path) {
      const made = realIo.mkdir(path);
      if (!made) return false;
      const parent = posix.dirname(path);
      if (v2Root !== undefined && (path + "/").startsWith(v2Root + "/")) {
        const enabled = fs.readFileSync(posix.join(parent, "cgroup.subtree_control"), "utf8").trim().split(/\s+/).filter(Boolean);
        writeAll(path, { ...V2_CORE, "cgroup.controllers": enabled.join(" ") + "\n" });
        for (const c of enabled) writeAll(path, V2_KNOBS[c] ?? {});
        return true;
      }
      for (const m of new Set(Object.values(layout.v1))) {
        if (!(path + "/").startsWith(m.mountPoint + "/")) continue;
        writeAll(path, V1_CORE);
        for (const c of m.controllers) writeAll(path, V1_KNOBS[c] ?? {});
      }
      return true;
    },
    writeFile(path, data) {
      k.writes.push([path, data]);
      const base = posix.basename(path);
      const fail = k.failWrites.get(base);
      if (fail !== undefined) throw new SysError({ syscall: "write", errno: errnoNumber(fail) ?? ERRNO.EIO, path });
      const dir = posix.dirname(path);
      if (base === "cgroup.subtree_control") {
        const avail = fs.readFileSync(posix.join(dir, "cgroup.controllers"), "utf8").trim().split(/\s+/);
        const cur = new Set(fs.readFileSync(path, "utf8").trim().split(/\s+/).filter(Boolean));
        for (const tok of data.trim().split(/\s+/)) {
          const name = tok.slice(1);
          if (!avail.includes(name)) throw new SysError({ syscall: "write", errno: ERRNO.ENOENT, path });
          if (tok.startsWith("+")) cur.add(name);
          else cur.delete(name);
        }
        fs.writeFileSync(path, avail.filter((c) => cur.has(c)).join(" ") + "\n");
        return;
      }
      if (base === "cgroup.procs") {
        if (!fs.existsSync(path)) throw new SysError({ syscall: "open", errno: ERRNO.ENOENT, path });
        fs.appendFileSync(path, `${data}\n`);
        return;
      }
      realIo.writeFile(path, data);
      if (base === "cgroup.freeze" && !k.stuckFreeze) {
        fs.writeFileSync(posix.join(dir, "cgroup.events"), `populated 1\nfrozen ${data.trim()}\n`);
      }
    },
  };
  return k;
}
