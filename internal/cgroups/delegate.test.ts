import { afterEach, beforeEach, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as posix from "node:path/posix";
import { createCgroup } from "./cgroup.ts";
import { delegateV1, delegateV2 } from "./delegate.ts";
import { fabricateV1, fabricateV2, fakeKernel, tempRoot } from "./_fakefs.ts";

let root: string;
beforeEach(() => {
  root = tempRoot();
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

test("delegateV2 chowns the directory and the cgroups(7) delegation files only", () => {
  const layout = fabricateV2(root, ["memory", "pids"]);
  const io = fakeKernel(layout);
  const cg = createCgroup(layout, "/sysbox/c1", { io });
  const dir = cg.paths["unified"]!;
  const done = delegateV2(cg, { uid: 165536, gid: 165536 }, { io });
  expect(done.map((p) => posix.relative(dir, p) || ".")).toEqual([".", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"]);
  expect(io.chowns.every(([, u, g]) => u === 165536 && g === 165536)).toBe(true);
  expect(io.chowns.map(([p]) => p)).not.toContain(posix.join(dir, "memory.max")); // limits stay the parent's
});

test("delegateV2 skips files the kernel does not have", () => {
  const layout = fabricateV2(root, ["pids"]);
  const io = fakeKernel(layout);
  const cg = createCgroup(layout, "/c", { io });
  fs.rmSync(posix.join(cg.paths["unified"]!, "cgroup.threads"));
  expect(delegateV2(cg, { uid: 1000, gid: 1000 }, { io })).toHaveLength(3);
  expect(() => delegateV2(cg, { uid: -1, gid: 0 }, { io })).toThrow(RangeError);
});

test("delegateV1 chowns every controller directory and the files in it, not sub-cgroups", () => {
  const layout = fabricateV1(root, ["cpu,cpuacct", "memory"]);
  const io = fakeKernel(layout);
  const cg = createCgroup(layout, "/c", { io });
  createCgroup(layout, "/c/child", { io });
  const done = delegateV1(cg, { uid: 100000, gid: 100000 }, { io });
  expect(done).toContain(`${root}/cpu,cpuacct/c`);
  expect(done).toContain(`${root}/cpu,cpuacct/c/cpu.shares`);
  expect(done).toContain(`${root}/memory/c/cgroup.procs`);
  expect(done).toContain(`${root}/memory/c/memory.limit_in_bytes`);
  expect(done).not.toContain(`${root}/memory/c/child`);
  expect(done.filter((p) => p === `${root}/cpu,cpuacct/c`)).toHaveLength(1); // co-mounted: once
});

test("delegateV1 leaves the hybrid cgroup2 directory to delegateV2", () => {
  const layout = fabricateV1(root, ["memory"], ["hugetlb"]);
  const io = fakeKernel(layout);
  const cg = createCgroup(layout, "/c", { io });
  expect(delegateV1(cg, { uid: 1, gid: 1 }, { io }).some((p) => p.startsWith(`${root}/unified`))).toBe(false);
  expect(delegateV2(cg, { uid: 1, gid: 1 }, { io })[0]).toBe(`${root}/unified/c`);
});
