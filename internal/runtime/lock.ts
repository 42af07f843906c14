/**
 * The container lock: one flock(2) on the container's state dir, held by
 * every command that changes a container (start, kill, delete, exec, update,
 * pause, resume) so that two of them on one container never interleave.
 * Apart from state.ts, which `--version` loads, so that it stays cheap.
 */
import { isSysError } from "../sys/errno.ts";
import { LOCK, O_FLAGS } from "../sys/fs.ts";
import { linuxSys, type Sys } from "../sys/linux.ts";
import { containerDir } from "./state.ts";

/** How often a waiter retries a held container lock. */
const LOCK_RETRY_MS = 2;

/**
 * Holds an exclusive flock(2) on the container dir for the duration of `fn`,
 * so concurrent commands on one id (delete racing kill, say) run one after
 * the other, across processes and within one. Polled with LOCK_NB: a
 * blocking flock would stall this thread's event loop. Without a container
 * dir `fn` runs unlocked, and reports the missing container itself.
 */
export async function withContainerLock<T>(root: string, id: string, fn: () => T | Promise<T>, sys: Sys = linuxSys): Promise<T> {
  let fd: number;
  try {
    fd = sys.open(containerDir(root, id), O_FLAGS.RDONLY | O_FLAGS.DIRECTORY | O_FLAGS.CLOEXEC);
  } catch (e) {
    if (isSysError(e, "ENOENT")) return await fn();
    throw e;
  }
  try {
    for (;;) {
      try {
        sys.flock(fd, LOCK.EX | LOCK.NB);
        break;
      } catch (e) {
        if (!isSysError(e, "EAGAIN")) throw e;
        await Bun.sleep(LOCK_RETRY_MS);
      }
    }
    return await fn();
  } finally {
    sys.close(fd);
  }
}
