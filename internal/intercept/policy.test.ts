import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SysError } from "../sys/errno.ts";
import type { SeccompNotif } from "../sys/seccomp_notify.ts";
import { initialMounts } from "./client.ts";
import { evaluate, type CallerIo, type CallerView } from "./evaluate.ts";
import { isNewMount, mountAttrOf, parseMountData, readOnlyOrigin, type ContainerMounts, type Verdict } from "./policy.ts";
import { describeContainer } from "./registry.ts";
import { AUDIT_ARCH, archNumbers, type TrappedName } from "./syscalls.ts";
import { MountView } from "./view.ts";

const data = (name: string) => readFileSync(join(import.meta.dir, "testdata", name), "utf8");
const SYSCONT = data("mountinfo-syscont.txt");
const NS = "4:4026532000";
const OTHER_NS = "4:4026539999";

const MS = { RDONLY: 0x1, NOSUID: 0x2, REMOUNT: 0x20, BIND: 0x1000, REC: 0x4000, PRIVATE: 0x40000 };
const MS_MGC_VAL = 0xc0ed0000;
const UMOUNT_NOFOLLOW = 8;
const MNT_DETACH = 2;

/** The container of the recorded files, registered as the runtime would. */
const container: ContainerMounts = describeContainer("c1", MountView.parse(SYSCONT), { mounts: initialMounts(SYSCONT), mountNs: NS });

interface Caller {
  mountinfo?: string;
  mountNs?: string;
  cwd?: string | null;
  links?: Record<string, string>;
  fds?: Record<number, string>;
  /** Paths that must never be looked up (they sit on a filesystem the container may stall). */
  forbidden?: string[];
}

const TARGET = 0x7000n;

function run(name: TrappedName, target: string, flags: number, caller: Caller = {}) {
  const nr = archNumbers(AUDIT_ARCH.X86_64)[name]!;
  const args: SeccompNotif["data"]["args"] =
    name === "mount" ? [0x6000n, TARGET, 0n, BigInt(flags), 0n, 0n] : [TARGET, BigInt(flags), 0n, 0n, 0n, 0n];
  const notif: SeccompNotif = { id: 1n, pid: 4242, flags: 0, data: { nr, arch: AUDIT_ARCH.X86_64, instructionPointer: 0n, args } };
  const looked: string[] = [];
  const io: CallerIo = {
    readString(_pid, addr) {
      if (addr !== TARGET) throw new SysError({ syscall: "process_vm_readv", errno: 14 });
      return target;
    },
    caller(): CallerView {
      return {
        view: MountView.parse(caller.mountinfo ?? SYSCONT),
        mountNs: caller.mountNs ?? NS,
        cwd: caller.cwd === undefined ? "/" : caller.cwd,
        readlink(p) {
          looked.push(p);
          return caller.links?.[p] ?? null;
        },
        fdPath: (fd) => caller.fds?.[fd] ?? null,
      };
    },
  };
  const ev = evaluate(notif, container, io);
  for (const p of caller.forbidden ?? []) expect(looked.filter((l) => l.startsWith(p))).toEqual([]);
  return { ...ev, looked };
}

function answer(ev: { verdict: Verdict }): string {
  const v = ev.verdict;
  if (v.action === "continue") return "CONTINUE";
  if (v.action === "mount-fs") return `MOUNT_FS ${v.fstype}`;
  if (v.action === "umount-submounts") return `UMOUNT_SUBMOUNTS ${v.paths.join(" ")}`;
  if (v.action === "done") return "DONE";
  if (v.action === "xattr") return `XATTR ${v.op} ${v.name}`;
  if (v.action !== "error") return v.action.toUpperCase();
  return v.errno === 1 ? "EPERM" : v.errno === 16 ? "EBUSY" : `errno ${v.errno}`;
}

describe("registration from the init's mountinfo", () => {
  test("root, /proc, /sys and every read-only mount", () => {
    expect(initialMounts(SYSCONT)).toEqual({ root: 51, proc: 52, sys: 58, readonly: [58, 110, 127, 130, 131, 132, 133] });
  });
});

