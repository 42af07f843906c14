import { describe, expect, test } from "bun:test";
import type { CgroupLayout } from "./layout.ts";
import {
  cgroupfsPath, cleanPath, expandSlice, parseCgroupsPath, resolvePaths, systemdCgroupPath, systemdUnitName,
} from "./path.ts";

describe("cleanPath", () => {
  test.each([
    ["", ""],
    ["/docker/abc", "/docker/abc"],
    ["/docker//abc/", "/docker/abc"],
    ["/../../etc", "/etc"],
    ["../../x/y", "x/y"],
    ["a/./b/../c", "a/c"],
    ["..", ""],
    ["/", "/"],
  ])("%p → %p", (input, want) => {
    expect(cleanPath(input)).toBe(want);
  });
});

describe("parseCgroupsPath", () => {
  test("Docker's absolute path", () => {
    expect(parseCgroupsPath("/docker/4f1a", "4f1a")).toEqual({ driver: "cgroupfs", path: "/docker/4f1a" });
  });

  test("empty or absent defaults to /sysbox/<id>", () => {
    expect(parseCgroupsPath("", "c1")).toEqual({ driver: "cgroupfs", path: "/sysbox/c1" });
    expect(parseCgroupsPath(undefined, "c1")).toEqual({ driver: "cgroupfs", path: "/sysbox/c1" });
  });

  test("relative path stays relative, cleaned", () => {
    expect(parseCgroupsPath("../../mine/c1", "c1")).toEqual({ driver: "cgroupfs", path: "mine/c1" });
  });

  test("the root cgroup is refused", () => {
    expect(() => parseCgroupsPath("/", "c1")).toThrow(/root cgroup/);
    expect(() => parseCgroupsPath("..", "c1")).toThrow(/root cgroup/);
  });

  test("systemd form with --systemd-cgroup", () => {
    const spec = parseCgroupsPath("system.slice:docker:4f1a", "4f1a", { systemd: true });
    expect(spec).toEqual({ driver: "systemd", slice: "system.slice", prefix: "docker", name: "4f1a" });
    expect(parseCgroupsPath("", "c1", { systemd: true })).toEqual({ driver: "systemd", slice: "system.slice", prefix: "sysbox", name: "c1" });
    expect(parseCgroupsPath(":docker:c1", "c1", { systemd: true })).toMatchObject({ slice: "system.slice" });
    expect(() => parseCgroupsPath("/docker/x", "x", { systemd: true })).toThrow(/slice:prefix:name/);
  });

  test("systemd form without --systemd-cgroup is an error, not a directory name", () => {
    expect(() => parseCgroupsPath("system.slice:docker:4f1a", "4f1a")).toThrow(/--systemd-cgroup/);
  });

  test("cgroupfsPath refuses the systemd driver clearly", () => {
    expect(cgroupfsPath({ driver: "cgroupfs", path: "/docker/x" })).toBe("/docker/x");
    const spec = parseCgroupsPath("system.slice:docker:4f1a", "4f1a", { systemd: true });
    expect(() => cgroupfsPath(spec)).toThrow(/^systemd cgroup driver requested \(--systemd-cgroup\) but /);
  });
});

describe("systemd names", () => {
  test.each([
    ["-.slice", "/"],
    ["system.slice", "/system.slice"],
    ["a-b-c.slice", "/a.slice/a-b.slice/a-b-c.slice"],
  ])("expandSlice(%p) = %p", (slice, want) => {
    expect(expandSlice(slice)).toBe(want);
  });

  test.each(["foo", "a--b.slice", "a/b.slice", ".slice", "-a.slice"])("expandSlice(%p) throws", (slice) => {
    expect(() => expandSlice(slice)).toThrow(/Invalid systemd slice/);
  });

  test("unit name and path", () => {
    const spec = { driver: "systemd" as const, slice: "system.slice", prefix: "docker", name: "4f1a" };
    expect(systemdUnitName(spec)).toBe("docker-4f1a.scope");
    expect(systemdCgroupPath(spec)).toBe("/system.slice/docker-4f1a.scope");
    expect(systemdUnitName({ ...spec, prefix: "" })).toBe("4f1a.scope");
    expect(systemdUnitName({ ...spec, name: "my-thing.slice" })).toBe("my-thing.slice");
    expect(systemdCgroupPath({ ...spec, slice: "kubepods-besteffort.slice" })).toBe(
      "/kubepods.slice/kubepods-besteffort.slice/docker-4f1a.scope",
    );
  });
});

describe("resolvePaths", () => {
  const cpuMount = { mountPoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/", controllers: ["cpu", "cpuacct"] };
  const hybrid: CgroupLayout = {
    mode: "hybrid",
    root: "/sys/fs/cgroup",
    v1: {
      cpu: cpuMount,
      cpuacct: cpuMount,
      memory: { mountPoint: "/sys/fs/cgroup/memory", root: "/", controllers: ["memory"] },
      "name=systemd": { mountPoint: "/sys/fs/cgroup/systemd", root: "/", controllers: ["name=systemd"] },
    },
    v2: { mountPoint: "/sys/fs/cgroup/unified", root: "/" },
  };
  const v2: CgroupLayout = { mode: "v2", root: "/sys/fs/cgroup", v1: {}, v2: { mountPoint: "/sys/fs/cgroup", root: "/" } };

  test("absolute path, hybrid: every v1 controller plus unified", () => {
    expect(resolvePaths(hybrid, "/docker/abc")).toEqual({
      cpu: "/sys/fs/cgroup/cpu,cpuacct/docker/abc",
      cpuacct: "/sys/fs/cgroup/cpu,cpuacct/docker/abc",
      memory: "/sys/fs/cgroup/memory/docker/abc",
      "name=systemd": "/sys/fs/cgroup/systemd/docker/abc",
      unified: "/sys/fs/cgroup/unified/docker/abc",
    });
  });

  test("absolute path, v2", () => {
    expect(resolvePaths(v2, "/sysbox/c1")).toEqual({ unified: "/sys/fs/cgroup/sysbox/c1" });
  });

  test("relative path joins this process's own cgroup per hierarchy", () => {
    const self = "5:memory:/process_api/7\n3:cpu,cpuacct:/\n1:name=systemd:/user.slice\n0::/user.slice/s.scope\n";
    expect(resolvePaths(hybrid, "c1", { procSelfCgroup: self })).toEqual({
      cpu: "/sys/fs/cgroup/cpu,cpuacct/c1",
      cpuacct: "/sys/fs/cgroup/cpu,cpuacct/c1",
      memory: "/sys/fs/cgroup/memory/process_api/7/c1",
      "name=systemd": "/sys/fs/cgroup/systemd/user.slice/c1",
      unified: "/sys/fs/cgroup/unified/user.slice/s.scope/c1",
    });
  });

  test("relative path under a mount whose root is the container's cgroup", () => {
    const inCtr: CgroupLayout = {
      mode: "v1",
      root: "/sys/fs/cgroup",
      v1: { memory: { mountPoint: "/sys/fs/cgroup/memory", root: "/docker/4f1a", controllers: ["memory"] } },
    };
    expect(resolvePaths(inCtr, "sub", { procSelfCgroup: "4:memory:/docker/4f1a/inner\n" })).toEqual({
      memory: "/sys/fs/cgroup/memory/inner/sub",
    });
  });
});
