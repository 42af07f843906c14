/*
 * The namespace stage. A Bun process is multi-threaded, and the kernel refuses
 * unshare(CLONE_NEWUSER) and setns() into a user or mount namespace from a
 * multi-threaded process, so this small C function (compiled at run time by
 * bun:ffi's TinyCC, with -nostdlib: no libc headers needed on the host) forks,
 * and the single-threaded child does the namespace work and execs.
 *
 * All system calls go through libc's syscall(), whose address and the
 * architecture's syscall numbers the caller passes in, so this file has no
 * inline assembly and no per-architecture code.
 *
 *   parent (JS)                  stage 1 (child)               stage 2 (grandchild)
 *   nsexec_spawn() --clone----->  setns() each joined ns
 *                                 unshare(CLONE_NEWUSER)?
 *        <------- READY{pid} ---  
 *   write uid/gid maps,
 *   join cgroup
 *        -------- ACK --------->  setresgid/setresuid(0) if userns
 *                                 unshare(other CLONE_NEW*)
 *                                 clone ------------------->  (pid 1 if NEWPID)
 *        <-- CHILD{pid} --------  exit(0)                     setresgid/uid, setgroups
 *                                                             execveat(exec_fd, argv, envp)
 *
 * Messages on sync_fd are three little-endian int32s: {kind, a, b}.
 */

typedef long (*syscall_fn)(long, ...);

/* MSG_HELLO is sent by the exec'd program, proving the exec worked. */
enum { MSG_READY = 1, MSG_CHILD = 2, MSG_ERROR = 3, MSG_ACK = 4, MSG_HELLO = 5 };

/* Steps named in MSG_ERROR.a so the parent can say which call failed. */
enum {
  STEP_SETNS = 1, STEP_UNSHARE_USER = 2, STEP_SYNC = 3, STEP_SETUID = 4,
  STEP_UNSHARE = 5, STEP_CLONE = 6, STEP_EXEC = 7, STEP_SETGROUPS = 8, STEP_FCNTL = 9,
  STEP_SETSID = 10, STEP_STDIO = 11,
};

struct nr_table {
  long clone, unshare, setns, read, write, exit_group, setresuid, setresgid,
      setgroups, execveat, fcntl, getpid, setsid, dup3, pipe2, close;
};

struct nsexec_args {
  long syscall_ptr;          /*   0 */
  long flags;                /*   8: CLONE_NEW* namespaces to create */
  long sync_fd;              /*  16: child's end of the sync socket */
  long exec_fd;              /*  24: program to execveat(AT_EMPTY_PATH) */
  long argv;                 /*  32: char *argv[] */
  long envp;                 /*  40: char *envp[] */
  long set_ids;              /*  48: 1 = become uid/gid 0 in the (new or joined) userns */
  long setsid;               /*  56: 1 = setsid() in stage 2 */
  long nr_join;              /*  64 */
  long join_fd[8];           /*  72 */
  long join_type[8];         /* 136 */
  long stdio_fd;             /* 200: if >= 0, becomes fds 0-2 of stage 2 */
  struct nr_table nr;        /* 208 */
};

#define CLONE_NEWUSER 0x10000000
#define CLONE_NEWPID 0x20000000
#define SIGCHLD 17
#define AT_EMPTY_PATH 0x1000
#define F_SETFD 2

static int send_msg(struct nsexec_args *a, int kind, int x, int y) {
  syscall_fn sys = (syscall_fn)a->syscall_ptr;
  int buf[3];
  buf[0] = kind; buf[1] = x; buf[2] = y;
  return sys(a->nr.write, a->sync_fd, (long)buf, 12L) == 12 ? 0 : -1;
}

static void die(struct nsexec_args *a, int step, int err) {
  syscall_fn sys = (syscall_fn)a->syscall_ptr;
  send_msg(a, MSG_ERROR, step, err);
  sys(a->nr.exit_group, 1L);
}

/*
 * errno of the last syscall(): libc's wrapper returns -1 and sets it. The
 * caller passes the address of its thread's errno, which a forked child
 * keeps (its one thread is a copy of the caller's).
 */