describe("mount in the container's own mount namespace", () => {
  test.each([
    ["remount,bind,rw of a read-only volume", "/data/ro", MS.REMOUNT | MS.BIND, "EPERM"],
    ["remount,rw of a read-only volume", "/data/ro", MS.REMOUNT, "EPERM"],
    ["legacy MS_MGC_VAL|MS_REMOUNT", "/data/ro", MS_MGC_VAL | MS.REMOUNT, "EPERM"],
    ["remount,rw of read-only /sys", "/sys", MS.REMOUNT | MS.NOSUID, "EPERM"],
    ["remount,bind,rw of /proc/bus", "/proc/bus", MS.REMOUNT | MS.BIND, "EPERM"],
    ["remount,bind,ro of a read-only volume", "/data/ro", MS.REMOUNT | MS.BIND | MS.RDONLY, "CONTINUE"],
    ["remount,rw of a read-write mount", "/var/lib/docker", MS.REMOUNT | MS.BIND, "CONTINUE"],
    ["remount of a directory that is no mount point", "/data", MS.REMOUNT, "CONTINUE"],
    ["remount of a path inside a read-only mount", "/data/ro/sub", MS.REMOUNT | MS.BIND, "CONTINUE"],
    ["a new tmpfs", "/mnt", 0, "CONTINUE"],
    ["a bind mount", "/mnt", MS.BIND | MS.REC, "CONTINUE"],
    ["a propagation change", "/data/ro", MS.PRIVATE, "CONTINUE"],
    ["dots and slashes", "//data/./x/../ro/", MS.REMOUNT | MS.BIND, "EPERM"],
    ["dot-dot above the root", "/../../data/ro", MS.REMOUNT | MS.BIND, "EPERM"],
  ])("%s: %s -> %s", (_what, target, flags, want) => {
    expect(answer(run("mount", target, flags))).toBe(want);
  });

  test("a remount that cannot make anything writable is decided without reading the caller", () => {
    const ev = run("mount", "/data/ro", MS.REMOUNT | MS.BIND | MS.RDONLY);
    expect(ev.readCaller).toBe(false);
    expect(run("mount", "/mnt", 0).readCaller).toBe(false);
  });

  test("relative paths start at the caller's cwd", () => {
    expect(answer(run("mount", "ro", MS.REMOUNT | MS.BIND, { cwd: "/data" }))).toBe("EPERM");
    expect(answer(run("mount", "../data/ro", MS.REMOUNT | MS.BIND, { cwd: "/etc" }))).toBe("EPERM");
  });

  test("a relative path with the cwd outside the root cannot be checked: EPERM", () => {
    const ev = run("mount", "ro", MS.REMOUNT | MS.BIND, { cwd: null });
    expect(answer(ev)).toBe("EPERM");
    expect(ev.verdict.reason).toContain("cwd");
  });

  test("symlinks are followed to the mount they name", () => {
    const links = { "/l1": "/data/ro", "/tmp/rel": "../data/ro", "/a": "/b", "/b": "data" };
    expect(answer(run("mount", "/l1", MS.REMOUNT | MS.BIND, { links }))).toBe("EPERM");
    expect(answer(run("mount", "/tmp/rel", MS.REMOUNT | MS.BIND, { links }))).toBe("EPERM");
    expect(answer(run("mount", "/a/ro", MS.REMOUNT | MS.BIND, { links }))).toBe("EPERM");
  });

  test("a symlink loop cannot be checked: EPERM", () => {
    const ev = run("mount", "/x", MS.REMOUNT | MS.BIND, { links: { "/x": "/y", "/y": "/x" } });
    expect(answer(ev)).toBe("EPERM");
    expect(ev.verdict.reason).toContain("symbolic links");
  });

  test("the caller's own /proc/self magic links are followed", () => {
    const fds = { 3: "/data/ro", 4: "/var/lib/docker" };
    expect(answer(run("mount", "/proc/self/root/data/ro", MS.REMOUNT | MS.BIND))).toBe("EPERM");
    expect(answer(run("mount", "/proc/thread-self/root/data/ro", MS.REMOUNT | MS.BIND))).toBe("EPERM");
    expect(answer(run("mount", "/proc/self/cwd", MS.REMOUNT | MS.BIND, { cwd: "/data/ro" }))).toBe("EPERM");
    expect(answer(run("mount", "/proc/self/fd/3", MS.REMOUNT | MS.BIND, { fds }))).toBe("EPERM");
    expect(answer(run("mount", "/proc/self/fd/4", MS.REMOUNT | MS.BIND, { fds }))).toBe("CONTINUE");
  });

  test("another process's magic links cannot be checked: EPERM for a read-write remount", () => {
    const ev = run("mount", "/proc/1/root/data/ro", MS.REMOUNT | MS.BIND);
    expect(answer(ev)).toBe("EPERM");
    expect(ev.verdict.reason).toContain("magic link");
    expect(answer(run("mount", "/proc/1/fd/3", MS.REMOUNT | MS.BIND))).toBe("EPERM");
  });

  test("procfs files are never read as symlinks from outside", () => {
    const ev = run("mount", "/proc/self/mounts", MS.REMOUNT | MS.BIND, { forbidden: ["/proc"] });
    expect(answer(ev)).toBe("CONTINUE");
  });
});

