/** The D-Bus client's typed errors; callers branch on the class and its fields, never on text. */

/** Bytes that break the wire format or the spec's limits, sent or received. */
export class DBusProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DBusProtocolError";
  }
}

/** An ERROR reply from the peer, e.g. `org.freedesktop.systemd1.NoSuchUnit`. */
export class DBusError extends Error {
  /** The error name from the reply's ERROR_NAME field. */
  readonly errorName: string;
  /** The method that failed, as `interface.member`. */
  readonly method: string;

  constructor(errorName: string, text: string, method: string) {
    super(`${method}: ${errorName}${text ? `: ${text}` : ""}`);
    this.name = "DBusError";
    this.errorName = errorName;
    this.method = method;
  }
}

export type ConnectionErrorCode = "connect" | "auth" | "timeout" | "closed";

/**
 * The connection itself failed: `connect` (the socket; `errno` says why),
 * `auth` (SASL refused), `timeout` (no answer in time) or `closed` (the peer hung up).
 */
export class DBusConnectionError extends Error {
  readonly code: ConnectionErrorCode;
  readonly address: string;
  /** For `connect`: the errno name, e.g. "ENOENT". */
  readonly errno?: string;

  constructor(code: ConnectionErrorCode, address: string, message: string, opts: { errno?: string; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = "DBusConnectionError";
    this.code = code;
    this.address = address;
    if (opts.errno !== undefined) this.errno = opts.errno;
  }
}
