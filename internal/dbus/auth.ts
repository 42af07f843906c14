/**
 * The SASL exchange that opens every D-Bus connection (spec "Authentication
 * Protocol"), EXTERNAL mechanism only: the server reads our uid from the
 * socket (SO_PEERCRED) and we claim the same uid. Pure code, no I/O.
 *
 *   client                                   server
 *     \0 AUTH EXTERNAL <hex of ascii uid>\r\n ->      e.g. uid 0 -> "30", 1000 -> "31303030"
 *                                            <- OK <32 hex digits of server GUID>\r\n
 *                                               (or REJECTED <mechanisms>\r\n, ERROR ...\r\n)
 *     BEGIN\r\n                             ->
 *     ...binary messages from here on...
 */
import { DBusProtocolError } from "./errors.ts";

/** An auth line is short; a server that sends more without a newline is not speaking SASL. */
export const MAX_AUTH_LINE = 16 * 1024;

/** The uid as the spec wants it: its decimal digits, each written as two hex digits. */
export function hexUid(uid: number): string {
  if (!Number.isInteger(uid) || uid < 0) throw new RangeError(`Invalid uid ${uid}`);
  return Buffer.from(String(uid), "ascii").toString("hex");
}

/** The first bytes a client sends: the credentials NUL byte and the AUTH command. */
export function authRequest(uid: number): Uint8Array {
  return new TextEncoder().encode(`\0AUTH EXTERNAL ${hexUid(uid)}\r\n`);
}

export const BEGIN = new TextEncoder().encode("BEGIN\r\n");

export type AuthReply =
  | { kind: "ok"; guid: string }
  | { kind: "rejected"; mechanisms: string[] }
  | { kind: "error"; text: string }
  | { kind: "other"; line: string };

/** Parses one server line (without its \r\n). */
export function parseAuthReply(line: string): AuthReply {
  const [cmd = "", ...rest] = line.split(" ");
  switch (cmd) {
    case "OK":
      return { kind: "ok", guid: rest[0] ?? "" };
    case "REJECTED":
      return { kind: "rejected", mechanisms: rest.filter((m) => m !== "") };
    case "ERROR":
      return { kind: "error", text: rest.join(" ") };
    default:
      return { kind: "other", line };
  }
}

/**
 * Splits the first \r\n-terminated line off `buf`: the line as text and the
 * bytes after it (the start of the binary stream, for a server that already
 * sent some), or undefined while the line is incomplete.
 */
export function takeLine(buf: Uint8Array): { line: string; rest: Uint8Array } | undefined {
  for (let i = 0; i + 1 < buf.length; i++) {
    if (buf[i] === 0x0d && buf[i + 1] === 0x0a) {
      return { line: new TextDecoder().decode(buf.subarray(0, i)), rest: buf.subarray(i + 2) };
    }
  }
  if (buf.length > MAX_AUTH_LINE) throw new DBusProtocolError(`auth line longer than ${MAX_AUTH_LINE} bytes`);
  return undefined;
}
