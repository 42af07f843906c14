/**
 * Keeps buffers reachable while only their addresses (numbers handed to
 * `syscall()` or stored inside another struct) reach the kernel, so the GC
 * cannot free them mid-call.
 */
const held: unknown[] = [];

export function pinned<T>(bufs: readonly unknown[], fn: () => T): T {
  held.push(bufs);
  try {
    return fn();
  } finally {
    held.pop();
  }
}
