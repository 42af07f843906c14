/** The --systemd-cgroup branch of the container cgroup setup where systemd cannot be reached. */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLimitReason, oomKills, setupContainerCgroup, v2DirOf, initCgroupBelow } from "./cgroup.ts";
import type { Logger } from "../log/mod.ts";
import type { Spec } from "./spec.ts";

const log: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const spec = { ociVersion: "1.0.2", linux: { cgroupsPath: "system.slice:docker:4f1a" } } as Spec;
const FIX = `(start systemd, or configure Docker for the cgroupfs driver: "exec-opts": ["native.cgroupdriver=cgroupfs"])`;
const hostHasSystemd = existsSync("/run/systemd/private") || existsSync("/run/dbus/system_bus_socket");

describe("--systemd-cgroup without systemd", () => {
  test("create fails before anything is made, naming the socket, the errno and the fix", () => {
    const dir = mkdtempSync(join(tmpdir(), "sd-"));
    try {
      const addresses = [{ path: join(dir, "private"), bus: false }, { path: join(dir, "system_bus_socket"), bus: true }];
      expect(() => setupContainerCgroup("4f1a", spec, { systemd: true, log, systemdConnect: { addresses } })).toThrow(
        `systemd cgroup driver requested (--systemd-cgroup) but systemd is not running: connect ${addresses[0]!.path}: ENOENT ${FIX}`,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test.skipIf(hostHasSystemd)("on this host, by the default sockets [requires a host without systemd]", () => {
    expect(() => setupContainerCgroup("4f1a", spec, { systemd: true, log })).toThrow(
      `systemd cgroup driver requested (--systemd-cgroup) but systemd is not running: connect /run/systemd/private: ENOENT ${FIX}`,
    );
  });
});

describe("oomKills", () => {
  test("reads oom_kill from v2 memory.events and v1 memory.oom_control; 0 when absent", () => {
    expect(oomKills("low 0\nhigh 0\nmax 14\noom 1\noom_kill 1\noom_group_kill 0\n")).toBe(1);
    expect(oomKills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")).toBe(3);
    expect(oomKills("oom_kill_disable 0\nunder_oom 0\n")).toBe(0);
    expect(oomKills("")).toBe(0);
  });
});

describe("v2DirOf", () => {
  test("the cgroup2 line of /proc/PID/cgroup, under the mount point", () => {
    const scope = "/system.slice/docker-4f1a.scope";
    expect(v2DirOf(`0::${scope}/init.scope\n`, "/sys/fs/cgroup")).toBe(`/sys/fs/cgroup${scope}/init.scope`);
    expect(v2DirOf(`12:pids:/docker/4f1a\n0::${scope}/init.scope/init.scope\n`, "/sys/fs/cgroup/unified")).toBe(`/sys/fs/cgroup/unified${scope}/init.scope/init.scope`);
    expect(v2DirOf("0::/\n", "/sys/fs/cgroup")).toBe("/sys/fs/cgroup");
    expect(v2DirOf("12:pids:/docker/4f1a\n", "/sys/fs/cgroup")).toBeUndefined();
  });
});

describe("memoryLimitReason", () => {
  const reason = (events: string) => memoryLimitReason(events, "memory.events", "memory.max", "6291456");
  test("OOM kills first; else the limit reached (a failed allocation); else nothing", () => {
    expect(reason("low 0\nhigh 0\nmax 14\noom 1\noom_kill 1\n")).toStartWith("the kernel's OOM killer ended it (memory.events: oom_kill 1; memory.max is 6291456 bytes)");
    expect(reason("low 0\nhigh 0\nmax 9\noom 0\noom_kill 0\n")).toStartWith("it reached its memory limit (memory.events: max 9, oom 0; memory.max is 6291456 bytes)");
    expect(reason("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")).toBeUndefined();
  });
});

describe("initCgroupBelow", () => {
  const base = "/sys/fs/cgroup/system.slice/docker-abc.scope/init.scope";
  test.each([
    ["systemd inside moved itself to its init.scope: exec'd processes go there", "0::/system.slice/docker-abc.scope/init.scope/init.scope\n", `${base}/init.scope`],
    ["the init still in the container's cgroup: none", "0::/system.slice/docker-abc.scope/init.scope\n", undefined],
    ["a sibling with the same prefix is not below", "0::/system.slice/docker-abc.scope/init.scope2\n", undefined],
    ["elsewhere: none", "0::/user.slice\n", undefined],
  ])("%s", (_what, text, want) => {
    expect(initCgroupBelow(text, "/sys/fs/cgroup", base)).toBe(want);
  });
});
