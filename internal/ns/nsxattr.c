/*
 * A trusted.* extended attribute set, read or removed on a container
 * process's behalf, for sysbox-fs's SYSBOX_ALLOW_TRUSTED_XATTR. Compiled at
 * run time by TinyCC with -nostdlib like nsmount.c, and run in a child of
 * the notify thread, so a lookup that hangs in a FUSE server of the
 * container's holds only the child, which the caller's timeout kills. It
 * stays in the host's namespaces as host root: the kernel allows trusted.*
 * only to CAP_SYS_ADMIN of the initial user namespace.
 *
 *   caller (JS)             child
 *   nsxattr_run() -clone->  target: target_fd, or path opened with
 *                             openat2(root_fd, RESOLVE_IN_ROOT) (O_NOFOLLOW
 *                             for the l* calls): never outside the caller's root
 *                           statx: the owner must be one of the caller's
 *                             user namespace's host ids
 *                           {set,get,remove}xattr on /proc/self/fd/N
 *                           get: ID_VALID on the notify fd, then
 *                             process_vm_writev into the caller's buffer
 *   <-- RESULT on result_fd (three int32s: step, errno, value; step 0 = done)
 *
 * Argument layout: struct nsxattr_args below, 8-byte slots.
 */

typedef long (*syscall_fn)(long, ...);

enum { OP_SET = 1, OP_GET = 2, OP_REMOVE = 3 };

enum { STEP_DONE = 0, STEP_TARGET = 1, STEP_STATX = 2, STEP_OWNER = 3, STEP_OP = 4, STEP_GONE = 5, STEP_WRITE = 6 };

struct nr_table { long clone, exit_group, write, openat2, setxattr, getxattr, removexattr, statx, ioctl, process_vm_writev; };

struct nsxattr_args {
  long syscall_ptr;      /*   0 */
  long result_fd;        /*   8 */
  long root_fd;          /*  16: the caller's root, for path */
  long path;             /*  24: char* in the caller's root, or 0: target_fd */
  long target_fd;        /*  32: O_PATH fd of the file */
  long nofollow;         /*  40 */
  long op;               /*  48 */
  long name;             /*  56: char* */
  long value;            /*  64: set: the value; get: a local buffer of size bytes */
  long size;             /*  72 */
  long flags;            /*  80: XATTR_CREATE / XATTR_REPLACE */
  long pid;              /*  88: get: the caller's tid */
  long remote;           /*  96: get: its buffer */
  long notify_fd;        /* 104 */
  long notif_id;         /* 112 */
  long id_valid_ioctl;   /* 120 */
  long nr_ranges;        /* 128: at most 5 */
  long range_first[5];   /* 136 */
  long range_size[5];    /* 176 */
  struct nr_table nr;    /* 216 */
};

struct open_how { unsigned long long flags, mode, resolve; };
struct iovec { long base, len; };

#define SIGCHLD 17
#define O_PATH 010000000
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000
#define RESOLVE_IN_ROOT 0x10
#define AT_EMPTY_PATH 0x1000
#define AT_SYMLINK_NOFOLLOW 0x100
#define STATX_UID 0x8
#define EPERM 1
#define EFAULT 14

static long result(struct nsxattr_args *a, int step, int err, int value) {
  syscall_fn sys = (syscall_fn)a->syscall_ptr;
  int buf[3];
  buf[0] = step; buf[1] = err; buf[2] = value;
  sys(a->nr.write, a->result_fd, (long)buf, 12L);
  sys(a->nr.exit_group, step == STEP_DONE ? 0L : 1L);
  return 0;
}

static void work(struct nsxattr_args *a, int *errno_loc) {
  syscall_fn sys = (syscall_fn)a->syscall_ptr;
  long fd = a->target_fd, r, i, n;
  unsigned int uid;
  int owned = 0;
  /* No initialized arrays: TinyCC would call memset, and there is no libc. */
  char proc[40];
  char digits[20];
  const char *prefix = "/proc/self/fd/";
  unsigned char stx[256];
  struct open_how how;
  struct iovec local, remote;
  unsigned long long id = (unsigned long long)a->notif_id;

  if (a->path) {
    how.flags = O_PATH | O_CLOEXEC | (a->nofollow ? O_NOFOLLOW : 0); how.mode = 0; how.resolve = RESOLVE_IN_ROOT;
    fd = sys(a->nr.openat2, a->root_fd, a->path, (long)&how, (long)sizeof(how));
    if (fd < 0) result(a, STEP_TARGET, *errno_loc, 0);
  }
  if (sys(a->nr.statx, fd, (long)"", (long)(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), (long)STATX_UID, (long)stx) < 0)
    result(a, STEP_STATX, *errno_loc, 0);
  uid = *(unsigned int *)(stx + 20);
  for (i = 0; i < a->nr_ranges && i < 5; i++)
    if (uid >= (unsigned long)a->range_first[i] && uid - (unsigned long)a->range_first[i] < (unsigned long)a->range_size[i]) owned = 1;
  if (!owned) result(a, STEP_OWNER, EPERM, 0);

  /* "/proc/self/fd/N": the file the fd holds, its symlink included, with no path walk. */
  for (i = 0; i < 14; i++) proc[i] = prefix[i];
  n = 0;
  r = fd;
  do { digits[n++] = (char)('0' + r % 10); r /= 10; } while (r > 0);
  for (i = 0; i < n; i++) proc[14 + i] = digits[n - 1 - i];
  proc[14 + n] = 0;

  if (a->op == OP_SET) r = sys(a->nr.setxattr, (long)proc, a->name, a->value, a->size, a->flags);
  else if (a->op == OP_GET) r = sys(a->nr.getxattr, (long)proc, a->name, a->value, a->size);
  else r = sys(a->nr.removexattr, (long)proc, a->name);
  if (r < 0) result(a, STEP_OP, *errno_loc, 0);
  if (a->op == OP_GET && a->size > 0 && r > 0) {
    /* The caller still waits in this very call: its pid was not reused. */
    if (sys(a->nr.ioctl, a->notify_fd, a->id_valid_ioctl, (long)&id) < 0) result(a, STEP_GONE, *errno_loc, 0);
    local.base = a->value; local.len = r;
    remote.base = a->remote; remote.len = r;
    if (sys(a->nr.process_vm_writev, a->pid, (long)&local, 1L, (long)&remote, 1L, 0L) != r)
      result(a, STEP_WRITE, *errno_loc ? *errno_loc : EFAULT, 0);
  }
  result(a, STEP_DONE, 0, (int)r);
}

/* Returns the child's pid, or -errno if it could not be started. */
long nsxattr_run(struct nsxattr_args *a, int *errno_loc) {
  syscall_fn sys = (syscall_fn)a->syscall_ptr;
  long pid = sys(a->nr.clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
  if (pid != 0) return pid < 0 ? -*errno_loc : pid;
  work(a, errno_loc);
  return 0;
}
