import { describe, expect, test } from "bun:test";
import { SysError } from "../sys/errno.ts";
import type { SeccompNotif } from "../sys/seccomp_notify.ts";
import { evaluate, type CallerIo } from "./evaluate.ts";
import type { ContainerMounts } from "./policy.ts";
import { AUDIT_ARCH, X32_SYSCALL_BIT } from "./syscalls.ts";

const container = {} as ContainerMounts;
const io = (strings: Record<string, string>): CallerIo => ({
  readString: (_pid, addr) => {
    const s = strings[addr.toString(16)];
    if (s === undefined) throw new SysError({ syscall: "process_vm_readv", errno: 14 });
    return s;
  },
  caller: () => { throw new Error("mknod and sysinfo never read the caller's mounts"); },
});
const notif = (arch: number, nr: number, args: bigint[]): SeccompNotif => {
  const a = [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6) as SeccompNotif["data"]["args"];
  return { id: 1n, pid: 42, flags: 0, data: { arch, nr, instructionPointer: 0n, args: a } };
};

describe("evaluate: mknod and sysinfo", () => {
  test("sysinfo on x86_64, x32 and i386 asks for the struct in the caller's layout", () => {
    expect(evaluate(notif(AUDIT_ARCH.X86_64, 99, [0x1000n]), container, io({}))).toEqual({
      verdict: { action: "sysinfo", addr: 0x1000n, arch: "x86_64", reason: "the container's figures" }, syscall: "sysinfo", readCaller: true,
    });
    expect(evaluate(notif(AUDIT_ARCH.X86_64, 99 | X32_SYSCALL_BIT, [0x1000n]), container, io({})).verdict).toMatchObject({ action: "sysinfo", arch: "x32" });
    expect(evaluate(notif(AUDIT_ARCH.I386, 116, [0xffff_ffff_0000_2000n]), container, io({})).verdict).toMatchObject({ action: "sysinfo", addr: 0x2000n, arch: "i386" });
  });
  test("mknod reads the path and asks for a bind of an allow-listed node", () => {
    const ev = evaluate(notif(AUDIT_ARCH.X86_64, 133, [0x7000n, 0o020666n, 0x0105n]), container, io({ "7000": "/tmp/z" }));
    expect(ev).toMatchObject({ verdict: { action: "mknod-bind", path: "/tmp/z", dirfd: -100, node: { name: "zero" } }, syscall: "mknod", target: "/tmp/z" });
    const at = evaluate(notif(AUDIT_ARCH.AARCH64, 33, [3n, 0x7000n, 0o060660n, 0x0800n]), container, io({ "7000": "sda" }));
    expect(at).toMatchObject({ verdict: { action: "continue", reason: "block 8:0 is not allowed" }, syscall: "mknodat", target: "sda" });
  });
  test("an unreadable path goes to the kernel, which reports EFAULT itself", () => {
    expect(evaluate(notif(AUDIT_ARCH.X86_64, 259, [0xffff_ffff_ffff_ff9cn, 0x9000n, 0o020666n, 0x0103n]), container, io({})).verdict)
      .toEqual({ action: "continue", reason: "path argument unreadable: EFAULT" });
  });
});
