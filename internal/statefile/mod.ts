/**
 * internal/statefile: one way to replace a state file.
 *
 * Crash-safe file replacement: a reader sees the old file or the new one,
 * never a mix. The data is fsynced before the rename, so even a host crash
 * cannot leave a torn file; the rename itself is not (a directory fsync costs
 * as much again on every request), so a host crash may bring back the
 * previous version, which the daemons tolerate: every container is gone
 * after a reboot, and their state is rebuilt from what still exists.
 */
import { closeSync, constants, fsyncSync, openSync, renameSync, writeSync } from "node:fs";

/** Writes `text` to `path` through `path.tmp`, fsynced, then renamed over. */
export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  try {
    const bytes = Buffer.from(text);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
