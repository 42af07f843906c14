/**
 * The init's create sequence for a Docker-generated config.json, against the
 * recording Sys: the mount plan, sysctls, devices, hooks, pivot, masked and
 * read-only paths, and where a failure at each call stops it.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../oci/mod.ts";
import { failAtIndex, Recorder, recordingSys, type RecSysOptions } from "./_recsys.ts";
import { createSteps, hookState } from "./init.ts";
import type { CreateMsg } from "./syncmsg.ts";
import type { Spec } from "./spec.ts";

const SPEC = parseConfig(readFileSync(join(import.meta.dir, "../oci/testdata/docker-config.json"), "utf8"));
const R = SPEC.root!.path;
const C = "/var/lib/docker/containers/5b0b6f1a2c8e47d3a9f0e1d2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f70";
const ID = "5b0b6f1a2c8e47d3a9f0e1d2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f70";
const BUNDLE = `/run/containerd/io.containerd.runtime.v2.task/moby/${ID}`;

/** The host and container paths that exist: bind sources, and some of Docker's masked and read-only paths. */
const TREE: RecSysOptions = {
  files: [`${C}/resolv.conf`, `${C}/hostname`, `${C}/hosts`, "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sysrq-trigger"],
  dirs: [`${C}/mounts/shm`, "/proc/asound", "/proc/acpi", "/proc/scsi", "/sys/firmware", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"],
  // /proc/bus as a user namespace leaves it: nosuid, nodev, noexec locked.
  texts: { "/proc/self/mountinfo": "25 1 0:5 / /proc rw - proc proc rw\n31 25 0:5 /bus /proc/bus rw,nosuid,nodev,noexec - proc proc rw\n" },
};

function message(spec: Spec = SPEC, over: Partial<CreateMsg> = {}): CreateMsg {
  return {
    t: "create", id: ID, bundle: BUNDLE, interceptFd: -1, fsBinds: [], spec, rootfs: R, fifoFd: 5, consoleFd: -1,
    noPivot: false, userns: false, cgroupV1: null, cgroupV2Path: "/sys/fs/cgroup/docker/x", cgroupns: true, cgroupDelegated: true,
    preserveFds: 0, ...over,
  };
}

/** Runs every step, marking each in the log as "== name". */
function runAll(m: CreateMsg, opts: RecSysOptions = TREE, rec = new Recorder()) {
  const { sys } = recordingSys(opts, rec);
  const hooks: Array<[string, unknown]> = [];
  const runHooks = rec.wrap("runHooks", (name: string, list: unknown, state: object) => { if (list) hooks.push([name, state]); });
  for (const step of createSteps(m, { sys, runHooks, pid: 1 })) {
    rec.calls.push({ fn: `== ${step.name}`, args: [] });
    step.run();
  }
  return { rec, hooks, lines: rec.lines().map((l) => l.replaceAll(R, "R").replaceAll(C, "C")) };
}

/** The lines between "== from" and the next step marker. */
function section(lines: string[], from: string): string[] {
  const start = lines.indexOf(`== ${from}`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith("== "));
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

describe("createSteps (Docker's config.json, no user namespace)", () => {
  test("the steps run in runc's prepareRootfs order", () => {
    expect(createSteps(message(), { sys: recordingSys().sys, runHooks: () => {}, pid: 1 }).map((s) => s.name)).toEqual([
      "mountSpec", "applySysctls", "bindEmulated", "makeDevices", "createContainerHooks", "pivot", "setHostname", "maskAndRo",
    ]);
  });

  test("mountSpec: the rootfs bound onto itself, then each mount with its flags, binds with propagation", () => {
    expect(section(runAll(message()).lines, "mountSpec").filter((l) => l.startsWith("mount"))).toEqual([
      "mount - / - MS_REC|MS_SLAVE -",
      "mount R R - MS_BIND|MS_REC -",
      "mount proc R/proc proc MS_NOSUID|MS_NODEV|MS_NOEXEC -",
      "mount tmpfs R/dev tmpfs MS_NOSUID|MS_STRICTATIME mode=755,size=65536k",
      "mount devpts R/dev/pts devpts MS_NOSUID|MS_NOEXEC newinstance,ptmxmode=0666,mode=0620,gid=5",
      "mount sysfs R/sys sysfs MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC -",
      // Delegated and in its own cgroup namespace: cgroup2 itself, writable whatever "ro" says.
      "mount cgroup2 R/sys/fs/cgroup cgroup2 MS_NOSUID|MS_NODEV|MS_NOEXEC -",
      "mount mqueue R/dev/mqueue mqueue MS_NOSUID|MS_NODEV|MS_NOEXEC -",
      "mount C/resolv.conf R/etc/resolv.conf - MS_BIND|MS_REC -",
      "mount - R/etc/resolv.conf - MS_REC|MS_PRIVATE -",
      "mount C/hostname R/etc/hostname - MS_BIND|MS_REC -",
      "mount - R/etc/hostname - MS_REC|MS_PRIVATE -",
      "mount C/hosts R/etc/hosts - MS_BIND|MS_REC -",
      "mount - R/etc/hosts - MS_REC|MS_PRIVATE -",
      "mount C/mounts/shm R/dev/shm - MS_BIND|MS_REC -",
      "mount - R/dev/shm - MS_REC|MS_PRIVATE -",
    ]);
  });

  test("a file bind gets an empty file as its mount point, a directory bind a directory", () => {
    const lines = section(runAll(message()).lines, "mountSpec");
    expect(lines).toContain("writeFile R/etc/resolv.conf  420");
    expect(lines).toContain("mkdirAll R/dev/shm");
    expect(lines).not.toContain("writeFile R/dev/shm  420");
  });

  test("applySysctls writes linux.sysctl through the container's own /proc, before sysbox-fs's binds", () => {
    const { lines } = runAll(message(SPEC, { fsBinds: [{ source: "/var/lib/sysboxfs/x/proc/uptime", destination: "/proc/uptime" }] }),
      { ...TREE, files: [...TREE.files!, "/var/lib/sysboxfs/x/proc/uptime", `${R}/proc/uptime`] });
    expect(section(lines, "applySysctls")).toEqual([
      "writeFile R/proc/sys/net/ipv4/ip_unprivileged_port_start 0",
      "writeFile R/proc/sys/net/ipv4/ping_group_range 0 2147483647",
    ]);
    expect(section(lines, "bindEmulated")).toEqual(["mount /var/lib/sysboxfs/x/proc/uptime R/proc/uptime - MS_BIND -"]);
  });

  test("bindEmulated skips a file the container does not have", () => {
    const { lines } = runAll(message(SPEC, { fsBinds: [{ source: "/var/lib/sysboxfs/x/proc/swaps", destination: "/proc/swaps" }] }));
    expect(section(lines, "bindEmulated")).toEqual([]);
  });

  test("makeDevices: runc's default nodes with mknod and chown, and the /dev/fd links", () => {
    const lines = section(runAll(message()).lines, "makeDevices");
    expect(lines.filter((l) => l.startsWith("mknod"))).toEqual([
      // S_IFCHR | 0666, makedev(major, minor)
      "mknod R/dev/null 0o20666 259", "mknod R/dev/zero 0o20666 261", "mknod R/dev/full 0o20666 263",
      "mknod R/dev/random 0o20666 264", "mknod R/dev/urandom 0o20666 265", "mknod R/dev/tty 0o20666 1280",
    ]);
    expect(lines.filter((l) => l.startsWith("chown"))).toHaveLength(6);
    expect(lines.filter((l) => l.startsWith("symlink"))).toEqual([
      "symlink /proc/self/fd R/dev/fd", "symlink /proc/self/fd/0 R/dev/stdin", "symlink /proc/self/fd/1 R/dev/stdout", "symlink /proc/self/fd/2 R/dev/stderr",
    ]);
  });

  test("makeDevices in a user namespace binds the host's nodes instead of mknod", () => {
    const lines = section(runAll(message(SPEC, { userns: true }), { ...TREE, files: [...TREE.files!, "/dev/null", "/dev/zero"] }).lines, "makeDevices");
    expect(lines.filter((l) => l.startsWith("mknod"))).toEqual([]);
    expect(lines.filter((l) => l.startsWith("mount"))).toEqual(["mount /dev/null R/dev/null - MS_BIND -", "mount /dev/zero R/dev/zero - MS_BIND -"]);
  });

  test("pivot: pivot_root(., .) with the old root made a slave and detached, then the rootfs propagation", () => {
    expect(section(runAll(message()).lines, "pivot")).toEqual([
      "open / O_DIRECTORY|O_CLOEXEC => 100",
      "open R O_DIRECTORY|O_CLOEXEC => 101",
      "fchdir 101",
      "pivotRoot . .",
      "fchdir 100",
      "mount - . - MS_REC|MS_SLAVE -",
      "umount2 . MNT_DETACH",
      "chdir /",
      "close 101",
      "close 100",
      "mount - / - MS_REC|MS_SLAVE -",
    ]);
  });

  test("pivot with --no-pivot moves the rootfs onto / and chroots", () => {
    expect(section(runAll(message(SPEC, { noPivot: true })).lines, "pivot")).toEqual([
      "chdir R", "mount R / - MS_MOVE -", "chroot .", "chdir /", "mount - / - MS_REC|MS_SLAVE -",
    ]);
  });

  test("setHostname after pivot", () => {
    expect(section(runAll(message()).lines, "setHostname")).toEqual(["sethostname 5b0b6f1a2c8e"]);
  });

  test("maskAndRo: masked files under /dev/null, masked dirs under a read-only tmpfs, read-only paths remounted MS_RDONLY keeping locked flags", () => {
    expect(section(runAll(message()).lines, "maskAndRo")).toEqual([
      "mount tmpfs /proc/asound tmpfs MS_RDONLY -",
      "mount tmpfs /proc/acpi tmpfs MS_RDONLY -",
      "mount /dev/null /proc/kcore - MS_BIND -",
      "mount /dev/null /proc/keys - MS_BIND -",
      "mount /dev/null /proc/timer_list - MS_BIND -",
      "mount tmpfs /proc/scsi tmpfs MS_RDONLY -",
      "mount tmpfs /sys/firmware tmpfs MS_RDONLY -",
      // /proc/latency_stats, /proc/timer_stats, /proc/sched_debug, /sys/devices/virtual/powercap: absent, skipped.
      "mount /proc/bus /proc/bus - MS_BIND|MS_REC -",
      "mount - /proc/bus - MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC|MS_REMOUNT|MS_BIND|MS_REC -",
      "mount /proc/fs /proc/fs - MS_BIND|MS_REC -",
      "mount - /proc/fs - MS_RDONLY|MS_REMOUNT|MS_BIND|MS_REC -",
      "mount /proc/irq /proc/irq - MS_BIND|MS_REC -",
      "mount - /proc/irq - MS_RDONLY|MS_REMOUNT|MS_BIND|MS_REC -",
      "mount /proc/sys /proc/sys - MS_BIND|MS_REC -",
      "mount - /proc/sys - MS_RDONLY|MS_REMOUNT|MS_BIND|MS_REC -",
      "mount /proc/sysrq-trigger /proc/sysrq-trigger - MS_BIND|MS_REC -",
      "mount - /proc/sysrq-trigger - MS_RDONLY|MS_REMOUNT|MS_BIND|MS_REC -",
    ]);
  });

  test("a read-only root is remounted last", () => {
    const spec = { ...SPEC, root: { ...SPEC.root!, readonly: true } };
    expect(section(runAll(message(spec)).lines, "maskAndRo").at(-1)).toBe("mount - / - MS_RDONLY|MS_REMOUNT|MS_BIND -");
  });
});

describe("createContainer hooks", () => {
  const spec: Spec = { ...SPEC, hooks: { ...SPEC.hooks, createContainer: [{ path: "/usr/bin/hook" }] } };

  test("get the container's id and bundle from the create message, not its hostname", () => {
    const { hooks, lines } = runAll(message(spec));
    expect(hooks).toEqual([["createContainer", { ociVersion: SPEC.ociVersion, id: ID, pid: 1, status: "creating", bundle: BUNDLE, annotations: {} }]]);
    expect(SPEC.hostname).not.toBe(ID);
    // Between the container's devices and pivot_root: the hook sees the new root at its bundle path.
    expect(lines.indexOf("runHooks createContainer [{\"path\":\"/usr/bin/hook\"}] " + JSON.stringify(hooks[0]![1])))
      .toBe(lines.indexOf("== pivot") - 1);
  });

  test("hookState carries annotations and the status asked for", () => {
    const m = message({ ...SPEC, annotations: { a: "b" } });
    expect(hookState(m, 7, "running")).toEqual({ ociVersion: SPEC.ociVersion, id: ID, pid: 7, status: "running", bundle: BUNDLE, annotations: { a: "b" } });
  });
});

describe("a failure injected at each call", () => {
  test("stops the sequence at that call, closes what it opened, and propagates the error (the /dev links aside)", () => {
    const spec: Spec = { ...SPEC, hooks: { createContainer: [{ path: "/usr/bin/hook" }] } };
    const total = runAll(message(spec)).rec.calls.filter((c) => !c.fn.startsWith("== ")).length;
    expect(total).toBeGreaterThan(80);
    for (let i = 0; i < total; i++) {
      const rec = new Recorder();
      // Step markers are pushed directly, never through `fail`: n counts real calls only.
      let n = -1;
      rec.fail = (c) => (++n === i ? failAtIndex(0)(c, 0) : undefined);
      let err: unknown;
      try { runAll(message(spec), TREE, rec); } catch (e) { err = e; }
      const real = rec.calls.filter((c) => !c.fn.startsWith("== "));
      if (err === undefined) {
        // Only the /dev/fd and /dev/std* links are best effort (they may exist as something else).
        expect(real[i]!.fn).toBe("symlink");
        expect(String(real[i]!.args[1])).toMatch(/\/dev\/(fd|stdin|stdout|stderr)$/);
        expect(real).toHaveLength(total);
        continue;
      }
      // The injected SysError itself, or (sysctls) an error naming the key and its code.
      expect(String(err)).toMatch(/\(injected\).*EIO|cannot set .*: EIO/);
      // Nothing runs after the failed call but closing what was opened (pivot's two directory fds).
      const opened = real.slice(0, i).filter((c) => c.fn === "open").map((c) => c.result);
      const after = real.slice(i + 1);
      expect(after.every((c) => c.fn === "close" && opened.includes(c.args[0]))).toBe(true);
      const closedEarlier = real.slice(0, i + 1).filter((c) => c.fn === "close").map((c) => c.args[0]);
      expect([...closedEarlier, ...after.map((c) => c.args[0])].sort()).toEqual([...opened].sort());
    }
  });
});
