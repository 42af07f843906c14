/**
 * Backpressure for Bun sockets. `socket.write` may take only part of a buffer
 * and does not keep the rest, so unwritten bytes wait here for `drain`.
 */
import type { Socket } from "bun";

export interface Outbox {
  queue: Uint8Array[];
  /** End the socket once the queue is empty. */
  ending: boolean;
}

export function newOutbox(): Outbox {
  return { queue: [], ending: false };
}

/** Writes now what the socket takes and queues the rest. */
export function send(sock: Socket<unknown>, out: Outbox, bytes: Uint8Array): void {
  if (out.queue.length > 0) {
    out.queue.push(bytes);
    return;
  }
  const n = sock.write(bytes);
  // -1: the socket is closed; its close handler does the cleanup.
  if (n >= 0 && n < bytes.length) out.queue.push(bytes.subarray(n));
}

/** Call from the socket's `drain` handler. */
export function flush(sock: Socket<unknown>, out: Outbox): void {
  while (out.queue.length > 0) {
    const head = out.queue[0]!;
    const n = sock.write(head);
    if (n < 0) {
      out.queue.length = 0;
      return;
    }
    if (n < head.length) {
      out.queue[0] = head.subarray(n);
      return;
    }
    out.queue.shift();
  }
  if (out.ending) sock.end();
}

/** Ends the socket after everything queued has been written. */
export function endAfterFlush(sock: Socket<unknown>, out: Outbox): void {
  out.ending = true;
  if (out.queue.length === 0) sock.end();
}
