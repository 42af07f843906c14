/**
 * Messages between the sysbox-runc parent and the container's init stage on
 * the inherited sync socket, after the C stage's 12-byte HELLO:
 *
 *   +----------------+---------------------------+
 *   | u32 BE length  | CBOR payload (length B)   |
 *   +----------------+---------------------------+
 *
 *   parent                          init (in the container's namespaces)
 *     <---------------- HELLO (12 bytes, nsexec.c)
 *     -- {t:"create"|"exec", ...} -->
 *                                   mounts, pivot_root, console ...
 *     <-- {t:"warn", msg} (0..n) ---
 *     <-- {t:"ready", pid} ---------  (create: then blocks on exec.fifo)
 *     <-- {t:"error", msg} ---------  (instead of ready, on failure)
 *
 * Both ends use blocking reads: each side has nothing else to do meanwhile.
 */
// Subpaths: the "cbor-x" entry probes for a native addon (~18 ms per process; see internal/ipc/frame.ts).
import { decode } from "cbor-x/decode";
import { encode } from "cbor-x/encode";
import { read, writeAll } from "../sys/fs.ts";

const MAX_SYNC_FRAME = 16 << 20;

export type SyncMessage =
  | { t: "create" | "exec"; [k: string]: unknown }
  | { t: "warn"; msg: string }
  | { t: "ready"; pid: number }
  | { t: "error"; msg: string };

export function sendSync(fd: number, msg: SyncMessage): void {
  const payload = encode(msg) as Uint8Array;
  const frame = new Uint8Array(4 + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, 4);
  writeAll(fd, frame);
}

function readExact(fd: number, n: number): Uint8Array | null {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = read(fd, buf.subarray(got));
    if (r === 0) {
      if (got === 0) return null;
      throw new Error(`sync socket: truncated message (${got} of ${n} bytes)`);
    }
    got += r;
  }
  return buf;
}

/** Next message, or null when the other end closed (init exec'd or died). */
export function recvSync(fd: number): SyncMessage | null {
  const head = readExact(fd, 4);
  if (!head) return null;
  const len = new DataView(head.buffer).getUint32(0);
  if (len > MAX_SYNC_FRAME) throw new Error(`sync socket: frame of ${len} bytes exceeds ${MAX_SYNC_FRAME}`);
  const body = readExact(fd, len);
  if (!body) throw new Error("sync socket: truncated message");
  return decode(body) as SyncMessage;
}
