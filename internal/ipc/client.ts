/**
 * The caller side of a daemon socket (sysbox-runc is the only real caller).
 * One connection carries many concurrent requests matched by id. The socket
 * holds the event loop open only while a request is pending, so a short-lived
 * CLI exits as soon as its work is done even if it forgets close().
 */
import type { Socket } from "bun";
import { DEFAULT_RUN_DIR, ENDPOINTS, socketPath as endpointSocket } from "./endpoints.ts";
import { FrameDecoder, FrameError, encodeFrame } from "./frame.ts";
import {
  checkResponseBody,
  parseResponseEnvelope,
  type DaemonKind,
  type DaemonMessages,
  type MessageType,
  type RequestInput,
  type ResponseBody,
} from "./messages.ts";
import { flush, newOutbox, send, type Outbox } from "./_socket.ts";

export type IpcErrorCode =
  /** The socket could not be reached; `errno` says why (ENOENT, ECONNREFUSED, ...). */
  | "connect"
  /** No reply within the request's timeout. */
  | "timeout"
  /** The connection closed, by either side, before the reply. */
  | "closed"
  /** The peer sent something that breaks the protocol (bad frame, envelope or body). */
  | "protocol";

/** A local failure to get a reply. */
export class IpcError extends Error {
  readonly code: IpcErrorCode;
  readonly socketPath: string;
  readonly messageType: string | undefined;
  readonly errno: string | undefined;
  constructor(
    code: IpcErrorCode,
    message: string,
    info: { socketPath: string; messageType?: string; errno?: string; cause?: unknown },
  ) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = "IpcError";
    this.code = code;
    this.socketPath = info.socketPath;
    this.messageType = info.messageType;
    this.errno = info.errno;
  }
}

/** The daemon answered with an error reply; `code` is its code ("unknown-message", "EPERM", ...). */
export class RemoteError extends Error {
  readonly code: string;
  readonly socketPath: string;
  readonly messageType: string;
  constructor(code: string, message: string, info: { peer: string; socketPath: string; messageType: string }) {
    super(`${info.peer} ${info.messageType}: ${message}`);
    this.name = "RemoteError";
    this.code = code;
    this.socketPath = info.socketPath;
    this.messageType = info.messageType;
  }
}

export interface ConnectOptions {
  /** Name of the daemon for error messages; default "daemon". */
  peer?: string;
  /** Largest frame sent or accepted; defaults to MAX_FRAME. */
  maxFrame?: number;
  /** Default request timeout; 30000 ms unless set. */
  timeoutMs?: number;
}

export interface RequestOptions {
  timeoutMs?: number;
}

interface Pending {
  type: string;
  resolve(body: unknown): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

interface ClientState {
  decoder: FrameDecoder;
  out: Outbox;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** An open connection to a daemon. Close it with close() or `using`. */
export class Client<M extends MessageType = MessageType> {
  readonly socketPath: string;
  readonly peer: string;
  #sock: Socket<ClientState> | undefined;
  #opts: ConnectOptions;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;

  /** Use connect(). */
  constructor(socketPath: string, opts: ConnectOptions) {
    this.socketPath = socketPath;
    this.peer = opts.peer ?? "daemon";
    this.#opts = opts;
  }

  /** @internal Opens the socket; connect() calls this once. */
  async open(): Promise<void> {
    const frameOpts = this.#opts.maxFrame === undefined ? {} : { maxFrame: this.#opts.maxFrame };
    try {
      this.#sock = await Bun.connect<ClientState>({
        unix: this.socketPath,
        data: { decoder: new FrameDecoder(frameOpts), out: newOutbox() },
        socket: {
          data: (sock, chunk) => this.#onData(sock, chunk),
          drain: (sock) => flush(sock, sock.data.out),
          close: () => this.#onClose(),
          error: () => {},
        },
      });
    } catch (e) {
      const errno = (e as { code?: string }).code ?? (e as Error).message;
      const hint = errno === "ENOENT" || errno === "ECONNREFUSED" ? ` (is ${this.peer} running?)` : "";
      throw new IpcError("connect", `failed to connect to ${this.peer} at ${this.socketPath}: ${errno}${hint}`, {
        socketPath: this.socketPath,
        errno,
        cause: e,
      });
    }
    this.#sock.unref();
  }

