import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SysError } from "../sys/errno.ts";
import type { SeccompNotif } from "../sys/seccomp_notify.ts";
import { initialMounts } from "./client.ts";
import { evaluate, type CallerIo } from "./evaluate.ts";
import { describeContainer } from "./registry.ts";
import { isSysMount } from "./settings_policy.ts";
import { AUDIT_ARCH, archNumbers, syscallOf, type TrappedName } from "./syscalls.ts";
import { MountView } from "./view.ts";

const SYSCONT = readFileSync(join(import.meta.dir, "testdata", "mountinfo-syscont.txt"), "utf8");
const NS = "4:4026532000";
const container = describeContainer("c1", MountView.parse(SYSCONT), { mounts: initialMounts(SYSCONT), mountNs: NS });

const PATH = 0x7000n;
const NAME = 0x8000n;
const AT_FDCWD = 0xffff_ff9cn; // -100 as the low 32 bits of the register
const AT_EMPTY_PATH = 0x1000n;

interface Caller {
  path?: string;
  name?: string;
  links?: Record<string, string>;
  fds?: Record<number, string>;
  cwd?: string;
  /** CAP_CHOWN held; default yes. */
  chown?: boolean;
}

function run(syscall: TrappedName, args: bigint[], c: Caller = {}) {
  const nr = archNumbers(AUDIT_ARCH.X86_64)[syscall]!;
  const notif: SeccompNotif = { id: 1n, pid: 4242, flags: 0, data: { nr, arch: AUDIT_ARCH.X86_64, instructionPointer: 0n, args: [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6) as SeccompNotif["data"]["args"] } };
  const io: CallerIo = {
    readString(_pid, addr) {
      if (addr === PATH && c.path !== undefined) return c.path;
      if (addr === NAME && c.name !== undefined) return c.name;
      throw new SysError({ syscall: "process_vm_readv", errno: 14 });
    },
    caller: () => ({
      view: MountView.parse(SYSCONT), mountNs: NS, cwd: c.cwd ?? "/",
      readlink: (p) => c.links?.[p] ?? null,
      fdPath: (fd) => c.fds?.[fd] ?? null,
    }),
    hasCap: (_pid, cap) => cap !== 0 || c.chown !== false,
  };
  return evaluate(notif, container, io);
}

const action = (ev: ReturnType<typeof run>) => ev.verdict.action;

describe("the syscall table", () => {
  test.each([
    [AUDIT_ARCH.X86_64, 92, "chown"], [AUDIT_ARCH.X86_64, 260, "fchownat"], [AUDIT_ARCH.X86_64, 188, "setxattr"],
    [AUDIT_ARCH.X86_64, 199, "fremovexattr"], [AUDIT_ARCH.I386, 212, "chown32"], [AUDIT_ARCH.AARCH64, 54, "fchownat"],
    [AUDIT_ARCH.AARCH64, 8, "getxattr"],
  ])("arch %i nr %i is %s", (arch, nr, name) => {
    expect(syscallOf(arch, nr)?.name).toBe(name as TrappedName);
  });
  test("listxattr is not trapped (the kernel hides trusted.* from the list anyway)", () => {
    expect(syscallOf(AUDIT_ARCH.X86_64, 194)).toBeUndefined();
  });
});

