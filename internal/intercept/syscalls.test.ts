import { describe, expect, test } from "bun:test";
import { libseccomp, SCMP_ARCH } from "../sys/seccomp.ts";
import { AUDIT_ARCH, X32_SYSCALL_BIT, archNumbers, decodeCall, mountFlags, syscallOf, TRAPPED } from "./syscalls.ts";
import { TRAP_GROUPS } from "./settings_syscalls.ts";

describe("syscallOf", () => {
  test.each([
    [AUDIT_ARCH.X86_64, 165, "mount", "x86_64"],
    [AUDIT_ARCH.X86_64, 166, "umount2", "x86_64"],
    [AUDIT_ARCH.X86_64, 165 | X32_SYSCALL_BIT, "mount", "x32"],
    [AUDIT_ARCH.I386, 22, "umount", "i386"],
    [AUDIT_ARCH.I386, 52, "umount2", "i386"],
    [AUDIT_ARCH.AARCH64, 40, "mount", "aarch64"],
    [AUDIT_ARCH.ARM, 52, "umount2", "arm"],
  ])("arch %i nr %i is %s (%s)", (arch, nr, name, label) => {
    expect(syscallOf(arch, nr)).toMatchObject({ name, arch: label });
  });

  test("other syscalls and arches are not trapped ones", () => {
    expect(syscallOf(AUDIT_ARCH.X86_64, 0)).toBeUndefined();
    expect(syscallOf(AUDIT_ARCH.X86_64, 22)).toBeUndefined();
    expect(syscallOf(0x1234, 165)).toBeUndefined();
  });

  // The kernel reports x32 calls as AUDIT_ARCH_X86_64; libseccomp's x32 token only names the ABI.
  const pairs: Array<[keyof typeof SCMP_ARCH, number, number]> = [
    ["SCMP_ARCH_X86_64", AUDIT_ARCH.X86_64, 0],
    ["SCMP_ARCH_X32", AUDIT_ARCH.X86_64, X32_SYSCALL_BIT],
    ["SCMP_ARCH_X86", AUDIT_ARCH.I386, 0],
    ["SCMP_ARCH_AARCH64", AUDIT_ARCH.AARCH64, 0],
    ["SCMP_ARCH_ARM", AUDIT_ARCH.ARM, 0],
    ["SCMP_ARCH_RISCV64", AUDIT_ARCH.RISCV64, 0],
    ["SCMP_ARCH_PPC64LE", AUDIT_ARCH.PPC64LE, 0],
    ["SCMP_ARCH_S390X", AUDIT_ARCH.S390X, 0],
  ];
  test.skipIf(!libseccomp.available())("the table agrees with libseccomp [requires libseccomp]", () => {
    for (const [key, audit, bit] of pairs) {
      for (const name of TRAPPED) {
        const nr = libseccomp.syscallResolveNameArch(SCMP_ARCH[key].token, name);
        const ours = archNumbers(audit)[name];
        if (nr < 0) expect(ours).toBeUndefined();
        else expect([key, name, (ours ?? -1) | bit]).toEqual([key, name, nr]);
      }
    }
  });
});

describe("the settings' syscalls", () => {
  const names = Object.values(TRAP_GROUPS).flat();
  test.skipIf(!libseccomp.available())("the chown and xattr numbers agree with libseccomp on every arch [requires libseccomp]", () => {
    for (const [key, audit, bit] of [
      ["SCMP_ARCH_X86_64", AUDIT_ARCH.X86_64, 0], ["SCMP_ARCH_X86", AUDIT_ARCH.I386, 0], ["SCMP_ARCH_AARCH64", AUDIT_ARCH.AARCH64, 0],
      ["SCMP_ARCH_ARM", AUDIT_ARCH.ARM, 0], ["SCMP_ARCH_RISCV64", AUDIT_ARCH.RISCV64, 0], ["SCMP_ARCH_PPC64LE", AUDIT_ARCH.PPC64LE, 0],
      ["SCMP_ARCH_S390X", AUDIT_ARCH.S390X, 0],
    ] as const) {
      for (const name of names) {
        const nr = libseccomp.syscallResolveNameArch(SCMP_ARCH[key].token, name);
        const ours = archNumbers(audit)[name];
        if (nr < 0) expect([key, name, ours]).toEqual([key, name, undefined]);
        else expect([key, name, (ours ?? -1) | bit]).toEqual([key, name, nr]);
      }
    }
  });
});

describe("arguments", () => {
  test("mount flags lose the legacy magic and, on narrow ABIs, the upper half", () => {
    expect(mountFlags(0xc0ed0020n, false)).toBe(0x20);
    expect(mountFlags(0xc0ee0020n, false)).toBe(0xc0ee0020);
    expect(mountFlags(0xffffffff00001020n, true)).toBe(0x1020);
  });

  test("decodeCall picks the path and flags arguments per syscall", () => {
    const args = [1n, 2n, 3n, 0x21n, 5n, 6n];
    expect(decodeCall({ name: "mount", arch: "x86_64", narrow: false }, args)).toEqual({ syscall: "mount", source: 1n, target: 2n, fstype: 3n, flags: 0x21, data: 5n });
    expect(decodeCall({ name: "umount2", arch: "x86_64", narrow: false }, [7n, 2n])).toEqual({ syscall: "umount2", target: 7n, flags: 2 });
    expect(decodeCall({ name: "umount", arch: "i386", narrow: true }, [0xffffffff00000007n])).toEqual({ syscall: "umount", target: 7n, flags: 0 });
  });
});
