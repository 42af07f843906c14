/*
 * Mount work inside another process's namespaces, for sysbox-fs's syscall
 * interception. Like nsexec.c it is compiled at run time by TinyCC with
 * -nostdlib and calls only libc's syscall() through a pointer: a Bun process
 * is multi-threaded and may not setns() into a user or mount namespace, but a
 * child forked from one thread may.
 *
 *   caller (JS)             stage 1 (child)                    stage 2 (grandchild, if fork)
 *   nsmount_run() -clone->  setns() each ns (user first)
 *                           clone ---------------------------> in the joined pid namespace:
 *                           wait4(stage 2)                     the work below
 *                           exit(0)                            write RESULT, exit
 *   <-- RESULT on result_fd (three int32s: step, errno, index; step 0 = done)
 *
 * op MOUNT: the target is target_fd, or else target_path opened with
 *   openat2(root_fd, RESOLVE_IN_ROOT) here, where a lookup that hangs (a
 *   FUSE server in the container) is killable by the caller's timeout;
 *   fsopen(fstype), fsconfig each option, CMD_CREATE, fsmount with
 *   MOUNT_ATTR_* flags, move_mount onto the target; then for each bind, the
 *   detached tree bind_src[i] is moved onto bind_dst[i] below the new mount
 *   (a missing destination is skipped).
 * op UMOUNT: fchdir(root_fd) + chroot(".") so mountinfo paths mean what they
 *   meant to the caller, then umount2(path[i], umount_flags) for each path.
 * op MKNOD (a trapped mknod of an allowed node): stage 1 first takes the
 *   caller's fsuid/fsgid (host ids), so what it creates is the caller's. The
 *   node to bind is src_path opened with openat2(root_fd, RESOLVE_IN_ROOT)
 *   and, with check_rdev, required to be that char device (statx), then
 *   cloned with open_tree here, where that mount is in our namespace; or,
 *   when there is no src_path or it fails, src_fd (a detached tree from the
 *   host) if given. Then an empty file is created at target_path (openat2
 *   O_CREAT|O_EXCL, RESOLVE_IN_ROOT) and the node moved onto it.
 *
 * Argument layout: struct nsmount_args below, 8-byte slots.
 */

typedef long (*syscall_fn)(long, ...);

enum { OP_MOUNT = 1, OP_UMOUNT = 2, OP_MKNOD = 3 };

/* Steps named in the result so the caller can say which call failed. */
enum {
  STEP_DONE = 0, STEP_SETNS = 1, STEP_CLONE = 2, STEP_FSOPEN = 3, STEP_FSCONFIG = 4, STEP_CREATE = 5,
  STEP_FSMOUNT = 6, STEP_MOVE = 7, STEP_BIND_TARGET = 8, STEP_BIND = 9, STEP_CHROOT = 10, STEP_UMOUNT = 11,
  STEP_WAIT = 12, STEP_TARGET = 13, STEP_FSID = 14, STEP_SOURCE = 15, STEP_SOURCE_TYPE = 16, STEP_SOURCE_CLONE = 17,
  STEP_CREATE_TARGET = 18,
};

struct nr_table {
  long clone, setns, exit_group, write, wait4, fsopen, fsconfig, fsmount, move_mount, openat, close, umount2,
      fchdir, chroot, openat2;
};

struct nsmount_args {
  long syscall_ptr;   /*   0 */
  long nr_join;       /*   8 */
  long join_fd[6];    /*  16 */
  long join_type[6];  /*  64 */
  long fork;          /* 112: 1 = work in a child, so a joined pid namespace applies */
  long root_fd;       /* 120: the caller's root (UMOUNT; MOUNT without target_fd) */
  long result_fd;     /* 128 */
  long op;            /* 136 */
  long fstype;        /* 144: char* */
  long nr_opts;       /* 152 */
  long opt_keys;      /* 160: char*[] */
  long opt_vals;      /* 168: char*[]; a 0 entry sets a flag option */
  long attr;          /* 176: MOUNT_ATTR_* for fsmount */
  long target_fd;     /* 184: O_PATH fd of the mount point, or -1: target_path */
  long nr_binds;      /* 192 */
  long bind_src;      /* 200: long[] of open_tree(OPEN_TREE_CLONE) fds */
  long bind_dst;      /* 208: char*[] relative to the new mount's root */
  long nr_paths;      /* 216 */
  long paths;         /* 224: char*[] to unmount, in order */
  long umount_flags;  /* 232 */
  struct nr_table nr; /* 240 */
  long target_path;   /* 360: char*, in the caller's root */
  long src_fd;        /* 368: MKNOD: detached tree of the node (a fallback with src_path), or -1 */
  long src_path;      /* 376: char*, in the caller's root, or 0 */
  long check_rdev;    /* 384: 1 = src_path must be char device rdev_major:rdev_minor */
  long rdev_major;    /* 392 */
  long rdev_minor;    /* 400 */
  long fsuid;         /* 408: host ids to create as, -1 = ours */
  long fsgid;         /* 416 */
  long nr_statx;      /* 424 */
  long nr_open_tree;  /* 432 */
  long nr_setfsuid;   /* 440 */
  long nr_setfsgid;   /* 448 */
};

