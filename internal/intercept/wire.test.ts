import { describe, expect, test } from "bun:test";
import { FrameDecoder } from "../ipc/frame.ts";
import { ACK, BadRequestError, encodeReply, encodeRequest, parseReply, parseRequest, type RegisterRequest } from "./wire.ts";

function roundTrip(frame: Uint8Array): unknown {
  const d = new FrameDecoder();
  const out = [...d.push(frame)];
  expect(out.length).toBe(1);
  return out[0];
}

describe("registration request", () => {
  const init: RegisterRequest = { v: 1, kind: "init", containerId: "abc123", mounts: { root: 51, proc: 52, sys: 58, readonly: [58, 110] } };

  test("init and exec requests round-trip through a frame", () => {
    expect(parseRequest(roundTrip(encodeRequest(init)))).toEqual(init);
    const exec: RegisterRequest = { v: 1, kind: "exec", containerId: "abc123" };
    expect(parseRequest(roundTrip(encodeRequest(exec)))).toEqual(exec);
  });

  test("the frame is a 4-byte big-endian length and a CBOR map", () => {
    const f = encodeRequest({ v: 1, kind: "exec", containerId: "x" });
    expect(new DataView(f.buffer).getUint32(0, false)).toBe(f.length - 4);
    expect(f[4]! >> 5).toBe(5); // CBOR major type 5: map
  });

  test.each([
    [{ ...init, v: 2 }, "v"],
    [{ ...init, containerId: "" }, "containerId"],
    [{ ...init, containerId: "a/b" }, "containerId"],
    [{ ...init, mounts: { root: 0, readonly: [] } }, "mounts.root"],
    [{ ...init, mounts: { root: 1, readonly: [1.5] } }, "mounts.readonly.0"],
    [{ v: 1, kind: "init", containerId: "x" }, "mounts"],
    [{ v: 1, kind: "other", containerId: "x" }, "kind"],
    ["ack", "request"],
  ])("refuses %j (%s)", (raw, field) => {
    expect(() => parseRequest(raw)).toThrow(BadRequestError);
    expect(() => parseRequest(raw)).toThrow(`${field}:`);
  });
});

describe("registration reply", () => {
  test('"ack" or {error}', () => {
    expect(roundTrip(encodeReply({ ok: true }))).toBe(ACK);
    expect(parseReply(roundTrip(encodeReply({ ok: true })))).toEqual({ ok: true });
    expect(parseReply(roundTrip(encodeReply({ ok: false, error: "no" })))).toEqual({ ok: false, error: "no" });
    expect(() => parseReply(42)).toThrow(BadRequestError);
  });
});