describe("chown family (SYSBOX_IGNORE_SYSFS_CHOWN)", () => {
  test("chown of a /sys path is done without the kernel", () => {
    const ev = run("chown", [PATH, 0n, 0n], { path: "/sys/class/net" });
    expect(ev.verdict).toMatchObject({ action: "done", reason: expect.stringContaining("/sys/class/net on sysfs") });
    expect(ev.target).toBe("/sys/class/net");
  });

  test("/sys itself, through a relative path and a symlink into /sys", () => {
    expect(action(run("chown", [PATH, 0n, 0n], { path: "/sys" }))).toBe("done");
    expect(action(run("lchown", [PATH, 0n, 0n], { path: "class", cwd: "/sys" }))).toBe("done");
    expect(action(run("chown", [PATH, 0n, 0n], { path: "/s/x", links: { "/s": "/sys" } }))).toBe("done");
  });

  test("anything outside /sys goes on to the kernel, and so do mounts under /sys that are no sysfs (cgroupfs)", () => {
    expect(action(run("chown", [PATH, 0n, 0n], { path: "/etc/passwd" }))).toBe("continue");
    expect(action(run("chown", [PATH, 0n, 0n], { path: "/sys/fs/cgroup/cpu/tasks" }))).toBe("continue");
    // lchown of a symlink that points into /sys changes the link, not /sys.
    expect(action(run("lchown", [PATH, 0n, 0n], { path: "/s", links: { "/s": "/sys" } }))).toBe("continue");
  });

  test("without CAP_CHOWN the kernel refuses it as it would anyway", () => {
    expect(run("chown", [PATH, 0n, 0n], { path: "/sys", chown: false }).verdict).toMatchObject({ action: "continue", reason: "the caller lacks CAP_CHOWN" });
  });

  test("fchown and fchownat follow the fd", () => {
    expect(action(run("fchown", [3n, 0n, 0n], { fds: { 3: "/sys/class" } }))).toBe("done");
    expect(action(run("fchown", [3n, 0n, 0n], { fds: { 3: "/etc" } }))).toBe("continue");
    expect(action(run("fchown", [9n, 0n, 0n]))).toBe("continue");
    expect(action(run("fchownat", [4n, PATH, 0n, 0n, 0n], { path: "net", fds: { 4: "/sys/class" } }))).toBe("done");
    expect(action(run("fchownat", [4n, PATH, 0n, 0n, AT_EMPTY_PATH], { path: "", fds: { 4: "/sys/class" } }))).toBe("done");
    expect(action(run("fchownat", [AT_FDCWD, PATH, 0n, 0n, 0n], { path: "class", cwd: "/sys" }))).toBe("done");
    expect(action(run("fchownat", [AT_FDCWD, PATH, 0n, 0n, 0n], { path: "/tmp/x" }))).toBe("continue");
  });

  test("an unreadable path goes to the kernel, which reports EFAULT itself", () => {
    expect(action(run("chown", [0x1n, 0n, 0n]))).toBe("continue");
  });

  test("sysbox-fs files bound under /sys count; those elsewhere do not", () => {
    expect(isSysMount({ fsType: "fuse.sysboxfs", mountPoint: "/sys/kernel" })).toBe(true);
    expect(isSysMount({ fsType: "fuse.sysboxfs", mountPoint: "/proc/uptime" })).toBe(false);
    expect(isSysMount({ fsType: "tmpfs", mountPoint: "/sys/firmware" })).toBe(false);
  });
});

describe("xattr family (SYSBOX_ALLOW_TRUSTED_XATTR)", () => {
  test("a trusted.* set by path goes to sysbox-fs with the path as the caller wrote it", () => {
    const ev = run("setxattr", [PATH, NAME, 0x9000n, 1n, 0n], { path: "upper/f", name: "trusted.overlay.opaque" });
    expect(ev.verdict).toEqual({
      action: "xattr", op: "set", name: "trusted.overlay.opaque", target: { path: "upper/f", follow: true }, value: 0x9000n, size: 1, flags: 0,
      reason: "set trusted.overlay.opaque (SYSBOX_ALLOW_TRUSTED_XATTR)",
    });
    expect(ev.readCaller).toBe(true);
  });

  test("the l* calls do not follow, the f* calls name an fd, get and remove too", () => {
    expect(run("lsetxattr", [PATH, NAME, 0n, 0n, 2n], { path: "/l", name: "trusted.x" }).verdict).toMatchObject({ target: { path: "/l", follow: false }, flags: 2 });
    expect(run("fgetxattr", [5n, NAME, 0x9000n, 100n], { name: "trusted.x" }).verdict).toMatchObject({ op: "get", target: { fd: 5 }, size: 100 });
    expect(run("lremovexattr", [PATH, NAME], { path: "/f", name: "trusted.x" }).verdict).toMatchObject({ op: "remove", target: { path: "/f", follow: false } });
  });

  test("any other namespace goes to the kernel", () => {
    for (const name of ["user.x", "security.capability", "system.posix_acl_access", "trustedx"]) {
      expect(action(run("setxattr", [PATH, NAME, 0n, 0n, 0n], { path: "/f", name }))).toBe("continue");
    }
  });

  test("a value above XATTR_SIZE_MAX is E2BIG, as the kernel says", () => {
    expect(run("setxattr", [PATH, NAME, 0n, 65537n, 0n], { path: "/f", name: "trusted.x" }).verdict).toMatchObject({ action: "error", errno: 7 });
  });
});
