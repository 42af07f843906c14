import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as posix from "node:path/posix";
import { SysError } from "../sys/errno.ts";
import { addProcess, createCgroup } from "./cgroup.ts";
import { state } from "./freezer.ts";
import { killAll } from "./kill.ts";
import { fabricateV1, fabricateV2, fakeKernel, tempRoot } from "./_fakefs.ts";

let root: string;
beforeEach(() => {
  root = tempRoot();
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe("killAll", () => {
  test("v2 + SIGKILL uses cgroup.kill", async () => {
    const layout = fabricateV2(root, ["pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    addProcess(cg, 100, { io });
    io.writes.length = 0;
    expect(await killAll(cg, "SIGKILL", { io })).toEqual({ pids: [], method: "cgroup.kill" });
    expect(io.writes.map(([p, d]) => [posix.basename(p), d])).toEqual([["cgroup.kill", "1"]]);
    expect(io.kills).toEqual([]);
  });

  test("v2 without cgroup.kill, or another signal: freeze, signal each pid, thaw", async () => {
    const layout = fabricateV2(root, ["pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    const sub = createCgroup(layout, "/c/sub", { io });
    addProcess(cg, 100, { io });
    addProcess(sub, 101, { io });
    io.writes.length = 0;
    expect(await killAll(cg, 15, { io })).toEqual({ pids: [100, 101], method: "frozen-walk" });
    expect(io.kills).toEqual([[100, 15], [101, 15]]);
    expect(io.writes.map(([p, d]) => [posix.basename(p), d])).toEqual([["cgroup.freeze", "1"], ["cgroup.freeze", "0"]]);
    fs.rmSync(posix.join(cg.paths["unified"]!, "cgroup.kill"));
    expect((await killAll(cg, 9, { io })).method).toBe("frozen-walk");
  });

  test("v1: frozen walk; vanished pids (ESRCH) are fine; no freezer still signals", async () => {
    const layout = fabricateV1(root, ["freezer", "pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    addProcess(cg, 200, { io });
    addProcess(cg, 201, { io });
    io.kill = (pid, sig) => {
      io.kills.push([pid, sig]);
      if (pid === 200) throw new SysError({ syscall: "kill", errno: 3 }); // ESRCH: exited meanwhile
    };
    expect(await killAll(cg, "SIGKILL", { io })).toEqual({ pids: [200, 201], method: "frozen-walk" });
    expect(state(cg, { io }).freezer).toBe("thawed");

    const layout2 = fabricateV1(`${root}/b`, ["pids"]);
    const io2 = fakeKernel(layout2);
    const cg2 = createCgroup(layout2, "/c", { io: io2 });
    addProcess(cg2, 300, { io: io2 });
    expect(await killAll(cg2, "SIGTERM", { io: io2 })).toEqual({ pids: [300], method: "walk" });
  });
});
