/**
 * A minimal D-Bus client: the wire format (marshal.ts, message.ts), SASL
 * EXTERNAL (auth.ts) and a synchronous connection over a Unix socket
 * (conn.ts). Enough to drive systemd's Manager API; no object export, no fd
 * passing. The fake peer for tests is in fakebus.ts, outside this surface.
 */
export { DBusConnectionError, DBusError, DBusProtocolError, type ConnectionErrorCode } from "./errors.ts";
export { ALIGNMENT, parseSignature, parseSingle, type TypeNode } from "./signature.ts";
export { isObjectPath, marshal, unmarshal, Reader, Variant, Writer, type DBusValue } from "./marshal.ts";
export {
  decodeMessage, encodeMessage, HeaderField, messageLength, MessageFlag, MessageType,
  type Message, type MessageTypeCode,
} from "./message.ts";
export { authRequest, hexUid, parseAuthReply, type AuthReply } from "./auth.ts";
export { Connection, socketTransport, type ConnectOptions, type MethodCall, type Transport } from "./conn.ts";
