import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { initialMounts } from "./client.ts";
import { describeContainer, Registry, RegistrationError } from "./registry.ts";
import { MountView } from "./view.ts";

const SYSCONT = readFileSync(join(import.meta.dir, "testdata", "mountinfo-syscont.txt"), "utf8");
const view = MountView.parse(SYSCONT);
const mounts = initialMounts(SYSCONT);
const describe1 = (id = "c1") => describeContainer(id, view, { mounts, mountNs: "4:1" });

describe("describeContainer", () => {
  test("records every initial mount and which ones are read-only", () => {
    const c = describe1();
    expect([c.rootId, c.procId, c.sysId]).toEqual([51, 52, 58]);
    expect(c.initial.length).toBe(view.entries.length);
    expect(c.initial.find((i) => i.id === 110)).toEqual({ id: 110, majorMinor: "254:0", root: "/srv/shared/ro", mountPoint: "/data/ro", fsType: "ext4", readonly: true });
    expect(c.initial.find((i) => i.id === 52)?.readonly).toBe(false);
  });

  test("pins /, /proc, /sys and the initial mounts under /proc and /sys", () => {
    const c = describe1();
    const pinnedAt = [...c.pinned.keys()].map((id) => view.byId(id)!.mountPoint).sort();
    expect(pinnedAt).toEqual([
      "/", "/proc", "/proc/acpi", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/keys", "/proc/timer_list",
      "/sys", "/sys/firmware", "/sys/fs/cgroup", "/sys/fs/cgroup/blkio", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuacct",
      "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/devices", "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/memory",
      "/sys/fs/cgroup/pids", "/sys/fs/cgroup/systemd",
    ]);
  });

  test("refuses ids that are not in the mountinfo, or read-only ids of read-write mounts", () => {
    expect(() => describeContainer("c", view, { mounts: { ...mounts, proc: 9999 }, mountNs: "4:1" })).toThrow("/proc mount id 9999");
    expect(() => describeContainer("c", view, { mounts: { ...mounts, readonly: [52] }, mountNs: "4:1" })).toThrow(RegistrationError);
  });
});

describe("Registry", () => {
  test("an init starts a container, exec'd processes join it, the last hang-up ends it", () => {
    const r = new Registry();
    r.add({ fd: 10, containerId: "c1", pid: 100, kind: "init" }, describe1());
    r.add({ fd: 11, containerId: "c1", pid: 200, kind: "exec" });
    expect([r.containerCount, r.fdCount]).toEqual([1, 2]);
    expect(r.fd(11)?.mounts.rootId).toBe(51);
    expect(r.remove(10)?.remaining).toBe(1);
    expect(r.remove(11)?.remaining).toBe(0);
    expect([r.containerCount, r.fdCount, r.container("c1")]).toEqual([0, 0, undefined]);
    expect(r.remove(11)).toBeUndefined();
  });

  test("an exec into an unknown container is refused", () => {
    expect(() => new Registry().add({ fd: 3, containerId: "nope", pid: 1, kind: "exec" })).toThrow(RegistrationError);
  });

  test("a restarted container gets a new instance; the old fds keep the old one", () => {
    const r = new Registry();
    const old = describe1();
    const fresh = { ...describe1(), rootId: 999 };
    r.add({ fd: 10, containerId: "c1", pid: 100, kind: "init" }, old);
    r.add({ fd: 20, containerId: "c1", pid: 300, kind: "init" }, fresh);
    r.add({ fd: 21, containerId: "c1", pid: 301, kind: "exec" });
    expect(r.fd(10)?.mounts.rootId).toBe(51);
    expect(r.fd(21)?.mounts.rootId).toBe(999);
    expect(r.remove(10)?.remaining).toBe(0);
    expect(r.container("c1")?.rootId).toBe(999);
    expect(r.containerCount).toBe(1);
  });
});
