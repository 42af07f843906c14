import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as posix from "node:path/posix";
import {
  addProcess, cgroupDirs, cgroupExists, controllerDir, createCgroup, destroyCgroup, listPids, openCgroup,
} from "./cgroup.ts";
import { fabricateV1, fabricateV2, fakeKernel, tempRoot } from "./_fakefs.ts";

let root: string;
beforeEach(() => {
  root = tempRoot();
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const read = (p: string) => fs.readFileSync(p, "utf8").trim();

describe("createCgroup on cgroup v2", () => {
  test("mkdir -p and controllers enabled in every ancestor, not in the leaf", () => {
    const layout = fabricateV2(root, ["cpuset", "cpu", "io", "memory", "pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/docker/abc", { io });
    expect(cg.paths).toEqual({ unified: `${root}/docker/abc` });
    expect(read(`${root}/cgroup.subtree_control`)).toBe("cpuset cpu io memory pids");
    expect(read(`${root}/docker/cgroup.subtree_control`)).toBe("cpuset cpu io memory pids");
    expect(read(`${root}/docker/abc/cgroup.subtree_control`)).toBe("");
    expect(read(`${root}/docker/abc/cgroup.controllers`)).toBe("cpuset cpu io memory pids");
    expect(fs.existsSync(`${root}/docker/abc/memory.max`)).toBe(true);
    expect(io.writes.map(([p, d]) => [posix.relative(root, p), d])).toEqual([
      ["cgroup.subtree_control", "+cpuset +cpu +io +memory +pids"],
      ["docker/cgroup.subtree_control", "+cpuset +cpu +io +memory +pids"],
    ]);
  });

  test("only the wanted controllers, and nothing rewritten when already enabled", () => {
    const layout = fabricateV2(root, ["cpu", "memory", "pids"]);
    fs.writeFileSync(`${root}/cgroup.subtree_control`, "memory\n");
    const io = fakeKernel(layout);
    createCgroup(layout, "/a", { io, controllers: ["memory", "pids", "hugetlb"] });
    expect(io.writes).toEqual([[`${root}/cgroup.subtree_control`, "+pids"]]);
    expect(read(`${root}/a/cgroup.controllers`)).toBe("memory pids");
  });

  test("when enabling the set fails, each controller is tried alone", () => {
    const layout = fabricateV2(root, ["cpu", "memory"]);
    const io = fakeKernel(layout);
    // The root offers "bogus" in cgroup.controllers but the kernel refuses it.
    fs.writeFileSync(`${root}/cgroup.controllers`, "cpu bogus memory\n");
    const write = io.writeFile;
    io.writeFile = (p, d) => {
      if (d.includes("bogus")) {
        io.writes.push([p, d]);
        throw Object.assign(new Error("EINVAL"), {});
      }
      write(p, d);
    };
    createCgroup(layout, "/x", { io });
    expect(io.writes.map(([, d]) => d)).toEqual(["+cpu +bogus +memory", "+cpu", "+bogus", "+memory"]);
    expect(read(`${root}/x/cgroup.controllers`)).toBe("cpu memory");
  });

  test("existing directories are fine (idempotent)", () => {
    const layout = fabricateV2(root, ["memory"]);
    const io = fakeKernel(layout);
    createCgroup(layout, "/a/b", { io });
    expect(() => createCgroup(layout, "/a/b", { io })).not.toThrow();
  });

  test("the root cgroup is refused", () => {
    const layout = fabricateV2(root);
    expect(() => createCgroup(layout, "/", { io: fakeKernel(layout) })).toThrow(RangeError);
  });
});

describe("createCgroup on cgroup v1", () => {
  test("one directory per hierarchy; co-mounted controllers share it", () => {
    const layout = fabricateV1(root, ["cpu,cpuacct", "memory", "cpuset", "name=systemd"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/docker/abc", { io });
    expect(cg.paths).toEqual({
      cpu: `${root}/cpu,cpuacct/docker/abc`,
      cpuacct: `${root}/cpu,cpuacct/docker/abc`,
      memory: `${root}/memory/docker/abc`,
      cpuset: `${root}/cpuset/docker/abc`,
      "name=systemd": `${root}/systemd/docker/abc`,
    });
    expect(cgroupDirs(cg)).toHaveLength(4);
    for (const d of cgroupDirs(cg)) expect(fs.statSync(d).isDirectory()).toBe(true);
  });

  test("cpuset: empty cpus/mems copied from the parent at every level, as runc", () => {
    const layout = fabricateV1(root, ["cpuset"]);
    const io = fakeKernel(layout);
    createCgroup(layout, "/docker/abc", { io });
    expect(read(`${root}/cpuset/docker/cpuset.cpus`)).toBe("0-3");
    expect(read(`${root}/cpuset/docker/abc/cpuset.cpus`)).toBe("0-3");
    expect(read(`${root}/cpuset/docker/abc/cpuset.mems`)).toBe("0");
    expect(io.writes.map(([p, d]) => [posix.relative(root, p), d])).toEqual([
      ["cpuset/docker/cpuset.cpus", "0-3"],
      ["cpuset/docker/cpuset.mems", "0"],
      ["cpuset/docker/abc/cpuset.cpus", "0-3"],
      ["cpuset/docker/abc/cpuset.mems", "0"],
    ]);
  });

  test("cpuset: an ancestor with its own (narrower) cpus keeps it and passes it down", () => {
    const layout = fabricateV1(root, ["cpuset"]);
    fs.mkdirSync(`${root}/cpuset/docker`);
    fs.writeFileSync(`${root}/cpuset/docker/cpuset.cpus`, "1\n");
    fs.writeFileSync(`${root}/cpuset/docker/cpuset.mems`, "0\n");
    const io = fakeKernel(layout);
    createCgroup(layout, "/docker/abc", { io });
    expect(read(`${root}/cpuset/docker/cpuset.cpus`)).toBe("1");
    expect(read(`${root}/cpuset/docker/abc/cpuset.cpus`)).toBe("1");
  });

  test("a failure removes the directories made so far", () => {
    const layout = fabricateV1(root, ["memory", "cpuset"]);
    const io = fakeKernel(layout);
    io.failWrites.set("cpuset.mems", "EACCES");
    expect(() => createCgroup(layout, "/docker/abc", { io })).toThrow(/EACCES/);
    expect(fs.existsSync(`${root}/memory/docker`)).toBe(false);
    expect(fs.existsSync(`${root}/cpuset/docker`)).toBe(false);
  });

  test("hybrid: the cgroup2 directory is created too, and hugetlb found there", () => {
    const layout = fabricateV1(root, ["memory", "pids"], ["hugetlb"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/sysbox/c1", { io });
    expect(cg.paths["unified"]).toBe(`${root}/unified/sysbox/c1`);
    expect(fs.existsSync(`${root}/unified/sysbox/c1/hugetlb.2MB.max`)).toBe(true);
    expect(controllerDir(cg, "hugetlb", { io })).toBe(`${root}/unified/sysbox/c1`);
    expect(controllerDir(cg, "memory", { io })).toBe(`${root}/memory/sysbox/c1`);
    expect(controllerDir(cg, "blkio", { io })).toBeUndefined();
  });
});

describe("processes", () => {
  test("addProcess writes the pid to every hierarchy once", () => {
    const layout = fabricateV1(root, ["cpu,cpuacct", "memory"], ["hugetlb"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    io.writes.length = 0;
    addProcess(cg, 4242, { io });
    expect(io.writes).toEqual([
      [`${root}/cpu,cpuacct/c/cgroup.procs`, "4242"],
      [`${root}/memory/c/cgroup.procs`, "4242"],
      [`${root}/unified/c/cgroup.procs`, "4242"],
    ]);
    expect(() => addProcess(cg, 0, { io })).toThrow(RangeError);
  });

  test("listPids walks sub-cgroups (v2)", () => {
    const layout = fabricateV2(root, ["pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    const inner = createCgroup(layout, "/c/init.scope", { io });
    const deeper = createCgroup(layout, "/c/docker/x", { io });
    addProcess(inner, 10, { io });
    addProcess(inner, 11, { io });
    addProcess(deeper, 12, { io });
    expect(listPids(cg, { io }).sort()).toEqual([10, 11, 12]);
  });

  test("listPids uses the freezer hierarchy on v1 and is empty for a missing cgroup", () => {
    const layout = fabricateV1(root, ["memory", "freezer"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    fs.writeFileSync(`${root}/freezer/c/cgroup.procs`, "7\n8\n");
    fs.writeFileSync(`${root}/memory/c/cgroup.procs`, "99\n");
    expect(listPids(cg, { io })).toEqual([7, 8]);
    expect(listPids(openCgroup(layout, "/gone"), { io })).toEqual([]);
    expect(cgroupExists(cg, { io })).toBe(true);
    expect(cgroupExists(openCgroup(layout, "/gone"), { io })).toBe(false);
  });
});

describe("destroyCgroup", () => {
  test("removes sub-cgroups leaves first in every hierarchy", async () => {
    const layout = fabricateV1(root, ["memory", "pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    createCgroup(layout, "/c/a/b", { io });
    await destroyCgroup(cg, { io });
    expect(fs.existsSync(`${root}/memory/c`)).toBe(false);
    expect(fs.existsSync(`${root}/pids/c`)).toBe(false);
    expect(fs.existsSync(`${root}/memory`)).toBe(true);
    const mem = io.rmdirs.filter((p) => p.startsWith(`${root}/memory`)).map((p) => posix.relative(root, p));
    // fast path fails (children), then a/b, a, and c again
    expect(mem.slice(-3)).toEqual(["memory/c/a/b", "memory/c/a", "memory/c"]);
  });

  test("retries EBUSY briefly, then succeeds", async () => {
    const layout = fabricateV2(root, ["pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    io.busyRmdir.set(`${root}/c`, 3);
    await destroyCgroup(cg, { io });
    expect(fs.existsSync(`${root}/c`)).toBe(false);
  });

  test("gives up on a cgroup that stays busy", async () => {
    const layout = fabricateV2(root, ["pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    io.busyRmdir.set(`${root}/c`, 100);
    await expect(destroyCgroup(cg, { io })).rejects.toMatchObject({ code: "EBUSY" });
  });

  test("a cgroup that is already gone is fine", async () => {
    const layout = fabricateV2(root, ["pids"]);
    await expect(destroyCgroup(openCgroup(layout, "/never"), { io: fakeKernel(layout) })).resolves.toBeUndefined();
    expect(fs.existsSync(`${root}/never`)).toBe(false);
  });
});
