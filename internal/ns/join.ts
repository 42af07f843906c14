/** Joining a namespace from a multi-threaded process, one thread at a time. */
import { CLONE } from "../sys/flags.ts";
import type { Sys } from "../sys/linux.ts";

/**
 * Moves the calling thread into the mount namespace `fd` refers to, and
 * closes `fd`. setns(2) refuses a mount namespace to a thread that shares
 * its root and cwd (CLONE_FS) with others, as every thread of a Bun process
 * does, so the thread first unshares those. The next execve(2) makes the
 * whole process this thread's, namespace included.
 */
export function joinMountNamespace(fd: number, sys: Pick<Sys, "unshare" | "setns" | "close">): void {
  sys.unshare(CLONE.FS);
  sys.setns(fd, CLONE.NEWNS);
  sys.close(fd);
}
