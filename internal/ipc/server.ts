/**
 * The daemon side of a socket: accepts connections, decodes frames, checks each
 * request against the registry and runs its handler. Requests on one
 * connection run concurrently; replies carry the request id and go out in
 * completion order. A client that breaks framing loses only its own connection.
 */
import type { Logger } from "../log/mod.ts";
import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import type { Socket } from "bun";
import { FrameDecoder, FrameError, encodeFrame } from "./frame.ts";
import {
  ERROR_CODES,
  checkRequest,
  checkResponseBody,
  toWireError,
  type Handler,
  type Handlers,
  type MessageType,
  type ResponseEnvelope,
} from "./messages.ts";
import { endAfterFlush, flush, newOutbox, send, type Outbox } from "./_socket.ts";


export interface ServeOptions {
  /** Daemon name for log lines; defaults to the socket path. */
  name?: string;
  /** Largest frame accepted or sent; defaults to MAX_FRAME. */
  maxFrame?: number;
  /** Receives debug traces (`rx 3: status`) and the reason a connection was dropped. */
  logger?: Logger;
  /** How long close() waits for in-flight handlers and unsent replies; default 2000 ms. */
  drainMs?: number;
  /** Mode of the socket file; default 0o600 (root-only, like Sysbox's sockets). */
  mode?: number;
}

export interface Server {
  readonly socketPath: string;
  /** Connections currently open. */
  readonly connections: number;
  /** Stops accepting, lets in-flight requests finish (up to drainMs), closes connections, removes the socket file. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Conn {
  n: number;
  decoder: FrameDecoder;
  out: Outbox;
  /** Framing was lost; we are ending this connection and ignore its input. */
  broken: boolean;
  closed: boolean;
}

const noLog: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const MAX_ERROR_MESSAGE = 16 * 1024;

