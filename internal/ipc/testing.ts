/**
 * Helpers for tests of the IPC layer and of the daemons: talk to a socket
 * below the client (to send garbage), and leave a stale socket file behind.
 */
import { FrameDecoder } from "./frame.ts";

export interface RawExchange {
  /** Frames the peer sent back, decoded. */
  replies: unknown[];
  /** The peer closed the connection (rather than us timing out). */
  closedByPeer: boolean;
}

/**
 * Connects, writes `bytes` as is, and collects replies until the peer closes
 * the connection or `waitMs` passes (default 2000).
 */
export async function rawExchange(socketPath: string, bytes: Uint8Array, opts: { waitMs?: number } = {}): Promise<RawExchange> {
  const decoder = new FrameDecoder();
  const replies: unknown[] = [];
  let closedByPeer = false;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const sock = await Bun.connect({
    unix: socketPath,
    socket: {
      data(_s, chunk) {
        for (const m of decoder.push(chunk)) replies.push(m);
      },
      close() {
        closedByPeer = true;
        done();
      },
    },
  });
  sock.write(bytes);
  const timer = setTimeout(done, opts.waitMs ?? 2000);
  await finished;
  clearTimeout(timer);
  const result = { replies, closedByPeer };
  // end() runs the close handler synchronously; the result is already taken.
  if (!closedByPeer) sock.end();
  return result;
}

/** Creates a socket file at `path` with no listener: its owner was SIGKILLed. */
export async function makeStaleSocket(path: string): Promise<void> {
  const child = Bun.spawn(
    [process.execPath, "-e", `Bun.listen({unix: ${JSON.stringify(path)}, socket: {data() {}}}); console.log("up"); setInterval(() => {}, 1000);`],
    { stdout: "pipe", stderr: "inherit" },
  );
  const reader = child.stdout.getReader();
  await reader.read();
  child.kill("SIGKILL");
  await child.exited;
}
