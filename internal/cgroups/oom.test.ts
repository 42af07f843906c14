import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as posix from "node:path/posix";
import { createCgroup } from "./cgroup.ts";
import { oomEvents, oomKillCount, parseOomKill } from "./oom.ts";
import { fabricateV1, fabricateV2, fakeKernel, tempRoot } from "./_fakefs.ts";

let root: string;
beforeEach(() => {
  root = tempRoot();
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe("parseOomKill", () => {
  test("v2 memory.events and v1 memory.oom_control", () => {
    expect(parseOomKill("low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\noom_group_kill 0\n")).toBe(2);
    expect(parseOomKill("oom_kill_disable 0\nunder_oom 0\noom_kill 5\n")).toBe(5);
  });

  test("a kernel that does not count kills (v1 before 4.13)", () => {
    expect(parseOomKill("oom_kill_disable 0\nunder_oom 1\n")).toBeUndefined();
  });
});

describe("oomKillCount", () => {
  test("cgroup v2: memory.events of the container's cgroup (hierarchical already)", () => {
    const layout = fabricateV2(root, ["memory", "pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/sysbox/c1", { io });
    fs.writeFileSync(posix.join(cg.paths["unified"]!, "memory.events"), "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\noom_group_kill 0\n");
    expect(oomKillCount(cg, { io })).toBe(1);
  });

  test("cgroup v2 without the memory controller: undefined", () => {
    const layout = fabricateV2(root, ["pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/sysbox/c2", { io });
    fs.rmSync(posix.join(cg.paths["unified"]!, "memory.events"), { force: true });
    expect(oomKillCount(cg, { io })).toBeUndefined();
  });

  test("cgroup v1: memory.oom_control summed over the sub-cgroups a system container made", () => {
    const layout = fabricateV1(root, ["memory", "pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/docker/abc", { io });
    const dir = cg.paths["memory"]!;
    fs.writeFileSync(posix.join(dir, "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
    fs.mkdirSync(posix.join(dir, "init.scope"));
    fs.writeFileSync(posix.join(dir, "init.scope", "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    expect(oomKillCount(cg, { io })).toBe(3);
  });
});

describe("oomEvents", () => {
  test("one runc oom event per new kill; none for no change, a reset or no counter", () => {
    expect(oomEvents("c", 1, 3)).toEqual([{ type: "oom", id: "c" }, { type: "oom", id: "c" }]);
    expect(oomEvents("c", 3, 3)).toEqual([]);
    expect(oomEvents("c", 3, 0)).toEqual([]);
    expect(oomEvents("c", undefined, 1)).toEqual([]);
  });
});
