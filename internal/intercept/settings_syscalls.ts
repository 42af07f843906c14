/**
 * Syscalls trapped only for containers whose settings ask for them
 * (internal/syscont/settings.ts), per group, with their numbers per arch and
 * their arguments decoded. syscalls.ts folds these into its table; client.ts
 * adds a group's syscalls to the notify filter of such a container only.
 *
 *   group   setting                       syscalls
 *   chown   SYSBOX_IGNORE_SYSFS_CHOWN     chown lchown fchown fchownat (+ the *32 of 32-bit ABIs)
 *   xattr   SYSBOX_ALLOW_TRUSTED_XATTR    {,l,f}setxattr {,l,f}getxattr {,l,f}removexattr
 */

export const TRAP_GROUPS = {
  chown: ["chown", "lchown", "fchown", "fchownat", "chown32", "lchown32", "fchown32"],
  xattr: ["setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr", "removexattr", "lremovexattr", "fremovexattr"],
} as const;
export type TrapGroup = keyof typeof TRAP_GROUPS;
export type SettingsSyscall = (typeof TRAP_GROUPS)[TrapGroup][number];

export function isSettingsSyscall(name: string): name is SettingsSyscall {
  return Object.values(TRAP_GROUPS).some((g) => (g as readonly string[]).includes(name));
}

type Nr = Partial<Record<SettingsSyscall, number>>;
/** The xattr block is consecutive on every arch: set, lset, fset, get, lget, fget, (list x3), remove, lremove, fremove. */
function xattr(first: number): Nr {
  return {
    setxattr: first, lsetxattr: first + 1, fsetxattr: first + 2, getxattr: first + 3, lgetxattr: first + 4, fgetxattr: first + 5,
    removexattr: first + 9, lremovexattr: first + 10, fremovexattr: first + 11,
  };
}

/**
 * By the arch names of syscalls.ts. On 32-bit ABIs chown, lchown and fchown
 * take 16-bit ids and the *32 calls full ones; s390x and the 64-bit ABIs
 * have only full ones; asm-generic (aarch64, riscv64) only fchown and fchownat.
 */
export const SETTINGS_NR: Readonly<Record<string, Nr>> = {
  x86_64: { chown: 92, fchown: 93, lchown: 94, fchownat: 260, ...xattr(188) },
  i386: { lchown: 16, fchown: 95, chown: 182, lchown32: 198, fchown32: 207, chown32: 212, fchownat: 298, ...xattr(226) },
  aarch64: { fchownat: 54, fchown: 55, ...xattr(5) },
  arm: { lchown: 16, fchown: 95, chown: 182, lchown32: 198, fchown32: 207, chown32: 212, fchownat: 325, ...xattr(226) },
  riscv64: { fchownat: 54, fchown: 55, ...xattr(5) },
  ppc64le: { lchown: 16, fchown: 95, chown: 181, fchownat: 289, ...xattr(209) },
  s390x: { lchown: 198, fchown: 207, chown: 212, fchownat: 291, ...xattr(224) },
};

/** A trapped chown or xattr call; pointers stay unread addresses, narrowed per ABI. */
export type SettingsCall =
  | { syscall: "chown" | "lchown" | "chown32" | "lchown32"; path: bigint; follow: boolean }
  | { syscall: "fchown" | "fchown32"; fd: number }
  | { syscall: "fchownat"; dirfd: number; path: bigint; flags: number }
  | {
      syscall: "setxattr" | "lsetxattr" | "getxattr" | "lgetxattr" | "removexattr" | "lremovexattr";
      path: bigint; follow: boolean; name: bigint; value: bigint; size: number; flags: number;
    }
  | { syscall: "fsetxattr" | "fgetxattr" | "fremovexattr"; fd: number; name: bigint; value: bigint; size: number; flags: number };

/** An int argument (fd, flags) as the kernel reads it: the low 32 bits, signed. */
const int = (x: bigint) => Number(BigInt.asIntN(32, x));

/** `args` already narrowed to the ABI's width (syscalls.ts argValue). */
export function decodeSettingsCall(name: SettingsSyscall, args: readonly bigint[]): SettingsCall {
  const a = (i: number) => args[i] ?? 0n;
  switch (name) {
    case "chown": case "chown32": return { syscall: name, path: a(0), follow: true };
    case "lchown": case "lchown32": return { syscall: name, path: a(0), follow: false };
    case "fchown": case "fchown32": return { syscall: name, fd: int(a(0)) };
    case "fchownat": return { syscall: name, dirfd: int(a(0)), path: a(1), flags: int(a(4)) };
    case "fsetxattr": case "fgetxattr": case "fremovexattr":
      return { syscall: name, fd: int(a(0)), name: a(1), value: a(2), size: Number(a(3) & 0xffff_ffffn), flags: int(a(4)) };
    default:
      return {
        syscall: name, path: a(0), follow: !name.startsWith("l"), name: a(1), value: a(2), size: Number(a(3) & 0xffff_ffffn), flags: int(a(4)),
      };
  }
}
