import type { Logger } from "../log/mod.ts";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type Client } from "./client.ts";
import { encodeFrame } from "./frame.ts";
import type { Handlers, RequestContext } from "./messages.ts";
import { serve, type Server } from "./server.ts";
import { makeStaleSocket, rawExchange } from "./testing.ts";

let dir: string;
let sock: string;
let server: Server | undefined;
const clients: Client[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ipc-server-"));
  sock = join(dir, "t.sock");
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A status body whose pid echoes the request id, so replies can be matched to requests. */
function statusFor(ctx: RequestContext) {
  return { daemon: "test", version: "0", commit: "x", pid: ctx.id, uptimeSeconds: 0 };
}
const status: Handlers<"status">["status"] = (_body, ctx) => statusFor(ctx);

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
}

async function client(): Promise<Client<"status">> {
  const c = await connect<"status">(sock, { peer: "test-daemon" });
  clients.push(c);
  return c;
}

describe("serve", () => {
  test("many requests in flight on one connection, replies matched by id", async () => {
    const N = 40;
    const order: number[] = [];
    const handlers: Handlers<"status"> = {
      async status(_body, ctx) {
        // Earlier requests finish later, so replies arrive in reverse order.
        await Bun.sleep((N - ctx.id) * 2);
        order.push(ctx.id);
        return statusFor(ctx);
      },
    };
    server = await serve(sock, handlers);
    const c = await client();
    const replies = await Promise.all(Array.from({ length: N }, () => c.request("status", {})));
    expect(replies.map((r) => r.pid)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(order.indexOf(N)).toBeLessThan(order.indexOf(1));
  });

  test("many connections at once", async () => {
    server = await serve(sock, { status: (_b, ctx) => ({ ...statusFor(ctx), daemon: `conn${ctx.connection}` }) });
    const cs = await Promise.all(Array.from({ length: 10 }, () => client()));
    const replies = await Promise.all(cs.map((c) => c.request("status", {})));
    expect(new Set(replies.map((r) => r.daemon)).size).toBe(10);
    expect(server.connections).toBe(10);
  });

  test("socket file is mode 0600", async () => {
    server = await serve(sock, { status });
    expect(statSync(sock).mode & 0o777).toBe(0o600);
  });

  test("garbage closes that connection only; a new connection is served", async () => {
    const logger = recordingLogger();
    server = await serve(sock, { status }, { name: "test-daemon", logger });
    const bystander = await client();
    expect((await bystander.request("status", {})).pid).toBe(1);

    // Text where a length prefix belongs reads as a 1.2 GB frame.
    const res = await rawExchange(sock, new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
    expect(res.closedByPeer).toBe(true);
    expect(res.replies).toEqual([
      { id: 0, ok: false, error: { code: "oversize-frame", message: "frame length 1195725856 exceeds the 1048576-byte limit" } },
    ]);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/^test-daemon: closing connection 2: frame length/);

    const fresh = await client();
    expect((await fresh.request("status", {})).pid).toBe(1);
    expect((await bystander.request("status", {})).pid).toBe(2);
  });

  test("undecodable CBOR gets malformed-frame and a close", async () => {
    server = await serve(sock, { status });
    const bad = new Uint8Array([0, 0, 0, 2, 0xff, 0xff]);
    const res = await rawExchange(sock, bad);
    expect(res.closedByPeer).toBe(true);
    expect(res.replies).toMatchObject([{ id: 0, ok: false, error: { code: "malformed-frame" } }]);
  });

  test("a request ahead of garbage in the same chunk runs; its reply is dropped with the connection", async () => {
    let ran = 0;
    server = await serve(sock, {
      status: (_b, ctx) => {
        ran++;
        return statusFor(ctx);
      },
    });
    const good = encodeFrame({ id: 5, type: "status", body: {} });
    const res = await rawExchange(sock, new Uint8Array([...good, 0, 0, 0, 1, 0xff]));
    expect(ran).toBe(1);
    expect(res.closedByPeer).toBe(true);
    expect(res.replies).toMatchObject([{ id: 0, ok: false, error: { code: "malformed-frame" } }]);
  });

  test("an oversize frame under a custom limit", async () => {
    server = await serve(sock, { status }, { maxFrame: 64 });
    const res = await rawExchange(sock, encodeFrame({ id: 1, type: "status", body: { pad: "x".repeat(100) } }));
    expect(res.replies).toMatchObject([{ id: 0, ok: false, error: { code: "oversize-frame" } }]);
  });

  test("an envelope without an id is a connection error", async () => {
    server = await serve(sock, { status });
    const res = await rawExchange(sock, encodeFrame({ type: "status", body: {} }));
    expect(res.closedByPeer).toBe(true);
    expect(res.replies).toMatchObject([{ id: 0, ok: false, error: { code: "invalid-message" } }]);
  });

  test("unknown type gets unknown-message and the connection stays open", async () => {
    server = await serve(sock, { status });
    const c = await client();
    const err = await c.request("nope" as "status", {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "RemoteError", code: "unknown-message", messageType: "nope" });
    expect((err as Error).message).toBe('test-daemon nope: unknown message type "nope"');
    expect((await c.request("status", {})).pid).toBe(2);
  });

  test("invalid body gets invalid-message naming the field", async () => {
    server = await serve(sock, { status });
    const c = await client();
    const err = await c.request("status", null as unknown as Record<string, never>).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "invalid-message" });
    expect((err as Error).message).toContain("invalid status request: body: ");
    const res = await rawExchange(sock, encodeFrame({ id: 3, type: 42, body: {} }), { waitMs: 200 });
    expect(res.closedByPeer).toBe(false);
    expect(res.replies).toMatchObject([{ id: 3, ok: false, error: { code: "invalid-message", message: expect.stringContaining("type: ") } }]);
  });

  test("a handler's invalid response body becomes an internal error naming the field", async () => {
    server = await serve(sock, { status: () => ({ daemon: 5 }) as never });
    const c = await client();
    const err = await c.request("status", {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "internal" });
    expect((err as Error).message).toContain("invalid status response: body.daemon: ");
  });

  test("a handler's thrown code reaches the client", async () => {
    server = await serve(sock, {
      status() {
        throw Object.assign(new Error("mount `/x`: EPERM"), { code: "EPERM" });
      },
    });
    const c = await client();
    expect(await c.request("status", {}).catch((e: unknown) => e)).toMatchObject({ code: "EPERM", message: "test-daemon status: mount `/x`: EPERM" });
  });

  test("a reply larger than the frame limit becomes an error reply", async () => {
    server = await serve(sock, { status: (_b, ctx) => ({ ...statusFor(ctx), daemon: "x".repeat(200) }) }, { maxFrame: 128 });
    const c = await connect<"status">(sock, { maxFrame: 128 });
    clients.push(c);
    expect(await c.request("status", {}).catch((e: unknown) => e)).toMatchObject({ code: "internal" });
  });

  test("a huge error message is truncated rather than breaking the reply", async () => {
    server = await serve(sock, {
      status() {
        throw new Error("x".repeat(2 * 1024 * 1024));
      },
    });
    const err = await (await client()).request("status", {}).catch((e: Error) => e);
    expect(err).toMatchObject({ code: "internal" });
    expect((err as Error).message.length).toBeLessThan(17 * 1024);
  });

  test("a stale socket file is replaced", async () => {
    await makeStaleSocket(sock);
    expect(existsSync(sock)).toBe(true);
    server = await serve(sock, { status });
    expect((await (await client()).request("status", {})).pid).toBe(1);
  });

  test("refuses a socket that has a listener, or a path that is not a socket", async () => {
    server = await serve(sock, { status });
    await expect(serve(sock, { status })).rejects.toThrow(`${sock} is in use by another process`);
    const file = join(dir, "plain");
    writeFileSync(file, "");
    await expect(serve(file, { status })).rejects.toThrow(`${file} exists and is not a socket`);
  });

  test("close lets in-flight requests finish, then removes the socket", async () => {
    server = await serve(sock, {
      async status(_b, ctx) {
        await Bun.sleep(100);
        return statusFor(ctx);
      },
    });
    const c = await client();
    const pending = c.request("status", {});
    await Bun.sleep(10);
    await server.close();
    expect((await pending).pid).toBe(1);
    expect(existsSync(sock)).toBe(false);
    expect(await connect(sock).catch((e: Error) => e.message)).toContain("ENOENT");
  });

  test("close does not wait longer than drainMs for a stuck handler", async () => {
    server = await serve(sock, { status: () => new Promise(() => {}) }, { drainMs: 50 });
    const c = await client();
    const pending = c.request("status", {}).catch((e: unknown) => e);
    await Bun.sleep(10);
    const t0 = performance.now();
    await server.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await pending).toMatchObject({ name: "IpcError", code: "closed" });
  });
});
