import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { detectLayout, layoutFromMountinfo, v1Hierarchies } from "./layout.ts";

const fixture = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8");

describe("layoutFromMountinfo", () => {
  test("hybrid with one mount per controller and cgroup2 at unified", () => {
    const l = layoutFromMountinfo(fixture("mountinfo-hybrid-split-cpu.txt"));
    expect(l.mode).toBe("hybrid");
    expect(Object.keys(l.v1).sort()).toEqual(
      ["blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "name=systemd", "pids"],
    );
    expect(l.v1["cpu"]!.mountPoint).toBe("/sys/fs/cgroup/cpu");
    expect(l.v1["cpuacct"]!.mountPoint).toBe("/sys/fs/cgroup/cpuacct");
    expect(l.v1["name=systemd"]).toEqual({ mountPoint: "/sys/fs/cgroup/systemd", root: "/", controllers: ["name=systemd"] });
    expect(l.v2).toEqual({ mountPoint: "/sys/fs/cgroup/unified", root: "/" });
  });

  test("hybrid with co-mounted controllers (Ubuntu 20.04)", () => {
    const l = layoutFromMountinfo(fixture("mountinfo-hybrid-ubuntu2004.txt"));
    expect(l.mode).toBe("hybrid");
    expect(l.v1["cpu"]).toBe(l.v1["cpuacct"]!);
    expect(l.v1["cpu"]!.mountPoint).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(l.v1["net_prio"]!.controllers).toEqual(["net_cls", "net_prio"]);
    expect(l.v1["name=systemd"]!.controllers).toEqual(["name=systemd"]); // xattr is not a controller
    expect(v1Hierarchies(l)).toHaveLength(12);
  });

  test("pure v2 (Ubuntu 22.04)", () => {
    const l = layoutFromMountinfo(fixture("mountinfo-v2-ubuntu2204.txt"));
    expect(l).toEqual({ mode: "v2", root: "/sys/fs/cgroup", v1: {}, v2: { mountPoint: "/sys/fs/cgroup", root: "/" } });
  });

  test("pure v1 (CentOS 7), release_agent= and seclabel are not controllers", () => {
    const l = layoutFromMountinfo(fixture("mountinfo-v1-centos7.txt"));
    expect(l.mode).toBe("v1");
    expect(l.v2).toBeUndefined();
    expect(l.v1["name=systemd"]!.controllers).toEqual(["name=systemd"]);
    expect(l.v1["memory"]!.controllers).toEqual(["memory"]);
    expect(l.v1["cpuacct"]!.controllers).toEqual(["cpu", "cpuacct"]);
    expect(l.v1["hugetlb"]!.mountPoint).toBe("/sys/fs/cgroup/hugetlb");
  });

  test("inside a container without cgroupns: mount roots are the container's cgroup", () => {
    const l = layoutFromMountinfo(fixture("mountinfo-v1-in-container.txt"));
    expect(l.mode).toBe("v1");
    expect(l.v1["memory"]!.root).toBe("/docker/4f1a");
  });

  test("another root", () => {
    const text = "1 0 0:1 / /tmp/cg rw - cgroup2 cgroup2 rw\n2 0 0:2 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
    expect(layoutFromMountinfo(text, "/tmp/cg").v2!.mountPoint).toBe("/tmp/cg");
  });

  test("no cgroup filesystem is an error", () => {
    expect(() => layoutFromMountinfo("29 1 8:1 / / rw - ext4 /dev/sda1 rw\n")).toThrow(/No cgroup filesystem/);
  });
});

describe("detectLayout", () => {
  test("takes mountinfo text when given", () => {
    expect(detectLayout("/sys/fs/cgroup", { mountinfo: fixture("mountinfo-v2-ubuntu2204.txt") }).mode).toBe("v2");
  });

  test("reads /proc/self/mountinfo otherwise", () => {
    // Whatever this host runs, the answer is one of the three.
    let mode: string;
    try {
      mode = detectLayout().mode;
    } catch {
      mode = "none";
    }
    expect(["v1", "hybrid", "v2", "none"]).toContain(mode);
  });
});