static int last_errno(int *errno_loc) {
  return *errno_loc;
}

static int wait_ack(struct nsexec_args *a) {
  syscall_fn sys = (syscall_fn)a->syscall_ptr;
  int buf[3];
  long got = 0;
  while (got < 12) {
    long n = sys(a->nr.read, a->sync_fd, (long)buf + got, 12L - got);
    if (n <= 0) return -1;
    got += n;
  }
  return buf[0] == MSG_ACK ? 0 : -1;
}

static void become_root(struct nsexec_args *a, int *errno_loc) {
  syscall_fn sys = (syscall_fn)a->syscall_ptr;
  if (sys(a->nr.setresgid, 0L, 0L, 0L) < 0) die(a, STEP_SETUID, last_errno(errno_loc));
  if (sys(a->nr.setresuid, 0L, 0L, 0L) < 0) die(a, STEP_SETUID, last_errno(errno_loc));
}

long nsexec_spawn(struct nsexec_args *a, int *errno_loc) {
  syscall_fn sys = (syscall_fn)a->syscall_ptr;
  long i;
  int gate[2];
  long pid = sys(a->nr.clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
  if (pid != 0) return pid < 0 ? -last_errno(errno_loc) : pid;

  /* stage 1 */
  for (i = 0; i < a->nr_join; i++)
    if (sys(a->nr.setns, a->join_fd[i], a->join_type[i]) < 0)
      die(a, STEP_SETNS + 100 * (int)(i + 1), last_errno(errno_loc));
  if (a->flags & CLONE_NEWUSER)
    if (sys(a->nr.unshare, (long)CLONE_NEWUSER) < 0) die(a, STEP_UNSHARE_USER, last_errno(errno_loc));
  if (send_msg(a, MSG_READY, (int)sys(a->nr.getpid), 0) < 0 || wait_ack(a) < 0)
    die(a, STEP_SYNC, 0);
  if (a->set_ids) become_root(a, errno_loc);
  if (a->flags & ~(long)CLONE_NEWUSER)
    if (sys(a->nr.unshare, a->flags & ~(long)CLONE_NEWUSER) < 0) die(a, STEP_UNSHARE, last_errno(errno_loc));

  /*
   * Stage 2 waits on this pipe until stage 1 has reported its pid, so the
   * parent always reads CHILD before anything stage 2 says (an exec error).
   */
  if (sys(a->nr.pipe2, (long)gate, 0L) < 0) die(a, STEP_CLONE, last_errno(errno_loc));
  pid = sys(a->nr.clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
  if (pid < 0) die(a, STEP_CLONE, last_errno(errno_loc));
  if (pid > 0) {
    send_msg(a, MSG_CHILD, (int)pid, 0);
    sys(a->nr.exit_group, 0L);
  }

  /* stage 2 */
  sys(a->nr.close, (long)gate[1]);
  while (sys(a->nr.read, (long)gate[0], (long)&gate[1], 1L) > 0) {}
  sys(a->nr.close, (long)gate[0]);
  /*
   * A terminal container must not keep the caller's stdio: whoever waits for
   * `create` to finish would wait on the pipes forever.
   */
  if (a->stdio_fd >= 0)
    for (i = 0; i < 3; i++)
      if (sys(a->nr.dup3, a->stdio_fd, i, 0L) < 0) die(a, STEP_STDIO, last_errno(errno_loc));
  if (a->setsid && sys(a->nr.setsid) < 0) die(a, STEP_SETSID, last_errno(errno_loc));
  if (a->set_ids) {
    become_root(a, errno_loc);
    if (sys(a->nr.setgroups, 0L, 0L) < 0) die(a, STEP_SETGROUPS, last_errno(errno_loc));
  }
  /* The sync socket stays open across exec: the program talks on it next. */
  if (sys(a->nr.fcntl, a->sync_fd, (long)F_SETFD, 0L) < 0) die(a, STEP_FCNTL, last_errno(errno_loc));
  sys(a->nr.execveat, a->exec_fd, (long)"", a->argv, a->envp, (long)AT_EMPTY_PATH);
  die(a, STEP_EXEC, last_errno(errno_loc));
  return 0;
}