describe("umount in the container's own mount namespace", () => {
  test.each([
    ["umount2", "/proc", 0, "EBUSY"],
    ["umount2", "/proc", MNT_DETACH, "EBUSY"],
    ["umount2", "/sys", 0, "EBUSY"],
    ["umount2", "/", MNT_DETACH, "EBUSY"],
    ["umount", "/proc", 0, "EBUSY"],
    ["umount2", "/proc/acpi", 0, "EBUSY"],
    ["umount2", "/proc/keys", MNT_DETACH, "EBUSY"],
    ["umount2", "/sys/fs/cgroup", MNT_DETACH, "EBUSY"],
    ["umount2", "/sys/fs/cgroup/memory", 0, "EBUSY"],
    ["umount2", "/data/ro", 0, "CONTINUE"],
    ["umount2", "/etc/hosts", 0, "CONTINUE"],
    ["umount2", "/etc", 0, "CONTINUE"],
  ] as const)("%s %s (flags %d) -> %s", (name, target, flags, want) => {
    expect(answer(run(name, target, flags))).toBe(want);
  });

  test("a mount stacked over /proc, or made under it later, can be unmounted", () => {
    const over = `${SYSCONT.trimEnd()}\n300 52 0:99 / /proc rw,relatime - tmpfs tmpfs rw\n`;
    expect(answer(run("umount2", "/proc", 0, { mountinfo: over }))).toBe("CONTINUE");
    const under = `${SYSCONT.trimEnd()}\n301 52 0:99 / /proc/sys/fs/binfmt_misc rw,relatime - binfmt_misc binfmt_misc rw\n`;
    expect(answer(run("umount2", "/proc/sys/fs/binfmt_misc", 0, { mountinfo: under }))).toBe("CONTINUE");
  });

  test("the refusal names what the mount is", () => {
    expect(run("umount2", "/proc/keys", 0).verdict.reason).toBe("a mount of the container's /proc at /proc/keys (mount 128 at /proc/keys)");
    expect(run("umount2", "/", MNT_DETACH).verdict.reason).toBe("the container's root (mount 51 at /)");
  });

  test("UMOUNT_NOFOLLOW does not follow a symlink in the last component", () => {
    const links = { "/p": "/proc" };
    expect(answer(run("umount2", "/p", 0, { links }))).toBe("EBUSY");
    expect(answer(run("umount2", "/p", UMOUNT_NOFOLLOW, { links }))).toBe("CONTINUE");
    expect(answer(run("umount2", "/p/", UMOUNT_NOFOLLOW, { links }))).toBe("EBUSY");
  });

  test("an unresolvable path is left to the kernel", () => {
    expect(answer(run("umount2", "/proc/1/root/proc", 0))).toBe("CONTINUE");
  });
});

