import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as posix from "node:path/posix";
import { createCgroup, openCgroup } from "./cgroup.ts";
import { freeze, state, thaw } from "./freezer.ts";
import { fabricateV1, fabricateV2, fakeKernel, tempRoot } from "./_fakefs.ts";

let root: string;
beforeEach(() => {
  root = tempRoot();
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe("freezer on cgroup v2", () => {
  test("freeze writes cgroup.freeze and waits for frozen 1 in cgroup.events; thaw undoes it", async () => {
    const layout = fabricateV2(root, ["pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    io.writes.length = 0;
    expect(state(cg, { io })).toEqual({ exists: true, freezer: "thawed" });
    await freeze(cg, { io });
    expect(state(cg, { io })).toEqual({ exists: true, freezer: "frozen" });
    await thaw(cg, { io });
    expect(state(cg, { io })).toEqual({ exists: true, freezer: "thawed" });
    expect(io.writes.map(([p, d]) => [posix.basename(p), d])).toEqual([["cgroup.freeze", "1"], ["cgroup.freeze", "0"]]);
  });

  test("a freeze that never settles times out and is thawed back", async () => {
    const layout = fabricateV2(root, ["pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    io.stuckFreeze = true;
    await expect(freeze(cg, { io })).rejects.toThrow(/Timed out .* to freeze/);
    expect(fs.readFileSync(posix.join(cg.paths["unified"]!, "cgroup.freeze"), "utf8")).toBe("0");
  });

  test("freezing state is reported while cgroup.events lags", () => {
    const layout = fabricateV2(root, ["pids"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    fs.writeFileSync(posix.join(cg.paths["unified"]!, "cgroup.freeze"), "1\n");
    expect(state(cg, { io }).freezer).toBe("freezing");
  });

  test("state of a missing cgroup", () => {
    const layout = fabricateV2(root, ["pids"]);
    expect(state(openCgroup(layout, "/gone"), { io: fakeKernel(layout) })).toEqual({ exists: false, freezer: "unknown" });
  });
});

describe("freezer on cgroup v1", () => {
  test("FROZEN then THAWED in freezer.state", async () => {
    const layout = fabricateV1(root, ["freezer", "memory"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    await freeze(cg, { io });
    expect(state(cg, { io }).freezer).toBe("frozen");
    await thaw(cg, { io });
    expect(state(cg, { io }).freezer).toBe("thawed");
  });

  test("FREEZING is retried, with an occasional thaw", async () => {
    const layout = fabricateV1(root, ["freezer"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    // The kernel answers FREEZING to the first 59 attempts.
    let n = 0;
    const values: string[] = [];
    const write = io.writeFile;
    io.writeFile = (p, d) => {
      values.push(d);
      write(p, d === "FROZEN" && ++n < 60 ? "FREEZING" : d);
    };
    await freeze(cg, { io });
    expect(values.filter((d) => d === "FROZEN")).toHaveLength(60);
    expect(values.filter((d) => d === "THAWED")).toHaveLength(1); // at the 50th try
    expect(state(cg, { io }).freezer).toBe("frozen");
  });

  test("without a freezer hierarchy freeze fails and thaw is a no-op", async () => {
    const layout = fabricateV1(root, ["memory"]);
    const io = fakeKernel(layout);
    const cg = createCgroup(layout, "/c", { io });
    await expect(freeze(cg, { io })).rejects.toThrow(/freezer cgroup controller is not mounted/);
    await thaw(cg, { io });
    expect(state(cg, { io })).toEqual({ exists: true, freezer: "unknown" });
  });
});
