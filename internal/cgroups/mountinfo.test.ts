import { describe, expect, test } from "bun:test";
import { parseMountinfo, parseProcCgroup, procCgroupPaths, unescapeMountPath } from "./mountinfo.ts";

describe("parseMountinfo", () => {
  test("fields, optional fields and super options", () => {
    const [m] = parseMountinfo(
      "33 22 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
    );
    expect(m).toEqual({
      id: 33, parentId: 22, majorMinor: "0:27", root: "/", mountPoint: "/sys/fs/cgroup",
      mountOptions: ["rw", "nosuid", "nodev", "noexec", "relatime"], optionalFields: ["shared:9"],
      fsType: "cgroup2", source: "cgroup2", superOptions: ["rw", "nsdelegate", "memory_recursiveprot"],
    });
  });

  test("no optional fields, several optional fields", () => {
    const ms = parseMountinfo(
      "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n" +
        "617 616 0:30 /docker/4f1a /sys/fs/cgroup/systemd ro,relatime shared:3 master:11 - cgroup cgroup rw,xattr,name=systemd\n",
    );
    expect(ms[0]!.optionalFields).toEqual([]);
    expect(ms[0]!.superOptions).toEqual(["rw", "cpu"]);
    expect(ms[1]!.optionalFields).toEqual(["shared:3", "master:11"]);
    expect(ms[1]!.root).toBe("/docker/4f1a");
  });

  test("octal escapes in paths", () => {
    expect(unescapeMountPath("/a\\040b\\011c\\134d")).toBe("/a b\tc\\d");
    const [m] = parseMountinfo("512 29 0:51 / /var/lib/x\\040y rw - overlay overlay rw");
    expect(m!.mountPoint).toBe("/var/lib/x y");
  });

  test("garbage throws SyntaxError", () => {
    expect(() => parseMountinfo("1 2 3")).toThrow(SyntaxError);
  });
});

describe("parseProcCgroup", () => {
  const hybrid = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/ad8c\n1:cpu:/\n0::/\n";
  const v1comount = "11:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n";

  test("entries", () => {
    expect(parseProcCgroup(v1comount)).toEqual([
      { hierarchyId: 11, controllers: ["cpu", "cpuacct"], path: "/docker/abc" },
      { hierarchyId: 1, controllers: ["name=systemd"], path: "/docker/abc" },
    ]);
    expect(parseProcCgroup("0::/user.slice/user-1000.slice/session-3.scope\n")).toEqual([
      { hierarchyId: 0, controllers: [], path: "/user.slice/user-1000.slice/session-3.scope" },
    ]);
  });

  test("paths may contain colons", () => {
    expect(parseProcCgroup("0::/a:b:c")[0]!.path).toBe("/a:b:c");
  });

  test("per-controller map, cgroup2 keyed by empty string", () => {
    expect(procCgroupPaths(hybrid)).toEqual({ "name=systemd": "/", pids: "/", memory: "/process_api/ad8c", cpu: "/", "": "/" });
    expect(procCgroupPaths(v1comount)).toEqual({ cpu: "/docker/abc", cpuacct: "/docker/abc", "name=systemd": "/docker/abc" });
  });

  test("garbage throws SyntaxError", () => {
    expect(() => parseProcCgroup("nonsense")).toThrow(SyntaxError);
  });
});
