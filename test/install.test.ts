/**
 * scripts/install.sh's host checks, on simulated hosts: a failed check prints
 * the reason and the fix and installs nothing. The install steps themselves
 * are not run here (they take minutes on a fresh machine); commands that
 * would install anything are replaced by stubs that record their calls.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const INSTALL = join(ROOT, "scripts", "install.sh");
const isRoot = process.getuid?.() === 0;

/** Commands the install steps use to change the machine. */
const STUBBED = [
  "apt-get", "apt", "dpkg", "npm", "bun", "docker", "dockerd", "useradd", "usermod",
  "systemctl", "debootstrap", "cp", "mv", "install", "chmod", "modprobe", "sysctl",
];

let dir: string;
let stubs: string;
let calls: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "install-test-"));
  stubs = join(dir, "stubs");
  calls = join(dir, "calls.log");
  mkdirSync(stubs);
  for (const name of STUBBED) {
    const f = join(stubs, name);
    writeFileSync(f, `#!/bin/sh\necho "${name} $*" >>'${calls}'\nexit 1\n`);
    chmodSync(f, 0o755);
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Result {
  code: number;
  out: string;
  err: string;
  /** Stubbed commands the script ran. */
  calls: string;
}

/** Runs install.sh with `env` on top of ours and the stubs first on PATH. */
function install(args: string[], env: Record<string, string> = {}, script = INSTALL): Result {
  rmSync(calls, { force: true });
  const r = Bun.spawnSync(["bash", script, ...args], {
    env: { ...process.env, PATH: `${stubs}:${process.env.PATH}`, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return {
    code: r.exitCode ?? -1,
    out: r.stdout.toString(),
    err: r.stderr.toString(),
    calls: existsSync(calls) ? readFileSync(calls, "utf8") : "",
  };
}

/** A fake /proc with just the user-namespace sysctls. */
function fakeProc(name: string, maxUserNs: string, unprivClone?: string): string {
  const p = join(dir, name);
  mkdirSync(join(p, "sys", "user"), { recursive: true });
  mkdirSync(join(p, "sys", "kernel"), { recursive: true });
  writeFileSync(join(p, "sys", "user", "max_user_namespaces"), `${maxUserNs}\n`);
  if (unprivClone !== undefined) writeFileSync(join(p, "sys", "kernel", "unprivileged_userns_clone"), `${unprivClone}\n`);
  return p;
}

/** A fake cgroup tree: files relative to it, each created empty. */
function fakeCgroup(name: string, files: string[]): string {
  const p = join(dir, name);
  mkdirSync(p, { recursive: true });
  for (const f of files) {
    mkdirSync(join(p, f, ".."), { recursive: true });
    writeFileSync(join(p, f), "");
  }
  return p;
}

/** The stub calls that could change the machine: the kernel probe and image look-ups only look. */
function changes(calls: string): string {
  return calls.split("\n").filter((l) => l && !/^bun \S*\/scripts\/idmap-probe\.ts$/.test(l) && !l.startsWith("docker image inspect ")).join("\n");
}

function expectNothingInstalled(r: Result): void {
  expect(r.code).toBe(1);
  expect(changes(r.calls)).toBe("");
  expect(r.err).toContain("nothing was installed");
  // The install steps never started.
  expect(r.err).not.toContain("[1/");
}

describe.skipIf(!isRoot)("install.sh host checks [requires root]", () => {
  test("/dev/fuse missing: the reason and the fix, and nothing installed", () => {
    const r = install([], { SYSBOX_FUSE_DEV: "/nonexistent/fuse" });
    expectNothingInstalled(r);
    expect(r.err).toContain("host check failed: /nonexistent/fuse is missing: sysbox-fs serves the container's /proc and /sys files through FUSE");
    expect(r.err).toContain("fix: modprobe fuse");
    expect(r.err).toContain("1 host check(s) failed");
  });

  test("a regular file where /dev/fuse should be is not a device", () => {
    const f = join(dir, "not-a-device");
    writeFileSync(f, "");
    const r = install(["--check-only"], { SYSBOX_FUSE_DEV: f });
    expectNothingInstalled(r);
    expect(r.err).toContain(`host check failed: ${f} is not a character device`);
  });

  test("user namespaces disabled by user.max_user_namespaces=0", () => {
    const r = install([], { SYSBOX_PROC_DIR: fakeProc("proc-nouserns", "0") });
    expectNothingInstalled(r);
    expect(r.err).toContain("host check failed: user namespaces are disabled: user.max_user_namespaces is 0");
    expect(r.err).toContain("fix: sysctl -w user.max_user_namespaces=15000");
  });

  test("kernel.unprivileged_userns_clone=0 (Debian's knob) fails; =1 passes", () => {
    const off = install(["--check-only"], { SYSBOX_PROC_DIR: fakeProc("proc-clone0", "1000", "0") });
    expectNothingInstalled(off);
    expect(off.err).toContain("kernel.unprivileged_userns_clone is 0");
    expect(off.err).toContain("fix: sysctl -w kernel.unprivileged_userns_clone=1");

    const on = install(["--check-only"], { SYSBOX_PROC_DIR: fakeProc("proc-clone1", "1000", "1") });
    expect(on.err).toContain("ok: user namespaces (max_user_namespaces=1000)");
    expect(on.code).toBe(0);
  });

  test("a kernel without user namespaces (no max_user_namespaces)", () => {
    const p = join(dir, "proc-empty");
    mkdirSync(p);
    const r = install(["--check-only"], { SYSBOX_PROC_DIR: p });
    expectNothingInstalled(r);
    expect(r.err).toContain("user namespaces are not available");
    expect(r.err).toContain("CONFIG_USER_NS");
  });

  test("no cgroup hierarchy", () => {
    const r = install(["--check-only"], { SYSBOX_CGROUP_DIR: fakeCgroup("cg-empty", []) });
    expectNothingInstalled(r);
    expect(r.err).toMatch(/host check failed: no cgroup hierarchy found at \S+cg-empty/);
    expect(r.err).toContain("fix: mount cgroup v2: mount -t cgroup2");
  });

  test("cgroup v2, hybrid and v1 layouts are recognised", () => {
    const v2 = install(["--check-only"], { SYSBOX_CGROUP_DIR: fakeCgroup("cg-v2", ["cgroup.controllers"]) });
    expect(v2.err).toContain("ok: cgroup v2 at");
    expect(v2.code).toBe(0);

    const v1 = ["cpu", "memory", "pids", "devices", "freezer"].map((c) => `${c}/tasks`);
    const hybrid = install(["--check-only"], { SYSBOX_CGROUP_DIR: fakeCgroup("cg-hybrid", [...v1, "unified/cgroup.controllers"]) });
    expect(hybrid.err).toContain("ok: cgroup hybrid at");
    expect(hybrid.code).toBe(0);

    const partial = install(["--check-only"], { SYSBOX_CGROUP_DIR: fakeCgroup("cg-v1", ["memory/tasks"]) });
    expect(partial.err).toContain("ok: cgroup v1 at");
    expect(partial.err).toContain("cgroup v1 controllers not mounted: cpu pids devices freezer");
    expect(partial.code).toBe(0);
  });

  test("kernels by version, when the kernel cannot be probed: 5.4 fails, 5.15 fails for overlayfs, 6.1 passes", () => {
    const old = install([], { SYSBOX_KERNEL_RELEASE: "5.4.0-150-generic" });
    expectNothingInstalled(old);
    expect(old.err).toContain("host check failed: kernel 5.4.0-150-generic is older than 5.12");

    const mid = install([], { SYSBOX_KERNEL_RELEASE: "5.15.0-91-generic" });
    expectNothingInstalled(mid);
    expect(mid.err).toContain("host check failed: kernel 5.15.0-91-generic is older than 5.19: overlayfs there cannot take ID-mapped lower layers");
    expect(mid.err).toContain("fix: boot a kernel 5.19 or newer");
    expect(mid.err).toContain("Ubuntu 22.04: apt-get install linux-generic-hwe-22.04");

    const deb12 = install(["--check-only"], { SYSBOX_KERNEL_RELEASE: "6.1.0-57-amd64" });
    expect(deb12.code).toBe(0);
    expect(deb12.err).toContain("ok: kernel 6.1.0-57-amd64 (ID-mapped mounts not probed yet");
  });

  test("a kernel whose probe says overlayfs refuses ID-mapped lower layers: refused with the reason and the fix", () => {
    const r = install([], { SYSBOX_IDMAP_PROBE: "bind ok,overlay-lower EINVAL mount,overlay EINVAL mount_setattr,tmpfs EINVAL mount_setattr" });
    expectNothingInstalled(r);
    expect(r.err).toContain("cannot use an ID-mapped mount as an overlayfs lower layer (mount overlay: EINVAL mount)");
    expect(r.err).toContain("fix: boot a kernel 5.19 or newer");

    const noBind = install([], { SYSBOX_IDMAP_PROBE: "bind EINVAL mount_setattr" });
    expectNothingInstalled(noBind);
    expect(noBind.err).toContain("cannot ID-map a mount of /var/lib's filesystem (mount_setattr MOUNT_ATTR_IDMAP: EINVAL mount_setattr)");

    // Debian 12's 6.1, as measured: no ID-mapped tmpfs or overlay mount, and that is enough.
    const deb12 = install(["--check-only"], { SYSBOX_IDMAP_PROBE: "bind ok,overlay-lower ok,overlay EINVAL mount_setattr,tmpfs EINVAL mount_setattr" });
    expect(deb12.code).toBe(0);
    expect(deb12.err).toContain("ID-mapped mounts and ID-mapped overlay lower layers work (probed; ID-mapped tmpfs: EINVAL mount_setattr)");
  });

  test("several failures are all reported", () => {
    const r = install([], {
      SYSBOX_FUSE_DEV: "/nonexistent/fuse",
      SYSBOX_KERNEL_RELEASE: "4.19.0-25-amd64",
      SYSBOX_CGROUP_DIR: fakeCgroup("cg-empty2", []),
    });
    expectNothingInstalled(r);
    expect(r.err.match(/^host check failed: /gm)).toHaveLength(3);
    expect(r.err).toContain("3 host check(s) failed");
  });

  test("not root: says so and how to run it", () => {
    // A copy readable by everyone, run as nobody.
    const copy = join(dir, "copy");
    mkdirSync(join(copy, "scripts"), { recursive: true });
    for (const f of ["install.sh", "lib.sh"]) cpSync(join(ROOT, "scripts", f), join(copy, "scripts", f));
    for (const p of [dir, copy, join(copy, "scripts"), stubs]) chmodSync(p, 0o755);
    const r = Bun.spawnSync(
      ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash", join(copy, "scripts", "install.sh"), "--check-only"],
      { env: { ...process.env, PATH: `${stubs}:${process.env.PATH}` }, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    const err = r.stderr.toString();
    expect(r.exitCode).toBe(1);
    expect(err).toContain("host check failed: not running as root (uid 65534)");
    expect(err).toContain("fix: run it as root: sudo bash scripts/install.sh");
    expect(err).toContain("nothing was installed");
  });

  test("this host passes with --check-only, which changes nothing", () => {
    const r = install(["--check-only"]);
    expect(r.err).not.toContain("host check failed");
    expect(r.code).toBe(0);
    expect(r.out).toContain("host checks passed (--check-only: nothing was changed)");
    expect(changes(r.calls)).toBe("");
  });

  test("an unknown option is a usage error", () => {
    const r = install(["--bogus"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--check-only");
    expect(r.calls).toBe("");
  });
});

describe("install.sh systemd units", () => {
  function unit(name: string): string {
    const r = Bun.spawnSync(["bash", "-c", `set --; source '${INSTALL}'; unit_text ${name}`], { stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    return r.stdout.toString();
  }

  test("sysbox.service wants both daemons (a restart of one leaves the other); each daemon is part of it", () => {
    const top = unit("sysbox.service");
    expect(top).toContain("Wants=sysbox-mgr.service sysbox-fs.service");
    expect(top).not.toContain("BindsTo=");
    expect(top).toContain("WantedBy=multi-user.target");
    for (const d of ["sysbox-mgr", "sysbox-fs"]) {
      const u = unit(`${d}.service`);
      expect(u).toContain(`ExecStart=/usr/bin/${d}\n`);
      expect(u).toContain("PartOf=sysbox.service");
      expect(u).toContain("WantedBy=sysbox.service");
    }
  });

  const canVerify = Bun.which("systemd-analyze") !== null
    && ["sysbox-runc", "sysbox-mgr", "sysbox-fs"].every((b) => existsSync(`/usr/bin/${b}`));
  test.skipIf(!canVerify)("systemd-analyze verify accepts them [requires systemd-analyze and installed binaries]", () => {
    const units = join(dir, "units");
    mkdirSync(units, { recursive: true });
    const files = ["sysbox.service", "sysbox-mgr.service", "sysbox-fs.service"].map((name) => {
      const f = join(units, name);
      writeFileSync(f, unit(name));
      return f;
    });
    const r = Bun.spawnSync(["systemd-analyze", "verify", ...files], { stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  });
});
