/**
 * Framing for the daemon sockets: a big-endian length prefix and one CBOR
 * item. Pure (no sockets), so the partial-read logic is tested byte by byte.
 *
 *   0        1        2        3        4 ...                    4+len
 *   +--------+--------+--------+--------+===========================+
 *   |  len: payload length, uint32 BE   |  payload: one CBOR item   |
 *   +--------+--------+--------+--------+===========================+
 *
 * `len` counts the payload only, never the prefix, and must be 1..maxFrame.
 * A zero length is malformed: CBOR has no empty item.
 */
// The subpaths, not "cbor-x": its Node entry probes for the optional native
// cbor-extract addon, which costs ~18 ms per process in a compiled binary and
// buys nothing for frames this small.
import { Decoder } from "cbor-x/decode";
import { Encoder } from "cbor-x/encode";

/** Default largest payload either side accepts: 1 MiB. */
export const MAX_FRAME = 1024 * 1024;
/** Bytes in the length prefix. */
export const HEADER_SIZE = 4;

export type FrameErrorCode = "oversize" | "malformed";

/** A frame that cannot be decoded; the byte stream is unusable after it. */
export class FrameError extends Error {
  readonly code: FrameErrorCode;
  constructor(code: FrameErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FrameError";
    this.code = code;
  }
}

export interface FrameOptions {
  /** Largest payload in bytes; defaults to MAX_FRAME. */
  maxFrame?: number;
}

// Records (cbor-x's shared-structure extension) are off: the payload stays
// plain RFC 8949 CBOR that any decoder, and the other side's fresh decoder,
// can read without shared state.
const encoder = new Encoder({ useRecords: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

function checkMax(maxFrame: number): number {
  if (!Number.isInteger(maxFrame) || maxFrame < 1 || maxFrame > 0xffff_ffff) {
    throw new RangeError(`maxFrame must be an integer in 1..2^32-1, got ${maxFrame}`);
  }
  return maxFrame;
}

/** Encodes one message as prefix + CBOR; throws FrameError("oversize") above maxFrame. */
export function encodeFrame(msg: unknown, opts: FrameOptions = {}): Uint8Array {
  const max = checkMax(opts.maxFrame ?? MAX_FRAME);
  const payload = encoder.encode(msg);
  if (payload.length > max) {
    throw new FrameError("oversize", `frame of ${payload.length} bytes exceeds the ${max}-byte limit`);
  }
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length, false);
  out.set(payload, HEADER_SIZE);
  return out;
}

/** Decodes exactly one CBOR item; trailing bytes or a truncated item are malformed. */
export function decodePayload(payload: Uint8Array): unknown {
  if (payload.length === 0) throw new FrameError("malformed", "empty frame");
  try {
    return decoder.decode(payload);
  } catch (e) {
    throw new FrameError("malformed", `undecodable CBOR payload: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Reassembles frames from a byte stream delivered in arbitrary chunks.
 *
 * `push` stores the chunk at once and returns an iterator over the messages it
 * completes. The iterator yields each good frame before throwing at a bad one,
 * so requests that arrived ahead of garbage are still served. After a
 * FrameError the stream has lost sync: every later push throws it again.
 */
export class FrameDecoder {
  readonly maxFrame: number;
  #buf: Uint8Array = new Uint8Array(0);
  #off = 0;
  #failed: FrameError | undefined;

  constructor(opts: FrameOptions = {}) {
    this.maxFrame = checkMax(opts.maxFrame ?? MAX_FRAME);
  }

  /** Bytes received but not yet part of a complete frame. */
  get buffered(): number {
    return this.#buf.length - this.#off;
  }

  /** Feeds a chunk; iterate the result to get the messages it completes, in order. */
  push(chunk: Uint8Array): Generator<unknown, void, undefined> {
    if (this.#failed) throw this.#failed;
    const rest = this.#buf.subarray(this.#off);
    // Always copy: the caller may reuse its chunk buffer after we return.
    const buf = new Uint8Array(rest.length + chunk.length);
    buf.set(rest, 0);
    buf.set(chunk, rest.length);
    this.#buf = buf;
    this.#off = 0;
    return this.#drain();
  }

  *#drain(): Generator<unknown, void, undefined> {
    while (!this.#failed && this.#buf.length - this.#off >= HEADER_SIZE) {
      const start = this.#off + HEADER_SIZE;
      const len = new DataView(this.#buf.buffer, this.#buf.byteOffset + this.#off, HEADER_SIZE).getUint32(0, false);
      // Checked before waiting for the body: a bogus prefix must not make us
      // buffer up to 4 GiB.
      if (len > this.maxFrame) {
        this.#fail(new FrameError("oversize", `frame length ${len} exceeds the ${this.maxFrame}-byte limit`));
      }
      if (this.#buf.length - start < len) return;
      let msg: unknown;
      try {
        msg = decodePayload(this.#buf.subarray(start, start + len));
      } catch (e) {
        this.#fail(e as FrameError);
      }
      // Advance before yielding so an abandoned iterator leaves consistent state.
      this.#off = start + len;
      yield msg;
    }
    if (this.#failed) throw this.#failed;
  }

  #fail(e: FrameError): never {
    this.#failed = e;
    this.#buf = new Uint8Array(0);
    this.#off = 0;
    throw e;
  }
}