describe("filesystems the container may stall are never looked up", () => {
  const withFuse = `${SYSCONT.trimEnd()}\n301 51 0:98 / /mnt/fuse rw,nosuid,nodev - fuse.sshfs remote:/ rw\n302 301 0:97 / /mnt/fuse/dir/tmp rw - tmpfs tmpfs rw\n`;

  test("a symlink inside a FUSE mount is taken as a plain directory", () => {
    const ev = run("mount", "/mnt/fuse/link", MS.REMOUNT | MS.BIND, { mountinfo: withFuse, links: { "/mnt/fuse/link": "/data/ro" }, forbidden: ["/mnt/fuse"] });
    expect(answer(ev)).toBe("CONTINUE");
  });

  test("nor anything under it, even on another filesystem", () => {
    const ev = run("mount", "/mnt/fuse/dir/tmp/x", MS.REMOUNT, { mountinfo: withFuse, forbidden: ["/mnt/fuse"] });
    expect(ev.looked).toEqual(["/mnt"]);
    expect(answer(ev)).toBe("CONTINUE");
  });

  test("mount points under it are still found from mountinfo", () => {
    expect(run("mount", "/mnt/fuse/dir/tmp", MS.REMOUNT, { mountinfo: withFuse, forbidden: ["/mnt/fuse"] }).verdict.reason)
      .toBe("not an immutable read-only mount");
  });
});

describe("other mount namespaces hold copies with new ids", () => {
  const unshare = { mountinfo: data("mountinfo-unshare-bind.txt"), mountNs: OTHER_NS };
  const pivot = { mountinfo: data("mountinfo-pivot.txt"), mountNs: OTHER_NS };

  test.each([
    ["unshare -m: the copy of the read-only volume", unshare, "/data/ro", "EPERM"],
    ["unshare -m: a new bind of it", unshare, "/mnt", "EPERM"],
    ["unshare -m: the copy of read-only /sys", unshare, "/sys", "EPERM"],
    ["unshare -m: a read-write copy", unshare, "/var/lib/docker", "CONTINUE"],
    ["pivot_root: the bind of the read-only volume", pivot, "/ro", "EPERM"],
    ["pivot_root: the new tmpfs root", pivot, "/", "CONTINUE"],
    ["pivot_root: /proc/bus copy", pivot, "/proc/bus", "EPERM"],
  ] as const)("remount rw, %s -> %s", (_what, caller, target, want) => {
    expect(answer(run("mount", target, MS.REMOUNT | MS.BIND, caller))).toBe(want);
  });

  test.each([
    ["unshare -m", unshare, "/proc"],
    ["unshare -m", unshare, "/sys"],
    ["unshare -m", unshare, "/"],
    ["pivot_root", pivot, "/proc"],
    ["pivot_root", pivot, "/sys"],
  ] as const)("%s: copies of / /proc /sys may be unmounted (%s)", (_what, caller, target) => {
    expect(answer(run("umount2", target, MNT_DETACH, caller))).toBe("CONTINUE");
  });
});

describe("chroot in the container's mount namespace", () => {
  const chroot = { mountinfo: data("mountinfo-chroot.txt") };

  test("a bind of the read-only volume inside the chroot is a read-only copy", () => {
    expect(answer(run("mount", "/x", MS.REMOUNT | MS.BIND, chroot))).toBe("EPERM");
  });

  test("the chroot's root is no mount root; its /proc is a copy", () => {
    expect(answer(run("mount", "/", MS.REMOUNT, chroot))).toBe("CONTINUE");
    expect(answer(run("umount2", "/proc", MNT_DETACH, chroot))).toBe("CONTINUE");
  });
});