  /** Requests currently awaiting a reply. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Sends one request and resolves with the validated response body. */
  request<T extends M>(type: T, body: RequestInput<T>, opts: RequestOptions = {}): Promise<ResponseBody<T>> {
    return new Promise<unknown>((resolve, reject) => {
      const sock = this.#sock;
      if (this.#closed || !sock) {
        reject(this.#error("closed", `connection to ${this.peer} at ${this.socketPath} is closed`, type));
        return;
      }
      const id = this.#nextId++;
      const frame = encodeFrame({ id, type, body }, this.#opts.maxFrame === undefined ? {} : { maxFrame: this.#opts.maxFrame });
      const timeoutMs = opts.timeoutMs ?? this.#opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const timer = setTimeout(() => {
        this.#settle(id);
        reject(this.#error("timeout", `${this.peer} at ${this.socketPath} did not answer ${JSON.stringify(type)} within ${timeoutMs} ms`, type));
      }, timeoutMs);
      this.#pending.set(id, { type, resolve, reject, timer });
      sock.ref();
      send(sock, sock.data.out, frame);
    }) as Promise<ResponseBody<T>>;
  }

  /** Closes the connection; pending requests fail with IpcError("closed"). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll((type) => this.#error("closed", `connection to ${this.peer} at ${this.socketPath} closed by the client`, type));
    this.#sock?.end();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #onData(sock: Socket<ClientState>, chunk: Uint8Array): void {
    try {
      for (const raw of sock.data.decoder.push(chunk)) {
        this.#onMessage(raw);
        if (this.#closed) return;
      }
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      this.#abort((type) => this.#error("protocol", `bad frame from ${this.peer} at ${this.socketPath}: ${e.message}`, type));
    }
  }

  #onMessage(raw: unknown): void {
    const parsed = parseResponseEnvelope(raw);
    if (!parsed.ok) {
      this.#abort((type) => this.#error("protocol", `${this.peer} at ${this.socketPath} sent an ${parsed.message}`, type));
      return;
    }
    const env = parsed.envelope;
    const info = (messageType: string) => ({ peer: this.peer, socketPath: this.socketPath, messageType });
    // Id 0: the server gave up on the whole connection and is closing it.
    if (env.id === 0) {
      const err = env.ok ? { code: "protocol", message: "unexpected reply with id 0" } : env.error;
      this.#abort((type) => new RemoteError(err.code, err.message, info(type)));
      return;
    }
    const p = this.#pending.get(env.id);
    // A reply to a request that already timed out.
    if (!p) return;
    this.#settle(env.id);
    if (!env.ok) {
      p.reject(new RemoteError(env.error.code, env.error.message, info(p.type)));
      return;
    }
    const checked = checkResponseBody(p.type as MessageType, env.body);
    if (checked.ok) p.resolve(checked.body);
    else p.reject(this.#error("protocol", `${this.peer} at ${this.socketPath} sent an ${checked.message}`, p.type));
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll((type) =>
      this.#error("closed", `${this.peer} at ${this.socketPath} closed the connection before answering ${JSON.stringify(type)}`, type),
    );
  }

  /** Fails everything pending and drops the connection. */
  #abort(makeError: (type: string) => Error): void {
    this.#failAll(makeError);
    this.close();
  }

  #failAll(makeError: (type: string) => Error): void {
    for (const [id, p] of [...this.#pending]) {
      this.#settle(id);
      p.reject(makeError(p.type));
    }
  }

  #settle(id: number): void {
    const p = this.#pending.get(id);
    if (p) clearTimeout(p.timer);
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#sock?.unref();
  }

  #error(code: IpcErrorCode, message: string, messageType: string): IpcError {
    return new IpcError(code, message, { socketPath: this.socketPath, messageType });
  }
}

/** Opens a connection to the daemon socket at `socketPath`. */
export async function connect<M extends MessageType = MessageType>(
  socketPath: string,
  opts: ConnectOptions = {},
): Promise<Client<M>> {
  const client = new Client<M>(socketPath, opts);
  await client.open();
  return client;
}

/**
 * How long a client keeps trying a daemon's socket that is missing or
 * refuses connections: a restart (`systemctl restart sysbox-fs`) leaves
 * that gap between the old process closing its socket and the new one
 * listening.
 */
export const DAEMON_RESTART_GRACE_MS = 3000;

/** True for the connect failures a restarting daemon gives: no socket yet, or nobody listening on it. */
export function isRestartGap(errno: string | undefined): boolean {
  return errno === "ENOENT" || errno === "ECONNREFUSED";
}

/**
 * Opens a connection to one of the Sysbox daemons, typed by the messages it
 * serves; within `restartGraceMs` (default 0) a daemon in its restart gap
 * is tried again every 50 ms.
 */
export async function connectDaemon<K extends DaemonKind>(
  daemon: K,
  opts: ConnectOptions & { runDir?: string; restartGraceMs?: number } = {},
): Promise<Client<DaemonMessages[K]>> {
  const { runDir = DEFAULT_RUN_DIR, restartGraceMs = 0, ...rest } = opts;
  const deadline = Date.now() + restartGraceMs;
  for (;;) {
    try {
      return await connect<DaemonMessages[K]>(endpointSocket(daemon, runDir), { peer: ENDPOINTS[daemon].name, ...rest });
    } catch (e) {
      if (!(e instanceof IpcError && e.code === "connect" && isRestartGap(e.errno)) || Date.now() >= deadline) throw e;
    }
    await Bun.sleep(50);
  }
}

/** Resolves once something accepts connections on `socketPath`; IpcError("timeout") otherwise. */
export async function waitForSocket(
  socketPath: string,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let why: string;
    try {
      const sock = await Bun.connect({ unix: socketPath, socket: { data() {} } });
      sock.end();
      return;
    } catch (e) {
      why = (e as { code?: string }).code ?? (e as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new IpcError("timeout", `nothing accepted connections on ${socketPath} within ${timeoutMs} ms (last error: ${why})`, {
        socketPath,
        errno: why,
      });
    }
    await Bun.sleep(opts.intervalMs ?? 20);
  }
}

/** A failed exchange with a daemon. `code` is the daemon's error code or the IPC failure ("connect", "timeout", ...). */
export class DaemonError extends Error {
  override name = "DaemonError";
  readonly code: string;
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A failed exchange as a daemon's client reports it: `what` failed, then why,
 * without the client's "<daemon> <type>: " prefix (`what` says it better).
 * `code` is the daemon's error code or the IPC failure ("connect", "timeout", ...).
 */
export function describeFailure(daemon: string, what: string, e: unknown): { message: string; code: string } {
  if (e instanceof RemoteError) return { message: `${what}: ${e.message.replace(new RegExp(`^${daemon} \\S+: `), "")}`, code: e.code };
  if (e instanceof IpcError) return { message: `${what}: ${e.message}`, code: e.code };
  return { message: `${what}: ${(e as Error).message ?? String(e)}`, code: "internal" };
}
