import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLONE, MOUNT_ATTR } from "../sys/flags.ts";
import { close, open, O_FLAGS } from "../sys/fs.ts";
import { OPEN_TREE, openTree } from "../sys/mount.ts";
import { isSysError } from "../sys/errno.ts";
import { mknodInNamespaces, mountInNamespaces, umountInNamespaces, type NsJoin } from "./nsmount.ts";

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("mount in another process's namespaces [requires root]", () => {
  let child: Bun.Subprocess<"ignore", "pipe", "inherit"> | undefined;
  let pid = 0;
  let work = "";

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "nsmount-test-"));
    writeFileSync(join(work, "fake-uptime"), "42.00 1.00\n");
    // A process in its own user (root mapped), mount, pid and net namespaces, with /proc of its pid ns.
    child = Bun.spawn(["unshare", "-Urmpnf", "--mount-proc", "sh", "-c", "mkdir -p /tmp/nsmount-target && echo up && exec sleep 60"], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
    const reader = child!.stdout.getReader();
    await reader.read();
    reader.releaseLock();
    for (let i = 0; i < 100 && !pid; i++) {
      const kids = readFileSync(`/proc/${child!.pid}/task/${child!.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
      if (kids.length) pid = Number(kids[0]);
      else await Bun.sleep(20);
    }
  });

  afterAll(() => {
    child?.kill(9);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function joins(): NsJoin[] {
    return (["user", "net", "pid", "mnt"] as const).map((ns) => ({
      fd: open(`/proc/${pid}/ns/${ns}`, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC),
      type: { user: CLONE.NEWUSER, net: CLONE.NEWNET, pid: CLONE.NEWPID, mnt: CLONE.NEWNS }[ns],
    }));
  }
  const mountinfo = () => readFileSync(`/proc/${pid}/mountinfo`, "utf8");

  test("mounts a procfs of the caller's pid namespace with a bind over one file, then removes both", () => {
    expect(pid).toBeGreaterThan(0);
    const ns = joins();
    const target = open(`/proc/${pid}/root/tmp/nsmount-target`, O_FLAGS.PATH | O_FLAGS.CLOEXEC);
    const src = openTree(join(work, "fake-uptime"), OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC);
    try {
      mountInNamespaces({
        join: ns, fork: true, timeoutMs: 5000, fstype: "proc", options: [], attr: MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC,
        target: { fd: target }, binds: [{ fd: src, path: "uptime" }, { fd: src, path: "no-such-file" }],
      });
    } finally {
      for (const fd of [target, src, ...ns.map((j) => j.fd)]) close(fd);
    }
    // The new procfs is of the child's pid namespace: its pid 1 is the child's sh.
    expect(readFileSync(`/proc/${pid}/root/tmp/nsmount-target/1/comm`, "utf8").trim()).toBe("sleep");
    expect(readFileSync(`/proc/${pid}/root/tmp/nsmount-target/uptime`, "utf8")).toBe("42.00 1.00\n");
    expect(mountinfo()).toMatch(/ \/tmp\/nsmount-target rw,nosuid,nodev,noexec[^ ]* .* proc /);

    const root = open(`/proc/${pid}/root`, O_FLAGS.PATH | O_FLAGS.CLOEXEC);
    const j2 = joins().filter((j) => j.type === CLONE.NEWUSER || j.type === CLONE.NEWNS);
    try {
      umountInNamespaces({ join: j2, fork: false, timeoutMs: 5000, rootFd: root, paths: ["/tmp/nsmount-target/uptime", "/tmp/nsmount-target"], flags: 0 });
    } finally {
      for (const fd of [root, ...j2.map((j) => j.fd)]) close(fd);
    }
    expect(mountinfo()).not.toContain("/tmp/nsmount-target");
  });

  test("a device node bound over a new file, from the host or from the caller's root (checked), made as the given fsuid", () => {
    const dir = join("/tmp", `nsmount-mknod-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const um = joins().filter((j) => j.type === CLONE.NEWUSER || j.type === CLONE.NEWNS);
    const root = open(`/proc/${pid}/root`, O_FLAGS.PATH | O_FLAGS.CLOEXEC);
    const host = openTree("/dev/null", OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC);
    // A second tree: moving the first one again would move its mount.
    const host2 = openTree("/dev/null", OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC);
    const run = (path: string, source: Parameters<typeof mknodInNamespaces>[0]["source"]) => {
      try {
        mknodInNamespaces({ join: um, fork: false, timeoutMs: 5000, rootFd: root, path, source, fsuid: 0, fsgid: 0 });
        return "ok";
      } catch (e) {
        return isSysError(e) ? `${e.syscall}: ${e.code}` : String(e);
      }
    };
    try {
      expect(run(`${dir}/a`, { fd: host })).toBe("ok");
      expect(run(`${dir}/b`, { path: "/dev/null", rdev: { major: 1, minor: 3 } })).toBe("ok");
      expect(run(`${dir}/c`, { path: "/dev/null", rdev: { major: 10, minor: 229 } })).toBe("statx (node source) in the caller's namespaces: ENODEV");
      expect(run(`${dir}/d`, { path: "/no/such/node" })).toBe("openat2 (node source) in the caller's namespaces: ENOENT");
      expect(run(`${dir}/a`, { fd: host })).toBe("openat2 (node target) in the caller's namespaces: EEXIST");
      // The caller's own node missing: the host's tree instead.
      expect(run(`${dir}/e`, { path: "/no/such/node", fd: host2 })).toBe("ok");
    } finally {
      for (const fd of [root, host, host2, ...um.map((j) => j.fd)]) close(fd);
    }
    const info = mountinfo();
    expect(info).toContain(` ${dir}/a `);
    expect(info).toContain(` ${dir}/b `);
    expect(info).toContain(` ${dir}/e `);
    expect(info).not.toContain(` ${dir}/c `);
    // Through the caller's view, both are /dev/null.
    const st = statSync(`/proc/${pid}/root${dir}/b`);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(statSync("/dev/null").rdev);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a target path is resolved inside the caller's root; one that escapes through a symlink is refused", () => {
    const ns = joins();
    const root = open(`/proc/${pid}/root`, O_FLAGS.PATH | O_FLAGS.CLOEXEC);
    try {
      mountInNamespaces({ join: ns, fork: true, timeoutMs: 5000, fstype: "proc", options: [["hidepid", "2"]], attr: 0, target: { rootFd: root, path: "/tmp/nsmount-target" }, binds: [] });
      expect(mountinfo()).toMatch(/ \/tmp\/nsmount-target rw,relatime .* proc .*hidepid=invisible/);
      umountInNamespaces({ join: ns.filter((j) => j.type === CLONE.NEWUSER || j.type === CLONE.NEWNS), fork: false, timeoutMs: 5000, rootFd: root, paths: ["/tmp/nsmount-target"], flags: 0 });
      // ".." cannot climb above the caller's root: this names its /tmp/nsmount-target again.
      mountInNamespaces({ join: ns, fork: true, timeoutMs: 5000, fstype: "proc", options: [], attr: 0, target: { rootFd: root, path: "/../../tmp/nsmount-target" }, binds: [] });
      expect(mountinfo()).toContain(" /tmp/nsmount-target ");
      umountInNamespaces({ join: ns.filter((j) => j.type === CLONE.NEWUSER || j.type === CLONE.NEWNS), fork: false, timeoutMs: 5000, rootFd: root, paths: ["/tmp/nsmount-target"], flags: 0 });
      let err: unknown;
      try {
        mountInNamespaces({ join: ns, fork: true, timeoutMs: 5000, fstype: "proc", options: [], attr: 0, target: { rootFd: root, path: "/no/such/dir" }, binds: [] });
      } catch (e) {
        err = e;
      }
      expect(isSysError(err, "ENOENT")).toBe(true);
      expect((err as Error).message).toContain("openat2 (mount target)");
    } finally {
      for (const fd of [root, ...ns.map((j) => j.fd)]) close(fd);
    }
    expect(mountinfo()).not.toContain("/tmp/nsmount-target");
  });

  test("a failing step comes back as a SysError naming it and the errno", () => {
    const ns = joins();
    const target = open(`/proc/${pid}/root/tmp/nsmount-target`, O_FLAGS.PATH | O_FLAGS.CLOEXEC);
    let err: unknown;
    try {
      mountInNamespaces({ join: ns, fork: true, timeoutMs: 5000, fstype: "no-such-fs", options: [], attr: 0, target: { fd: target }, binds: [] });
    } catch (e) {
      err = e;
    } finally {
      for (const fd of [target, ...ns.map((j) => j.fd)]) close(fd);
    }
    expect(isSysError(err, "ENODEV")).toBe(true);
    expect((err as Error).message).toContain("fsopen");
  });
});