struct open_how { unsigned long long flags, mode, resolve; };

#define SIGCHLD 17
#define FSCONFIG_SET_FLAG 0
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#define FSOPEN_CLOEXEC 1
#define FSMOUNT_CLOEXEC 1
#define MOVE_MOUNT_F_EMPTY_PATH 4
#define MOVE_MOUNT_T_EMPTY_PATH 0x40
#define O_PATH 010000000
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000
#define RESOLVE_IN_ROOT 0x10
#define O_CREAT 0100
#define O_EXCL 0200
#define O_WRONLY 01
#define AT_EMPTY_PATH 0x1000
#define OPEN_TREE_CLONE 1
#define STATX_TYPE 1
#define S_IFMT 0170000
#define S_IFCHR 0020000
#define ENOENT 2
#define EINTR 4
#define ENODEV 19

static long result(struct nsmount_args *a, int step, int err, int index) {
  syscall_fn sys = (syscall_fn)a->syscall_ptr;
  int buf[3];
  buf[0] = step; buf[1] = err; buf[2] = index;
  sys(a->nr.write, a->result_fd, (long)buf, 12L);
  sys(a->nr.exit_group, step == STEP_DONE ? 0L : 1L);
  return 0;
}

static void do_mount(struct nsmount_args *a, int *errno_loc) {
  syscall_fn sys = (syscall_fn)a->syscall_ptr;
  long i, fs, mnt, dst, target = a->target_fd;
  struct open_how how;
  char **keys = (char **)a->opt_keys;
  char **vals = (char **)a->opt_vals;
  long *src = (long *)a->bind_src;
  char **rel = (char **)a->bind_dst;
  if (target < 0) {
    how.flags = O_PATH | O_CLOEXEC; how.mode = 0; how.resolve = RESOLVE_IN_ROOT;
    target = sys(a->nr.openat2, a->root_fd, a->target_path, (long)&how, (long)sizeof(how));
    if (target < 0) result(a, STEP_TARGET, *errno_loc, 0);
  }
  fs = sys(a->nr.fsopen, a->fstype, (long)FSOPEN_CLOEXEC);
  if (fs < 0) result(a, STEP_FSOPEN, *errno_loc, 0);
  for (i = 0; i < a->nr_opts; i++) {
    long r = vals[i]
        ? sys(a->nr.fsconfig, fs, (long)FSCONFIG_SET_STRING, (long)keys[i], (long)vals[i], 0L)
        : sys(a->nr.fsconfig, fs, (long)FSCONFIG_SET_FLAG, (long)keys[i], 0L, 0L);
    if (r < 0) result(a, STEP_FSCONFIG, *errno_loc, (int)i);
  }
  if (sys(a->nr.fsconfig, fs, (long)FSCONFIG_CMD_CREATE, 0L, 0L, 0L) < 0) result(a, STEP_CREATE, *errno_loc, 0);
  mnt = sys(a->nr.fsmount, fs, (long)FSMOUNT_CLOEXEC, a->attr);
  if (mnt < 0) result(a, STEP_FSMOUNT, *errno_loc, 0);
  if (sys(a->nr.move_mount, mnt, (long)"", target, (long)"", (long)(MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)) < 0)
    result(a, STEP_MOVE, *errno_loc, 0);
  for (i = 0; i < a->nr_binds; i++) {
    dst = sys(a->nr.openat, mnt, (long)rel[i], (long)(O_PATH | O_NOFOLLOW | O_CLOEXEC), 0L);
    if (dst < 0) {
      if (*errno_loc == ENOENT) continue;
      result(a, STEP_BIND_TARGET, *errno_loc, (int)i);
    }
    if (sys(a->nr.move_mount, src[i], (long)"", dst, (long)"", (long)(MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)) < 0)
      result(a, STEP_BIND, *errno_loc, (int)i);
    sys(a->nr.close, dst);
  }
  result(a, STEP_DONE, 0, 0);
}

