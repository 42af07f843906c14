/**
 * The single `dlopen` table for libc, plus the helper every wrapper uses to
 * turn a -1 return into a `SysError` (errno read on the same thread, at once)
 * and to retry EINTR. Family files (fs.ts, mount.ts, proc.ts, socket.ts, ...)
 * build on `libc`.
 */
import { dlopen, read, type Pointer } from "bun:ffi";
import { SysError, type SysErrorInfo } from "./errno.ts";

const EINTR = 4;

export const libc = dlopen("libc.so.6", {
  __errno_location: { args: [], returns: "ptr" },
  syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: "i64" },
  // files
  open: { args: ["ptr", "i32", "u32"], returns: "i32" },
  openat: { args: ["i32", "ptr", "i32", "u32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  read: { args: ["i32", "ptr", "u64"], returns: "i64" },
  write: { args: ["i32", "ptr", "u64"], returns: "i64" },
  pipe2: { args: ["ptr", "i32"], returns: "i32" },
  dup3: { args: ["i32", "i32", "i32"], returns: "i32" },
  fcntl: { args: ["i32", "i32", "i64"], returns: "i32" },
  flock: { args: ["i32", "i32"], returns: "i32" },
  ioctl: { args: ["i32", "u64", "ptr"], returns: "i32" },
  pread: { args: ["i32", "ptr", "u64", "i64"], returns: "i64" },
  pwrite: { args: ["i32", "ptr", "u64", "i64"], returns: "i64" },
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  mknod: { args: ["ptr", "u32", "u64"], returns: "i32" },
  mkfifo: { args: ["ptr", "u32"], returns: "i32" },
  symlink: { args: ["ptr", "ptr"], returns: "i32" },
  readlink: { args: ["ptr", "ptr", "u64"], returns: "i64" },
  chown: { args: ["ptr", "u32", "u32"], returns: "i32" },
  lchown: { args: ["ptr", "u32", "u32"], returns: "i32" },
  fchown: { args: ["i32", "u32", "u32"], returns: "i32" },
  chmod: { args: ["ptr", "u32"], returns: "i32" },
  umask: { args: ["u32"], returns: "u32" },
  chdir: { args: ["ptr"], returns: "i32" },
  fchdir: { args: ["i32"], returns: "i32" },
  chroot: { args: ["ptr"], returns: "i32" },
  // mounts
  mount: { args: ["ptr", "ptr", "ptr", "u64", "ptr"], returns: "i32" },
  umount2: { args: ["ptr", "i32"], returns: "i32" },
  // namespaces and identity
  unshare: { args: ["i32"], returns: "i32" },
  setns: { args: ["i32", "i32"], returns: "i32" },
  sethostname: { args: ["ptr", "u64"], returns: "i32" },
  setdomainname: { args: ["ptr", "u64"], returns: "i32" },
  getpid: { args: [], returns: "i32" },
  sysinfo: { args: ["ptr"], returns: "i32" },
  getppid: { args: [], returns: "i32" },
  getuid: { args: [], returns: "u32" },
  setsid: { args: [], returns: "i32" },
  // processes
  kill: { args: ["i32", "i32"], returns: "i32" },
  waitpid: { args: ["i32", "ptr", "i32"], returns: "i32" },
  execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
  prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
  prlimit64: { args: ["i32", "i32", "ptr", "ptr"], returns: "i32" },
  process_vm_readv: { args: ["i32", "ptr", "u64", "ptr", "u64", "u64"], returns: "i64" },
  process_vm_writev: { args: ["i32", "ptr", "u64", "ptr", "u64", "u64"], returns: "i64" },
  // sockets
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  socketpair: { args: ["i32", "i32", "i32", "ptr"], returns: "i32" },
  connect: { args: ["i32", "ptr", "u32"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  listen: { args: ["i32", "i32"], returns: "i32" },
  accept4: { args: ["i32", "ptr", "ptr", "i32"], returns: "i32" },
  sendmsg: { args: ["i32", "ptr", "i32"], returns: "i64" },
  recvmsg: { args: ["i32", "ptr", "i32"], returns: "i64" },
  setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
  // ptys
  posix_openpt: { args: ["i32"], returns: "i32" },
  grantpt: { args: ["i32"], returns: "i32" },
  unlockpt: { args: ["i32"], returns: "i32" },
  ptsname_r: { args: ["i32", "ptr", "u64"], returns: "i32" },
});

/** The calling thread's errno. Must be read right after the failing call. */
export function errno(): number {
  return read.i32(libc.symbols.__errno_location() as Pointer, 0);
}

/** Address of libc's `syscall()`, handed to the C stages of internal/ns (see cstage.ts). */
export const syscallPtr: number = (libc.symbols.syscall as unknown as { ptr: number }).ptr;

type Ctx = Omit<SysErrorInfo, "errno">;

/**
 * Runs `fn` until it stops failing with EINTR; a negative result throws a
 * `SysError` built from `ctx`. Returns the (non-negative) result.
 */
export function check<T extends number | bigint>(ctx: Ctx, fn: () => T): T {
  for (;;) {
    const r = fn();
    if (r >= 0) return r;
    const e = errno();
    if (e === EINTR) continue;
    throw new SysError({ ...ctx, errno: e });
  }
}

/** Like `check` for raw `syscall(2)`: numbers travel as bigint. */
export function rawSyscall(name: string, nr: number, args: Array<number | bigint>, path?: string): bigint {
  const a = [0, 1, 2, 3, 4, 5].map((i) => BigInt(args[i] ?? 0));
  return check({ syscall: name, ...(path !== undefined ? { path } : {}) }, () =>
    libc.symbols.syscall(BigInt(nr), a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!),
  );
}