/** Listens on `socketPath` and serves `handlers` until close(). */
export async function serve<M extends MessageType>(
  socketPath: string,
  handlers: Handlers<M>,
  opts: ServeOptions = {},
): Promise<Server> {
  const name = opts.name ?? socketPath;
  const log = opts.logger ?? noLog;
  // Error replies are small and go out under the default limit, so a tiny
  // custom limit cannot turn them into "reply too large".
  const frameOpts = opts.maxFrame === undefined ? {} : { maxFrame: opts.maxFrame };
  const drainMs = opts.drainMs ?? 2000;
  const table = handlers as unknown as Record<string, Handler<MessageType>>;
  const serves = (type: MessageType) => Object.hasOwn(table, type);
  const sockets = new Set<Socket<Conn>>();
  const inflight = new Set<Promise<void>>();
  let serial = 0;
  let closing: Promise<void> | undefined;
  let allClosed: (() => void) | undefined;

  await removeStaleSocket(socketPath);

  function reply(sock: Socket<Conn>, resp: ResponseEnvelope): void {
    const conn = sock.data;
    if (conn.closed || conn.out.ending) return;
    // Keeps any error reply far below the default frame limit, so encoding it cannot fail.
    if (!resp.ok && resp.error.message.length > MAX_ERROR_MESSAGE) {
      resp = { ...resp, error: { ...resp.error, message: `${resp.error.message.slice(0, MAX_ERROR_MESSAGE)}...` } };
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(resp, resp.ok ? frameOpts : {});
    } catch (e) {
      if (!(e instanceof FrameError) || !resp.ok) throw e;
      resp = { id: resp.id, ok: false, error: { code: ERROR_CODES.internal, message: `reply too large: ${e.message}` } };
      bytes = encodeFrame(resp);
    }
    log.debug(resp.ok ? `${name}: tx ${resp.id}: ok` : `${name}: tx ${resp.id}: ${resp.error.code}: ${resp.error.message}`);
    send(sock, conn.out, bytes);
  }

  /** Sends a connection-level error (id 0) and ends the connection. */
  function drop(sock: Socket<Conn>, code: string, reason: string): void {
    reply(sock, { id: 0, ok: false, error: { code, message: reason } });
    sock.data.broken = true;
    log.warn(`${name}: closing connection ${sock.data.n}: ${reason}`);
    endAfterFlush(sock, sock.data.out);
  }

  function dispatch(sock: Socket<Conn>, raw: unknown): void {
    const req = checkRequest(raw, serves);
    if (!req.ok) {
      if (req.id === undefined) {
        drop(sock, req.error.code, req.error.message);
      } else {
        reply(sock, { id: req.id, ok: false, error: req.error });
      }
      return;
    }
    const { id, type } = req;
    log.debug(`${name}: rx ${id}: ${type}`);
    const handler = table[type]!;
    const done = (async () => {
      let resp: ResponseEnvelope;
      try {
        const checked = checkResponseBody(type, await handler(req.body as never, { id, type, connection: sock.data.n }));
        resp = checked.ok
          ? { id, ok: true, body: checked.body }
          : { id, ok: false, error: { code: ERROR_CODES.internal, message: checked.message } };
      } catch (e) {
        resp = { id, ok: false, error: toWireError(e) };
      }
      reply(sock, resp);
    })();
    inflight.add(done);
    void done.finally(() => inflight.delete(done));
  }

  let listener: ReturnType<typeof Bun.listen<Conn>>;
  // The umask closes the window between bind() and chmod() in which the
  // socket would carry the default mode.
  const oldMask = process.umask(0o177);
  try {
    listener = Bun.listen<Conn>({
      unix: socketPath,
      socket: {
        open(sock) {
          sock.data = { n: ++serial, decoder: new FrameDecoder(frameOpts), out: newOutbox(), broken: false, closed: false };
          sockets.add(sock);
          if (closing) sock.end();
        },
        data(sock, chunk) {
          if (sock.data.broken) return;
          try {
            for (const msg of sock.data.decoder.push(chunk)) {
              dispatch(sock, msg);
              if (sock.data.broken) return;
            }
          } catch (e) {
            if (!(e instanceof FrameError)) throw e;
            drop(sock, e.code === "oversize" ? ERROR_CODES.oversizeFrame : ERROR_CODES.malformedFrame, e.message);
          }
        },
        drain(sock) {
          flush(sock, sock.data.out);
        },
        close(sock) {
          sock.data.closed = true;
          sockets.delete(sock);
          if (sockets.size === 0) allClosed?.();
        },
        error(sock, err) {
          log.debug(`${name}: connection ${sock.data.n}: ${err.message}`);
        },
      },
    });
  } catch (e) {
    const code = (e as { code?: string }).code ?? (e as Error).message;
    throw new Error(`listen on ${socketPath}: ${code}`, { cause: e });
  } finally {
    process.umask(oldMask);
  }
  chmodSync(socketPath, opts.mode ?? 0o600);

  async function shutdown(): Promise<void> {
    listener.stop(false);
    const timeout = Bun.sleep(drainMs);
    await Promise.race([Promise.allSettled([...inflight]), timeout]);
    if (sockets.size > 0) {
      const gone = new Promise<void>((resolve) => (allClosed = resolve));
      for (const sock of sockets) endAfterFlush(sock, sock.data.out);
      await Promise.race([gone, timeout]);
    }
    listener.stop(true);
    unlinkIfPresent(socketPath);
  }

  const server: Server = {
    socketPath,
    get connections() {
      return sockets.size;
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  return server;
}

/**
 * Removes a socket file left by a daemon that died without cleaning up. A file
 * that still has a listener, or is not a socket, is left alone and reported.
 */
export async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket`);
  let live = false;
  try {
    const probe = await Bun.connect({ unix: path, socket: { data() {} } });
    probe.end();
    live = true;
  } catch (e) {
    if ((e as { code?: string }).code !== "ECONNREFUSED") throw e;
  }
  if (live) throw new Error(`${path} is in use by another process`);
  unlinkIfPresent(path);
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
