import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../oci/mod.ts";
import { toSystemContainerSpec, validateMappings, widenSeccomp, SysContainerError } from "./spec.ts";

const docker = parseConfig(readFileSync(join(import.meta.dir, "../oci/testdata/docker-config.json"), "utf8"));
const HOST_BOUNDING = 0x1fffeffffffn; // every cap but CAP_SYS_RESOURCE
const range = { uid: 165536, gid: 165536, size: 65536 };

describe("toSystemContainerSpec", () => {
  const { spec, range: used } = toSystemContainerSpec(docker, { range, hostBounding: HOST_BOUNDING });

  test("adds a user namespace mapped to the range, and a cgroup namespace", () => {
    const types = spec.linux!.namespaces!.map((n) => n.type);
    expect(types).toContain("user");
    expect(types).toContain("cgroup");
    expect(spec.linux!.uidMappings).toEqual([{ containerID: 0, hostID: 165536, size: 65536 }]);
    expect(spec.linux!.gidMappings).toEqual([{ containerID: 0, hostID: 165536, size: 65536 }]);
    expect(used).toEqual(range);
  });

  test("root gets every capability the host allows, never CAP_SYS_RESOURCE here", () => {
    const caps = spec.process!.capabilities!;
    expect(caps.effective).toContain("CAP_SYS_ADMIN");
    expect(caps.effective).toContain("CAP_NET_ADMIN");
    expect(caps.effective).not.toContain("CAP_SYS_RESOURCE");
    expect(caps.bounding).toEqual(caps.effective!);
  });

  test("drops AppArmor and lifts /proc/sys from the read-only paths", () => {
    expect(spec.process!.apparmorProfile).toBeUndefined();
    expect(spec.linux!.readonlyPaths ?? []).not.toContain("/proc/sys");
    expect(spec.linux!.maskedPaths ?? []).not.toContain("/proc/kcore");
  });

  test("clamps Docker's ping_group_range to the container's gids", () => {
    const withPing = { ...docker, linux: { ...docker.linux, sysctl: { "net.ipv4.ping_group_range": "0 2147483647" } } };
    const out = toSystemContainerSpec(withPing, { range, hostBounding: HOST_BOUNDING }).spec;
    expect(out.linux!.sysctl!["net.ipv4.ping_group_range"]).toBe("0 65535");
  });

  test("leaves the caller's spec untouched", () => {
    expect(docker.linux!.namespaces!.some((n) => n.type === "user")).toBe(false);
  });

  test.each(["pid", "ipc", "uts", "mount"])("refuses a shared %s namespace", (type) => {
    const shared = { ...docker, linux: { ...docker.linux, namespaces: docker.linux!.namespaces!.map((n) => (n.type === type ? { type, path: "/proc/1/ns/x" } : n)) } };
    expect(() => toSystemContainerSpec(shared, { range, hostBounding: HOST_BOUNDING })).toThrow(SysContainerError);
  });

  test("refuses --privileged with a message that says what to do", () => {
    const allCaps = ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"];
    const priv = { ...docker, process: { ...docker.process!, capabilities: { bounding: allCaps, effective: allCaps, permitted: allCaps } }, linux: { ...docker.linux, maskedPaths: [], readonlyPaths: [] } };
    expect(() => toSystemContainerSpec(priv, { range, hostBounding: HOST_BOUNDING })).toThrow(/--privileged.*drop --privileged/);
  });

  test("refuses the host network namespace", () => {
    const hostNet = { ...docker, linux: { ...docker.linux, namespaces: docker.linux!.namespaces!.filter((n) => n.type !== "network") } };
    expect(() => toSystemContainerSpec(hostNet, { range, hostBounding: HOST_BOUNDING })).toThrow(/network namespace with the host/);
  });

  test("refuses a network namespace path that is the host's (Docker's --net=host), keeps another container's", () => {
    const withNet = (path: string) => ({
      ...docker,
      linux: { ...docker.linux, namespaces: [...docker.linux!.namespaces!.filter((n) => n.type !== "network"), { type: "network" as const, path }] },
    });
    const isHostNetns = (p: string) => p === "/var/run/docker/netns/default";
    expect(() => toSystemContainerSpec(withNet("/var/run/docker/netns/default"), { range, hostBounding: HOST_BOUNDING, isHostNetns }))
      .toThrow(/--net=host is not supported/);
    const joined = toSystemContainerSpec(withNet("/proc/4242/ns/net"), { range, hostBounding: HOST_BOUNDING, isHostNetns });
    expect(joined.spec.linux!.namespaces).toContainEqual({ type: "network", path: "/proc/4242/ns/net" });
  });

  test("a non-root process keeps its own sets under a full bounding set", () => {
    const user = { ...docker, process: { ...docker.process!, user: { uid: 1000, gid: 1000 } } };
    const caps = toSystemContainerSpec(user, { range, hostBounding: HOST_BOUNDING }).spec.process!.capabilities!;
    expect(caps.bounding).toContain("CAP_SYS_ADMIN");
    expect(caps.effective).toEqual(docker.process!.capabilities!.effective!);
  });
});

