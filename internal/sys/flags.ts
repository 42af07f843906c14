/** Name tables for bit-flag families, and one printer for all of them. */

export type FlagTable = Readonly<Record<string, number>>;

/** `formatFlags(MS, MS.BIND | MS.REC)` -> "MS_BIND|MS_REC"; unknown bits print as hex. */
export function formatFlags(table: FlagTable, value: number | bigint, prefix = ""): string {
  let rest = BigInt(value);
  const names: string[] = [];
  for (const [name, bit] of Object.entries(table)) {
    const b = BigInt(bit);
    if (b !== 0n && (rest & b) === b) {
      names.push(prefix + name);
      rest &= ~b;
    }
  }
  if (rest !== 0n) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join("|") : "0";
}

/** mount(2) flags. */
export const MS = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, SYNCHRONOUS: 0x10, REMOUNT: 0x20,
  MANDLOCK: 0x40, DIRSYNC: 0x80, NOSYMFOLLOW: 0x100, NOATIME: 0x400, NODIRATIME: 0x800,
  BIND: 0x1000, MOVE: 0x2000, REC: 0x4000, SILENT: 0x8000, UNBINDABLE: 0x20000,
  PRIVATE: 0x40000, SLAVE: 0x80000, SHARED: 0x100000, RELATIME: 0x200000,
  STRICTATIME: 0x1000000, LAZYTIME: 0x2000000,
} as const;

/** clone(2)/unshare(2)/setns(2) namespace flags. */
export const CLONE = {
  NEWTIME: 0x80, VM: 0x100, FS: 0x200, FILES: 0x400, SIGHAND: 0x800, PIDFD: 0x1000,
  PARENT: 0x8000, THREAD: 0x10000, NEWNS: 0x20000, SYSVSEM: 0x40000,
  NEWCGROUP: 0x02000000, NEWUTS: 0x04000000, NEWIPC: 0x08000000, NEWUSER: 0x10000000,
  NEWPID: 0x20000000, NEWNET: 0x40000000,
} as const;

/** open(2) flags (x86_64 and arm64 share these except O_DIRECTORY/O_NOFOLLOW on arm64; see fs.ts). */
export const O = {
  RDONLY: 0, WRONLY: 1, RDWR: 2, CREAT: 0o100, EXCL: 0o200, NOCTTY: 0o400, TRUNC: 0o1000,
  APPEND: 0o2000, NONBLOCK: 0o4000, DSYNC: 0o10000, DIRECTORY: 0o200000, NOFOLLOW: 0o400000,
  CLOEXEC: 0o2000000, PATH: 0o10000000,
} as const;

/** mount_setattr(2) attributes. */
export const MOUNT_ATTR = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, RELATIME: 0x0, NOATIME: 0x10,
  STRICTATIME: 0x20, NODIRATIME: 0x80, IDMAP: 0x100000, NOSYMFOLLOW: 0x200000,
} as const;

/** umount2(2) flags. */
export const MNT = { FORCE: 1, DETACH: 2, EXPIRE: 4 } as const;
export const UMOUNT_NOFOLLOW = 8;
