import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import {
  MESSAGES,
  RequestError,
  checkRequest,
  checkResponseBody,
  parseResponseEnvelope,
  toWireError,
  type Registry,
} from "./messages.ts";

const all = () => true;

// A registry with a nested body, to check that errors name the field.
const registry: Registry = {
  ...MESSAGES,
  register: {
    request: v.object({ id: v.string(), uidMappings: v.array(v.object({ containerID: v.number(), size: v.number() })) }),
    response: v.object({}),
  },
};

describe("checkRequest", () => {
  test("a good status request", () => {
    expect(checkRequest({ id: 7, type: "status", body: {} }, all)).toEqual({ ok: true, id: 7, type: "status", body: {} });
  });

  test("unknown type keeps the id", () => {
    const r = checkRequest({ id: 3, type: "bogus", body: {} }, all);
    expect(r).toEqual({ ok: false, id: 3, error: { code: "unknown-message", message: 'unknown message type "bogus"' } });
  });

  test("a registered type this daemon does not serve is unknown", () => {
    const r = checkRequest({ id: 3, type: "status", body: {} }, () => false);
    expect(r.ok || r.error.code).toBe("unknown-message");
  });

  test("inherited object keys are not message types", () => {
    const r = checkRequest({ id: 1, type: "toString", body: {} }, all);
    expect(r.ok || r.error.code).toBe("unknown-message");
  });

  test("an invalid body names the field", () => {
    const r = checkRequest({ id: 9, type: "register", body: { id: "c1", uidMappings: [{ containerID: 0, size: "x" }] } }, all, { registry });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.id).toBe(9);
    expect(r.error.code).toBe("invalid-message");
    expect(r.error.message).toStartWith("invalid register request: body.uidMappings.0.size: ");
  });

  test("a body that is not an object", () => {
    const r = checkRequest({ id: 1, type: "status", body: null }, all);
    expect(r.ok || r.error.message).toStartWith("invalid status request: body: ");
  });

  test("an envelope without a usable id", () => {
    for (const raw of [null, 5, "x", [], { type: "status", body: {} }, { id: 0, type: "status", body: {} }, { id: -1, type: "status" }, { id: 1.5, type: "status" }]) {
      const r = checkRequest(raw, all);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.id).toBeUndefined();
      expect(r.error.code).toBe("invalid-message");
    }
  });

  test("an envelope with an id but a bad type field keeps the id", () => {
    const r = checkRequest({ id: 4, type: 7, body: {} }, all);
    expect(r).toMatchObject({ ok: false, id: 4, error: { code: "invalid-message" } });
    if (!r.ok) expect(r.error.message).toContain("type: ");
  });
});

describe("checkResponseBody", () => {
  const good = { daemon: "sysbox-mgr", version: "0.1.0", commit: "abc", pid: 12, uptimeSeconds: 1.5 };

  test("accepts a status body and strips unknown fields", () => {
    expect(checkResponseBody("status", { ...good, extra: 1 })).toEqual({ ok: true, body: good });
  });

  test("names the bad field", () => {
    const r = checkResponseBody("status", { ...good, pid: 0 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toStartWith("invalid status response: body.pid: ");
  });
});

describe("parseResponseEnvelope", () => {
  test("ok and error replies", () => {
    expect(parseResponseEnvelope({ id: 1, ok: true, body: { a: 1 } })).toEqual({ ok: true, envelope: { id: 1, ok: true, body: { a: 1 } } });
    const err = { id: 0, ok: false as const, error: { code: "malformed-frame", message: "x" } };
    expect(parseResponseEnvelope(err)).toEqual({ ok: true, envelope: err });
  });

  test("rejects an error reply without a code", () => {
    const r = parseResponseEnvelope({ id: 1, ok: false, error: { message: "x" } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain("error.code");
  });
});

describe("toWireError", () => {
  test("keeps a code the handler chose", () => {
    expect(toWireError(new RequestError("not-found", "no container c1"))).toEqual({ code: "not-found", message: "no container c1" });
    expect(toWireError(Object.assign(new Error("mount `/x`: EPERM"), { code: "EPERM" }))).toEqual({ code: "EPERM", message: "mount `/x`: EPERM" });
  });

  test("anything else is internal", () => {
    expect(toWireError(new TypeError("boom"))).toEqual({ code: "internal", message: "boom" });
    expect(toWireError("str")).toEqual({ code: "internal", message: "str" });
    expect(toWireError(Object.assign(new Error("x"), { code: 5 })).code).toBe("internal");
  });
});