describe("per-container settings", () => {
  test("SYSBOX_HONOR_CAPS: root keeps the spec's capabilities (a --cap-drop holds); AppArmor still goes", () => {
    const out = toSystemContainerSpec(docker, { range, hostBounding: HOST_BOUNDING, settings: { honorCaps: true, syscontMode: true } }).spec;
    expect(out.process!.capabilities).toEqual(docker.process!.capabilities!);
    expect(out.process!.capabilities!.effective).not.toContain("CAP_SYS_ADMIN");
    expect(out.process!.apparmorProfile).toBeUndefined();
  });

  test("SYSBOX_SYSCONT_MODE=FALSE: its own user and cgroup namespaces and mapping, and otherwise the spec as given", () => {
    const { spec: out } = toSystemContainerSpec(docker, { range, hostBounding: HOST_BOUNDING, settings: { honorCaps: false, syscontMode: false } });
    const types = out.linux!.namespaces!.map((n) => n.type);
    expect(types).toContain("user");
    expect(types).toContain("cgroup");
    expect(out.linux!.uidMappings).toEqual([{ containerID: 0, hostID: 165536, size: 65536 }]);
    expect(out.process).toEqual(docker.process!);
    expect(out.mounts).toEqual(docker.mounts!);
    expect(out.linux!.maskedPaths).toEqual(docker.linux!.maskedPaths!);
    expect(out.linux!.readonlyPaths).toEqual(docker.linux!.readonlyPaths!);
    expect(out.linux!.seccomp).toEqual(docker.linux!.seccomp!);
  });

  test("SYSBOX_SYSCONT_MODE=FALSE still refuses what breaks a user namespace's isolation", () => {
    const settings = { honorCaps: false, syscontMode: false };
    const hostPid = { ...docker, linux: { ...docker.linux, namespaces: docker.linux!.namespaces!.filter((n) => n.type !== "pid") } };
    expect(() => toSystemContainerSpec(hostPid, { range, hostBounding: HOST_BOUNDING, settings })).toThrow(SysContainerError);
  });
});

describe("validateMappings (Docker userns-remap)", () => {
  test("a contiguous 65536 range from 0 is accepted", () => {
    expect(validateMappings([{ containerID: 0, hostID: 300000, size: 65536 }], [{ containerID: 0, hostID: 300000, size: 65536 }]))
      .toEqual({ uid: 300000, gid: 300000, size: 65536 });
  });
  test("too small a range is refused with Sysbox's message", () => {
    expect(() => validateMappings([{ containerID: 0, hostID: 300000, size: 1000 }], [{ containerID: 0, hostID: 300000, size: 65536 }]))
      .toThrow(/at least 65536 uids starting at uid 0/);
  });
  test("a mapping of host root is refused", () => {
    expect(() => validateMappings([{ containerID: 0, hostID: 0, size: 65536 }], [{ containerID: 0, hostID: 0, size: 65536 }]))
      .toThrow(/host ID 0/);
  });
});

describe("widenSeccomp", () => {
  const s = docker.linux!.seccomp!;
  const w = widenSeccomp(s);
  const allowed = new Set(w.syscalls!.filter((r) => r.action === "SCMP_ACT_ALLOW" && !r.args?.length).flatMap((r) => r.names ?? []));
  test.each(["mount", "umount2", "unshare", "setns", "pivot_root", "keyctl", "sethostname", "clone"])("%s is allowed unconditionally", (n) => {
    expect(allowed.has(n)).toBe(true);
  });
  test("no errno rule names a widened syscall", () => {
    const errnoNames = w.syscalls!.filter((r) => r.action === "SCMP_ACT_ERRNO").flatMap((r) => r.names ?? []);
    expect(errnoNames).not.toContain("mount");
  });
  test("the default action is kept", () => expect(w.defaultAction).toBe(s.defaultAction));
});

describe("systemd containers", () => {
  const init = { ...docker, process: { ...docker.process!, args: ["/sbin/init"] } };
  const { spec } = toSystemContainerSpec(init, { range, hostBounding: HOST_BOUNDING });
  test("get tmpfs /run and /run/lock and $container", () => {
    const dests = spec.mounts!.map((m) => `${m.destination}:${m.type}`);
    expect(dests).toContain("/run:tmpfs");
    expect(dests).toContain("/run/lock:tmpfs");
    expect(spec.process!.env).toContain("container=private-users");
  });
  test("a spec that mounts /run keeps its own", () => {
    const own = { ...init, mounts: [...(init.mounts ?? []), { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["size=1m"] }] };
    const out = toSystemContainerSpec(own, { range, hostBounding: HOST_BOUNDING }).spec;
    expect(out.mounts!.filter((m) => m.destination === "/run")).toHaveLength(1);
  });
  test("other containers get no /run tmpfs, but every one gets /dev/kmsg as /dev/null", () => {
    const plain = toSystemContainerSpec(docker, { range, hostBounding: HOST_BOUNDING }).spec;
    expect(plain.mounts!.some((m) => m.destination === "/run")).toBe(false);
    expect(plain.mounts!.find((m) => m.destination === "/dev/kmsg")?.source).toBe("/dev/null");
  });
});
