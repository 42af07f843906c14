/**
 * D-Bus messages: the fixed header, the header fields and the body, and how
 * to find where one message ends in a byte stream. Pure code, no I/O.
 *
 *   0     1     2      3      4          8         12           16
 *   +-----+-----+------+------+----------+---------+------------+------------------+-----+------+
 *   | 'l' |type |flags |ver 1 | body len | serial  | fields len | fields a(yv) ... | pad | body |
 *   +-----+-----+------+------+----------+---------+------------+------------------+-----+------+
 *                                 u32        u32       u32       each (code, variant)  to 8
 *
 * 'l' is little-endian ('B' big-endian: accepted, never sent). The header
 * field array's elements are structs, so each starts at a multiple of 8; the
 * body starts at the next multiple of 8 after the array, so values in the
 * body align the same whether counted from the message or from the body.
 */
import { DBusProtocolError } from "./errors.ts";
import { Reader, Variant, Writer, type DBusValue } from "./marshal.ts";
import { parseSignature } from "./signature.ts";

/** Message types (header byte 1). */
export const MessageType = {
  METHOD_CALL: 1,
  METHOD_RETURN: 2,
  ERROR: 3,
  SIGNAL: 4,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** Header byte 2. */
export const MessageFlag = {
  /** Don't send a METHOD_RETURN or ERROR for this call. */
  NO_REPLY_EXPECTED: 0x1,
  /** The bus must not launch an owner for the destination name. */
  NO_AUTO_START: 0x2,
  /** The caller is prepared to wait for interactive authorization (polkit). */
  ALLOW_INTERACTIVE_AUTHORIZATION: 0x4,
} as const;

/** Header field codes and the one type each field's variant must hold. */
export const HeaderField = {
  PATH: 1, // o: the object called, or emitting a signal
  INTERFACE: 2, // s
  MEMBER: 3, // s: method or signal name
  ERROR_NAME: 4, // s
  REPLY_SERIAL: 5, // u: serial of the call this answers
  DESTINATION: 6, // s
  SENDER: 7, // s: unique name, filled in by the bus
  SIGNATURE: 8, // g: of the body; absent means empty
  UNIX_FDS: 9, // u
} as const;

const FIELD_SIGS: Record<number, string> = { 1: "o", 2: "s", 3: "s", 4: "s", 5: "u", 6: "s", 7: "s", 8: "g", 9: "u" };

/** 128 MiB: the largest message the spec allows. */
export const MAX_MESSAGE_LENGTH = 128 * 1024 * 1024;
/** Bytes needed before `messageLength` can tell a message's size. */
export const FIXED_HEADER_LENGTH = 16;

export interface Message {
  type: MessageTypeCode;
  flags?: number;
  /** Non-zero; chosen by the sender, unique per connection. */
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  /** Body signature; "" or absent for no body. */
  signature?: string;
  unixFds?: number;
  body?: DBusValue[];
}

/** sd-bus's order, so a call we send is byte for byte what systemd's own tools send. */
const FIELD_KEYS: ReadonlyArray<[number, keyof Message]> = [
  [HeaderField.PATH, "path"],
  [HeaderField.MEMBER, "member"],
  [HeaderField.INTERFACE, "interface"],
  [HeaderField.ERROR_NAME, "errorName"],
  [HeaderField.REPLY_SERIAL, "replySerial"],
  [HeaderField.DESTINATION, "destination"],
  [HeaderField.SENDER, "sender"],
  [HeaderField.SIGNATURE, "signature"],
  [HeaderField.UNIX_FDS, "unixFds"],
];

const REQUIRED: Record<number, Array<keyof Message>> = {
  [MessageType.METHOD_CALL]: ["path", "member"],
  [MessageType.METHOD_RETURN]: ["replySerial"],
  [MessageType.ERROR]: ["errorName", "replySerial"],
  [MessageType.SIGNAL]: ["path", "interface", "member"],
};

function checkRequired(m: Message): void {
  const req = REQUIRED[m.type];
  if (!req) throw new DBusProtocolError(`unknown message type ${m.type}`);
  for (const k of req) {
    if (m[k] === undefined) throw new DBusProtocolError(`a message of type ${m.type} needs the ${k} header field`);
  }
}

/** Encodes a message, little-endian. */
export function encodeMessage(m: Message): Uint8Array {
  checkRequired(m);
  if (!Number.isInteger(m.serial) || m.serial < 1 || m.serial > 0xffffffff) {
    throw new DBusProtocolError(`message serial must be 1..2^32-1, got ${m.serial}`);
  }
  const sig = m.signature ?? "";
  const body = m.body ?? [];
  const bodyTypes = parseSignature(sig);
  const bw = new Writer();
  bw.writeAll(bodyTypes, body);
  const bodyBytes = bw.finish();

  const w = new Writer();
  w.u8(0x6c); // 'l'
  w.u8(m.type);
  w.u8(m.flags ?? 0);
  w.u8(1);
  w.u32(bodyBytes.length);
  w.u32(m.serial);
  const fields: DBusValue[] = [];
  for (const [code, key] of FIELD_KEYS) {
    const v = m[key];
    if (v === undefined || (key === "signature" && v === "")) continue;
    fields.push([code, new Variant(FIELD_SIGS[code]!, v as DBusValue)]);
  }
  w.writeAll("a(yv)", [fields]);
  w.align(8);
  w.bytes(bodyBytes);
  if (w.pos > MAX_MESSAGE_LENGTH) throw new DBusProtocolError(`message of ${w.pos} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
  return w.finish();
}

function endianOf(b: number | undefined): boolean {
  if (b === 0x6c) return true;
  if (b === 0x42) return false;
  throw new DBusProtocolError(`invalid endianness byte ${b}`);
}

/**
 * The total length of the message that starts `buf`, once its first 16 bytes
 * are there; undefined before that. Throws on a length past the spec's limit.
 */
export function messageLength(buf: Uint8Array): number | undefined {
  if (buf.length < FIXED_HEADER_LENGTH) return undefined;
  const le = endianOf(buf[0]);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bodyLen = v.getUint32(4, le);
  const fieldsLen = v.getUint32(12, le);
  const headerLen = FIXED_HEADER_LENGTH + fieldsLen + ((8 - (fieldsLen % 8)) % 8);
  const total = headerLen + bodyLen;
  if (total > MAX_MESSAGE_LENGTH) throw new DBusProtocolError(`message of ${total} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
  return total;
}

/** Decodes exactly one message; `buf` must hold all of it and nothing more. */
export function decodeMessage(buf: Uint8Array): Message {
  const total = messageLength(buf);
  if (total === undefined || total !== buf.length) {
    throw new DBusProtocolError(`message needs ${total ?? FIXED_HEADER_LENGTH} bytes, got ${buf.length}`);
  }
  const le = endianOf(buf[0]);
  const r = new Reader(buf, le);
  r.pos = 1;
  const type = r.u8();
  const flags = r.u8();
  const version = r.u8();
  if (version !== 1) throw new DBusProtocolError(`unsupported protocol version ${version}`);
  const bodyLen = r.u32();
  const serial = r.u32();
  if (serial === 0) throw new DBusProtocolError("message serial 0 is invalid");
  const m: Message = { type: type as MessageTypeCode, flags, serial };
  const [fields] = r.readAll("a(yv)") as [Array<[number, Variant]>];
  for (const [code, variant] of fields) {
    const entry = FIELD_KEYS.find(([c]) => c === code);
    if (!entry) continue; // unknown fields must be ignored
    if (variant.signature !== FIELD_SIGS[code]) {
      throw new DBusProtocolError(`header field ${code} holds ${variant.signature}, not ${FIELD_SIGS[code]}`);
    }
    (m as unknown as Record<string, DBusValue>)[entry[1]] = variant.value;
  }
  r.align(8);
  if (r.pos + bodyLen !== buf.length) throw new DBusProtocolError("header length and body length disagree");
  const body = new Reader(buf, le, r.pos);
  m.body = body.readAll(m.signature ?? "");
  if (body.pos !== buf.length) throw new DBusProtocolError(`${buf.length - body.pos} bytes left after the body of signature ${JSON.stringify(m.signature ?? "")}`);
  checkRequired(m);
  return m;
}
