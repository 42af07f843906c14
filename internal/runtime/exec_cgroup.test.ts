import { describe, expect, test } from "bun:test";
import type { Cgroup } from "../cgroups/mod.ts";
import { execSubCgroup } from "./exec_cgroup.ts";

const V1 = {
  layout: { mode: "hybrid" }, path: "/sysbox/c1/syscont-cgroup-root",
  paths: { pids: "/sys/fs/cgroup/pids/sysbox/c1/syscont-cgroup-root", memory: "/sys/fs/cgroup/memory/sysbox/c1/syscont-cgroup-root" },
} as unknown as Cgroup;
const V2 = { layout: { mode: "v2" }, path: "/sysbox/c1/init.scope", paths: { unified: "/sys/fs/cgroup/sysbox/c1/init.scope" } } as unknown as Cgroup;

describe("exec --cgroup", () => {
  test("none: the default cgroup", () => {
    expect(execSubCgroup(V1, [])).toBe(V1);
  });

  test("a path alone applies to every hierarchy; '/' is the default cgroup itself", () => {
    expect(execSubCgroup(V1, ["a/b"]).paths).toEqual({ pids: `${V1.paths.pids}/a/b`, memory: `${V1.paths.memory}/a/b` });
    expect(execSubCgroup(V2, ["/"]).paths).toEqual(V2.paths);
    expect(execSubCgroup(V2, ["../../x"]).paths.unified).toBe(`${V2.paths.unified}/x`);
  });

  test("controllers: only those, a later entry overriding", () => {
    expect(execSubCgroup(V1, ["x", "pids:y"]).paths).toEqual({ pids: `${V1.paths.pids}/y`, memory: `${V1.paths.memory}/x` });
  });

  test("errors name the entry", () => {
    expect(() => execSubCgroup(V1, ["cpu:x"])).toThrow('exec --cgroup "cpu:x": no cpu controller');
    expect(() => execSubCgroup(V2, ["pids:x"])).toThrow('exec --cgroup "pids:x": controllers can only be named on cgroup v1');
    expect(() => execSubCgroup(V1, ["pids:"])).toThrow('exec --cgroup "pids:": no cgroup path');
  });
});