static void do_umount(struct nsmount_args *a, int *errno_loc) {
  syscall_fn sys = (syscall_fn)a->syscall_ptr;
  long i;
  char **paths = (char **)a->paths;
  if (sys(a->nr.fchdir, a->root_fd) < 0 || sys(a->nr.chroot, (long)".") < 0) result(a, STEP_CHROOT, *errno_loc, 0);
  for (i = 0; i < a->nr_paths; i++)
    if (sys(a->nr.umount2, (long)paths[i], a->umount_flags) < 0) result(a, STEP_UMOUNT, *errno_loc, (int)i);
  result(a, STEP_DONE, 0, 0);
}

static void do_mknod(struct nsmount_args *a, int *errno_loc) {
  syscall_fn sys = (syscall_fn)a->syscall_ptr;
  long src = -1, path, dst;
  int err = 0, step = 0;
  struct open_how how;
  unsigned char stx[256];
  if (a->src_path) {
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC; how.mode = 0; how.resolve = RESOLVE_IN_ROOT;
    path = sys(a->nr.openat2, a->root_fd, a->src_path, (long)&how, (long)sizeof(how));
    if (path < 0) { step = STEP_SOURCE; err = *errno_loc; }
    else if (a->check_rdev) {
      if (sys(a->nr_statx, path, (long)"", (long)AT_EMPTY_PATH, (long)STATX_TYPE, (long)stx) < 0) { step = STEP_SOURCE_TYPE; err = *errno_loc; }
      /* struct statx: stx_mode u16 at 0x1c, stx_rdev_major and _minor u32 at 0x80 and 0x84. */
      else if (((*(unsigned short *)(stx + 0x1c)) & S_IFMT) != S_IFCHR || *(unsigned int *)(stx + 0x80) != (unsigned int)a->rdev_major ||
               *(unsigned int *)(stx + 0x84) != (unsigned int)a->rdev_minor) { step = STEP_SOURCE_TYPE; err = ENODEV; }
    }
    if (!step) {
      src = sys(a->nr_open_tree, path, (long)"", (long)(OPEN_TREE_CLONE | O_CLOEXEC | AT_EMPTY_PATH));
      if (src < 0) { step = STEP_SOURCE_CLONE; err = *errno_loc; }
    }
  }
  /* The fallback, a tree from the host, when the caller's own node is not there. */
  if (src < 0) src = a->src_fd;
  if (src < 0) result(a, step ? step : STEP_SOURCE, err ? err : ENOENT, 0);
  how.flags = O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC; how.mode = 0600; how.resolve = RESOLVE_IN_ROOT;
  dst = sys(a->nr.openat2, a->root_fd, a->target_path, (long)&how, (long)sizeof(how));
  if (dst < 0) result(a, STEP_CREATE_TARGET, *errno_loc, 0);
  if (sys(a->nr.move_mount, src, (long)"", dst, (long)"", (long)(MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)) < 0)
    result(a, STEP_MOVE, *errno_loc, 0);
  result(a, STEP_DONE, 0, 0);
}

static void work(struct nsmount_args *a, int *errno_loc) {
  if (a->op == OP_MOUNT) do_mount(a, errno_loc);
  else if (a->op == OP_MKNOD) do_mknod(a, errno_loc);
  else do_umount(a, errno_loc);
}

/* Returns stage 1's pid, or -errno if it could not be started. */
long nsmount_run(struct nsmount_args *a, int *errno_loc) {
  syscall_fn sys = (syscall_fn)a->syscall_ptr;
  long i, pid;
  int status;
  pid = sys(a->nr.clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
  if (pid != 0) return pid < 0 ? -*errno_loc : pid;

  /* Host ids, set while we are still in the host's user namespace. */
  if (a->op == OP_MKNOD && a->fsgid >= 0) { sys(a->nr_setfsgid, a->fsgid); if (sys(a->nr_setfsgid, -1L) != a->fsgid) result(a, STEP_FSID, 1, 0); }
  if (a->op == OP_MKNOD && a->fsuid >= 0) { sys(a->nr_setfsuid, a->fsuid); if (sys(a->nr_setfsuid, -1L) != a->fsuid) result(a, STEP_FSID, 1, 1); }
  for (i = 0; i < a->nr_join; i++)
    if (sys(a->nr.setns, a->join_fd[i], a->join_type[i]) < 0) result(a, STEP_SETNS, *errno_loc, (int)i);
  if (!a->fork) work(a, errno_loc);
  pid = sys(a->nr.clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
  if (pid < 0) result(a, STEP_CLONE, *errno_loc, 0);
  if (pid == 0) work(a, errno_loc);
  /* Stage 2 wrote the result; stage 1 only reaps it. */
  while (sys(a->nr.wait4, pid, (long)&status, 0L, 0L) < 0 && *errno_loc == EINTR) {}
  sys(a->nr.exit_group, 0L);
  return 0;
}
