import { describe, expect, test } from "bun:test";
import { FrameDecoder, FrameError, HEADER_SIZE, MAX_FRAME, decodePayload, encodeFrame } from "./frame.ts";

const samples: unknown[] = [
  { id: 1, type: "status", body: {} },
  { id: 4294967295, ok: false, error: { code: "unknown-message", message: "ü ✓ 日本" } },
  [1, -2, 3.5, null, true, "x".repeat(300)],
  new Uint8Array([0, 1, 2, 255]),
  0,
  "",
];

function decodeAll(dec: FrameDecoder, chunks: Uint8Array[]): unknown[] {
  const out: unknown[] = [];
  for (const c of chunks) out.push(...dec.push(c));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function frameOfLength(len: number): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE);
  new DataView(b.buffer).setUint32(0, len, false);
  return b;
}

describe("encodeFrame", () => {
  test("prefix is the payload length, big-endian", () => {
    const f = encodeFrame({ a: 1 });
    const len = new DataView(f.buffer, f.byteOffset).getUint32(0, false);
    expect(len).toBe(f.length - HEADER_SIZE);
    expect(decodePayload(f.subarray(HEADER_SIZE))).toEqual({ a: 1 });
  });

  test("rejects a message larger than maxFrame", () => {
    expect(() => encodeFrame("x".repeat(100), { maxFrame: 50 })).toThrow(FrameError);
    expect(() => encodeFrame(new Uint8Array(MAX_FRAME + 1))).toThrow(
      expect.objectContaining({ name: "FrameError", code: "oversize" }),
    );
  });

  test("a payload of exactly maxFrame bytes passes", () => {
    const payloadLen = encodeFrame("x".repeat(40)).length - HEADER_SIZE;
    expect(() => encodeFrame("x".repeat(40), { maxFrame: payloadLen })).not.toThrow();
    expect(() => encodeFrame("x".repeat(40), { maxFrame: payloadLen - 1 })).toThrow(FrameError);
  });

  test("maxFrame must be a positive integer", () => {
    expect(() => encodeFrame(1, { maxFrame: 0 })).toThrow(RangeError);
    expect(() => new FrameDecoder({ maxFrame: 1.5 })).toThrow(RangeError);
  });
});

describe("FrameDecoder", () => {
  test("round trips each sample", () => {
    for (const msg of samples) {
      expect(decodeAll(new FrameDecoder(), [encodeFrame(msg)])).toEqual([msg]);
    }
  });

  test("a frame split at every byte offset", () => {
    const msg = samples[0];
    const f = encodeFrame(msg);
    for (let i = 0; i <= f.length; i++) {
      const dec = new FrameDecoder();
      expect(decodeAll(dec, [f.subarray(0, i), f.subarray(i)])).toEqual([msg]);
      expect(dec.buffered).toBe(0);
    }
  });

  test("one byte at a time", () => {
    const f = concat(samples.map((m) => encodeFrame(m)));
    const dec = new FrameDecoder();
    expect(decodeAll(dec, Array.from(f, (b) => new Uint8Array([b])))).toEqual(samples);
  });

  test("several frames concatenated in one chunk", () => {
    const f = concat(samples.map((m) => encodeFrame(m)));
    expect(decodeAll(new FrameDecoder(), [f])).toEqual(samples);
  });

  test("two frames split across every offset of their concatenation", () => {
    const f = concat([encodeFrame(samples[0]), encodeFrame(samples[1])]);
    for (let i = 0; i <= f.length; i++) {
      expect(decodeAll(new FrameDecoder(), [f.subarray(0, i), f.subarray(i)])).toEqual([samples[0], samples[1]]);
    }
  });

  test("does not keep a reference to the caller's chunk", () => {
    const f = encodeFrame({ hello: "world" });
    const chunk = f.slice(0, 7);
    const dec = new FrameDecoder();
    expect([...dec.push(chunk)]).toEqual([]);
    chunk.fill(0);
    expect([...dec.push(f.subarray(7))]).toEqual([{ hello: "world" }]);
  });

  test("garbage bytes are malformed", () => {
    // A plausible length followed by a CBOR break code, which starts no item.
    const garbage = concat([frameOfLength(3), new Uint8Array([0xff, 0xff, 0xff])]);
    const dec = new FrameDecoder();
    let err: unknown;
    try {
      decodeAll(dec, [garbage]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameError);
    expect((err as FrameError).code).toBe("malformed");
    // The stream is out of sync now; even a good frame is refused.
    expect(() => dec.push(encodeFrame(1))).toThrow(FrameError);
  });

  test("trailing bytes after the CBOR item are malformed", () => {
    const payload = concat([encodeFrame(1).subarray(HEADER_SIZE), new Uint8Array([0x01])]);
    const f = concat([frameOfLength(payload.length), payload]);
    expect(() => decodeAll(new FrameDecoder(), [f])).toThrow(/undecodable CBOR/);
  });

  test("a truncated CBOR item is malformed", () => {
    // 0x62 announces a two-byte text string; only one byte follows.
    const f = concat([frameOfLength(2), new Uint8Array([0x62, 0x41])]);
    expect(() => decodeAll(new FrameDecoder(), [f])).toThrow(FrameError);
  });

  test("frames before a bad one are still yielded", () => {
    const bad = concat([frameOfLength(1), new Uint8Array([0xff])]);
    const chunk = concat([encodeFrame("a"), encodeFrame("b"), bad, encodeFrame("c")]);
    const got: unknown[] = [];
    expect(() => {
      for (const m of new FrameDecoder().push(chunk)) got.push(m);
    }).toThrow(FrameError);
    expect(got).toEqual(["a", "b"]);
  });

  test("an oversize length fails before its body arrives", () => {
    const dec = new FrameDecoder({ maxFrame: 1024 });
    let err: unknown;
    try {
      decodeAll(dec, [frameOfLength(1025)]);
    } catch (e) {
      err = e;
    }
    expect((err as FrameError).code).toBe("oversize");
    expect((err as Error).message).toContain("1025");
  });

  test("text bytes (an HTTP request) read as an oversize length", () => {
    const http = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n");
    expect(() => decodeAll(new FrameDecoder(), [http])).toThrow(/exceeds the 1048576-byte limit/);
  });

  test("a zero-length frame is malformed", () => {
    let err: unknown;
    try {
      decodeAll(new FrameDecoder(), [frameOfLength(0)]);
    } catch (e) {
      err = e;
    }
    expect((err as FrameError).code).toBe("malformed");
    expect((err as Error).message).toBe("empty frame");
  });

  test("an incomplete header waits for more bytes", () => {
    const dec = new FrameDecoder();
    expect(decodeAll(dec, [new Uint8Array([0, 0])])).toEqual([]);
    expect(dec.buffered).toBe(2);
  });
});