describe("readOnlyOrigin", () => {
  const c = (initial: Array<[string, string, boolean]>): ContainerMounts => ({
    containerId: "c", mountNs: NS, rootId: 1, readonlyIds: new Set(), pinned: new Map(),
    initial: initial.map(([majorMinor, root, readonly], i) => ({ id: i + 1, majorMinor, root, mountPoint: `/m${i}`, fsType: "ext4", readonly })),
  });

  test("the closest initial mount of the same device decides", () => {
    const ctr = c([["8:1", "/", true], ["8:1", "/srv/rw", false]]);
    expect(readOnlyOrigin({ majorMinor: "8:1", root: "/etc" }, ctr)?.id).toBe(1);
    expect(readOnlyOrigin({ majorMinor: "8:1", root: "/srv/rw/x" }, ctr)).toBeUndefined();
    expect(readOnlyOrigin({ majorMinor: "8:2", root: "/etc" }, ctr)).toBeUndefined();
  });

  test("a read-write mount of the same root wins a tie; prefixes match whole components", () => {
    expect(readOnlyOrigin({ majorMinor: "8:1", root: "/a" }, c([["8:1", "/a", true], ["8:1", "/a", false]]))).toBeUndefined();
    expect(readOnlyOrigin({ majorMinor: "8:1", root: "/ab" }, c([["8:1", "/a", true]]))).toBeUndefined();
  });
});

describe("new proc and sysfs mounts, and their umount", () => {
  const FSTYPE = 0x6100n;
  const DATA = 0x6200n;
  function runNew(fstype: string, target: string, flags: number, data?: string) {
    const nr = archNumbers(AUDIT_ARCH.X86_64).mount!;
    const args: SeccompNotif["data"]["args"] = [0x6000n, TARGET, FSTYPE, BigInt(flags), data === undefined ? 0n : DATA, 0n];
    const notif: SeccompNotif = { id: 1n, pid: 4242, flags: 0, data: { nr, arch: AUDIT_ARCH.X86_64, instructionPointer: 0n, args } };
    const read: bigint[] = [];
    const io: CallerIo = {
      readString(_pid, addr) {
        read.push(addr);
        if (addr === TARGET) return target;
        if (addr === FSTYPE) return fstype;
        if (addr === DATA && data !== undefined) return data;
        throw new SysError({ syscall: "process_vm_readv", errno: 14 });
      },
      caller: () => ({ view: MountView.parse(SYSCONT), mountNs: NS, cwd: "/", readlink: () => null, fdPath: () => null }),
    };
    return { ...evaluate(notif, container, io), read };
  }

  test("a new proc or sysfs is mounted by sysbox-fs, with the flags and options as fsmount(2) takes them", () => {
    const ev = runNew("proc", "/proc/self/fd/7", 0x2 | 0x4 | 0x8 | 0x8000, "hidepid=2,subset=pid");
    expect(ev.verdict).toMatchObject({ action: "mount-fs", fstype: "proc", target: "/proc/self/fd/7", attr: 0x2 | 0x4 | 0x8 });
    expect(ev.verdict.action === "mount-fs" && ev.verdict.options).toEqual([["hidepid", "2"], ["subset", "pid"]]);
    expect(ev.readCaller).toBe(true);
    const sys = runNew("sysfs", "/sys", MS.RDONLY | MS.NOSUID);
    expect(sys.verdict).toMatchObject({ action: "mount-fs", fstype: "sysfs", attr: 0x1 | 0x2, options: [] });
  });

  test("other filesystems go to the kernel after reading only the fstype", () => {
    const ev = runNew("tmpfs", "/mnt", 0, "size=1m");
    expect(answer(ev)).toBe("CONTINUE");
    expect(ev.read).toEqual([FSTYPE]);
  });

  test("a flag fsmount(2) cannot express leaves the mount to the kernel, not virtualized", () => {
    const ev = runNew("proc", "/mnt", 0x10 /* MS_SYNCHRONOUS */);
    expect(answer(ev)).toBe("CONTINUE");
    expect(ev.verdict.reason).toContain("not virtualized");
  });

  test("remounts, binds and moves of a proc are not new mounts", () => {
    for (const flags of [MS.REMOUNT, MS.BIND, 0x2000 /* MS_MOVE */, MS.PRIVATE]) {
      expect(answer(runNew("proc", "/proc", flags)).startsWith("MOUNT_FS")).toBe(false);
    }
  });

  test("unreadable strings leave the call to the kernel", () => {
    const ev = runNew("proc", "/mnt", 0, undefined);
    expect(ev.verdict.action).toBe("mount-fs");
    const nr = archNumbers(AUDIT_ARCH.X86_64).mount!;
    const notif: SeccompNotif = { id: 1n, pid: 4242, flags: 0, data: { nr, arch: AUDIT_ARCH.X86_64, instructionPointer: 0n, args: [0n, TARGET, FSTYPE, 0n, 0n, 0n] } };
    const io: CallerIo = { readString: () => { throw new SysError({ syscall: "process_vm_readv", errno: 14 }); }, caller: () => { throw new Error("unused"); } };
    expect(answer(evaluate(notif, container, io))).toBe("CONTINUE");
  });

  // A caller's view with a proc at /mnt/p carrying sysbox-fs binds (and one with a tmpfs too).
  const base = SYSCONT.trimEnd().split("\n");
  const rootId = container.rootId;
  const withProc = (extra: string[]) => [...base, `900 ${rootId} 0:99 / /mnt/p rw,nosuid,nodev,noexec,relatime - proc proc rw`, ...extra].join("\n") + "\n";
  const fuse = (id: number, path: string) => `${id} 900 0:43 /proc/${path} /mnt/p/${path} rw,nosuid,nodev,noexec,relatime - fuse.sysboxfs sysboxfs rw,user_id=0,group_id=0,default_permissions,allow_other`;

  test("umount of a proc whose submounts are all sysbox-fs binds detaches them first", () => {
    const mountinfo = withProc([fuse(901, "uptime"), fuse(902, "sys")]);
    const ev = run("umount2", "/mnt/p", 0, { mountinfo });
    expect(answer(ev)).toBe("UMOUNT_SUBMOUNTS /mnt/p/uptime /mnt/p/sys");
  });

  test("umount of a proc with a submount of the caller's own goes to the kernel (which says EBUSY)", () => {
    const mountinfo = withProc([fuse(901, "uptime"), `903 900 0:77 / /mnt/p/sys rw - tmpfs tmpfs rw`]);
    expect(answer(run("umount2", "/mnt/p", 0, { mountinfo }))).toBe("CONTINUE");
    expect(answer(run("umount2", "/mnt/p", 0, { mountinfo: withProc([]) }))).toBe("CONTINUE");
  });

  test("the container's own /proc stays pinned", () => {
    expect(answer(run("umount2", "/proc", MNT_DETACH))).toBe("EBUSY");
  });
});

