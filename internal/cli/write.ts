/** Output for short-lived binaries, whose start-up time counts. */
import { writeSync } from "node:fs";

/**
 * Writes all of `text` to fd 1 or 2. Not process.stdout/stderr: setting those
 * streams up costs ~25 ms in a compiled binary, more than `--version` itself.
 */
export function writeFd(fd: 1 | 2, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (e) {
      // A non-blocking pipe that is full: wait a little and retry.
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}