describe("mount flags and data for fsmount(2)", () => {
  test("MS_* to MOUNT_ATTR_*", () => {
    expect(mountAttrOf(0)).toBe(0);
    expect(mountAttrOf(0x1 | 0x2 | 0x4 | 0x8)).toBe(0x1 | 0x2 | 0x4 | 0x8);
    expect(mountAttrOf(0x400 | 0x800)).toBe(0x10 | 0x80);
    expect(mountAttrOf(0x100_0000)).toBe(0x20);
    expect(mountAttrOf(0x20_0000 | 0x8000 | 0x4000)).toBe(0);
    expect(mountAttrOf(0x10)).toBeUndefined();
    expect(mountAttrOf(0x200_0000)).toBeUndefined();
  });

  test("data strings", () => {
    expect(parseMountData("")).toEqual([]);
    expect(parseMountData("ro")).toEqual([["ro", null]]);
    expect(parseMountData("hidepid=invisible,,gid=5")).toEqual([["hidepid", "invisible"], ["gid", "5"]]);
    expect(parseMountData("a=b=c")).toEqual([["a", "b=c"]]);
  });

  test("isNewMount", () => {
    expect(isNewMount(0)).toBe(true);
    expect(isNewMount(MS.NOSUID | MS.RDONLY)).toBe(true);
    for (const f of [MS.REMOUNT, MS.BIND, 0x2000, MS.PRIVATE, 0x20000, 0x80000, 0x100000]) expect(isNewMount(f)).toBe(false);
  });
});
