import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IpcError, RemoteError, connect, connectDaemon, waitForSocket, type Client } from "./client.ts";
import { FrameDecoder, encodeFrame } from "./frame.ts";
import type { Handlers } from "./messages.ts";
import { serve, type Server } from "./server.ts";
import { makeStaleSocket } from "./testing.ts";

let dir: string;
let sock: string;
let server: Server | undefined;
let fake: ReturnType<typeof Bun.listen> | undefined;
const clients: Client[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ipc-client-"));
  sock = join(dir, "t.sock");
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
  server = undefined;
  fake?.stop(true);
  fake = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const body = (pid: number) => ({ daemon: "sysbox-mgr", version: "0.1.0", commit: "x", pid, uptimeSeconds: 1 });
const statusHandlers: Handlers<"status"> = { status: (_b, ctx) => body(ctx.id) };

async function client(path = sock): Promise<Client<"status">> {
  const c = await connect<"status">(path, { peer: "sysbox-mgr" });
  clients.push(c);
  return c;
}

/** A server that answers every request with `reply(id)` verbatim: lets a test send what ours never would. */
function fakeServer(reply: (id: number) => unknown | undefined): void {
  fake = Bun.listen<FrameDecoder>({
    unix: sock,
    socket: {
      open(s) {
        s.data = new FrameDecoder();
      },
      data(s, chunk) {
        for (const m of s.data.push(chunk)) {
          const r = reply((m as { id: number }).id);
          if (r !== undefined) s.write(encodeFrame(r));
        }
      },
    },
  });
}

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("connect", () => {
  test("a missing socket names the daemon, the path and ENOENT", async () => {
    const err = await caught(connect(sock, { peer: "sysbox-mgr" }));
    expect(err).toBeInstanceOf(IpcError);
    expect(err).toMatchObject({ code: "connect", errno: "ENOENT", socketPath: sock });
    expect(err.message).toBe(`failed to connect to sysbox-mgr at ${sock}: ENOENT (is sysbox-mgr running?)`);
  });

  test("a stale socket gives ECONNREFUSED", async () => {
    await makeStaleSocket(sock);
    const err = await caught(connect(sock, { peer: "sysbox-fs" }));
    expect(err.message).toBe(`failed to connect to sysbox-fs at ${sock}: ECONNREFUSED (is sysbox-fs running?)`);
  });

  test("connectDaemon finds the socket under the run dir and names the daemon", async () => {
    const err = await caught(connectDaemon("mgr", { runDir: dir }));
    expect(err.message).toStartWith(`failed to connect to sysbox-mgr at ${join(dir, "sysmgr.sock")}: ENOENT`);
    server = await serve(join(dir, "sysfs.sock"), statusHandlers);
    const c = await connectDaemon("fs", { runDir: dir });
    clients.push(c);
    expect(c.peer).toBe("sysbox-fs");
    expect((await c.request("status", {})).daemon).toBe("sysbox-mgr");
  });

  test("within restartGraceMs a daemon that is restarting (no socket, then a stale one) is waited for", async () => {
    const path = join(dir, "sysfs.sock");
    await makeStaleSocket(path);
    setTimeout(async () => {
      rmSync(path, { force: true });
      server = await serve(path, statusHandlers);
    }, 300);
    const c = await connectDaemon("fs", { runDir: dir, restartGraceMs: 5000 });
    clients.push(c);
    expect((await c.request("status", {})).daemon).toBe("sysbox-mgr");
  });

  test("past restartGraceMs the connect failure is reported as it is", async () => {
    const t0 = Date.now();
    const err = await caught(connectDaemon("fs", { runDir: dir, restartGraceMs: 200 }));
    expect(err.message).toContain("ENOENT (is sysbox-fs running?)");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
  });
});

describe("request", () => {
  test("a timeout names the daemon, the socket and the message type; the connection stays usable", async () => {
    let first = true;
    server = await serve(sock, {
      async status(_b, ctx) {
        if (first) {
          first = false;
          await Bun.sleep(200);
        }
        return body(ctx.id);
      },
    });
    const c = await client();
    const err = await caught(c.request("status", {}, { timeoutMs: 30 }));
    expect(err).toMatchObject({ name: "IpcError", code: "timeout", messageType: "status", socketPath: sock });
    expect(err.message).toBe(`sysbox-mgr at ${sock} did not answer "status" within 30 ms`);
    expect(c.pending).toBe(0);
    expect((await c.request("status", {})).pid).toBe(2);
    // The late reply to request 1 arrives and is ignored.
    await Bun.sleep(250);
    expect((await c.request("status", {})).pid).toBe(3);
  });

  test("concurrent requests from several clients", async () => {
    server = await serve(sock, {
      async status(_b, ctx) {
        await Bun.sleep(Math.random() * 20);
        return body(ctx.id);
      },
    });
    const cs = await Promise.all([client(), client(), client()]);
    const results = await Promise.all(cs.map((c) => Promise.all(Array.from({ length: 20 }, () => c.request("status", {})))));
    for (const r of results) expect(r.map((x) => x.pid)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  test("the daemon closing the connection fails pending requests", async () => {
    fakeServer(() => undefined);
    const c = await client();
    const p = c.request("status", {});
    await Bun.sleep(20);
    fake!.stop(true);
    fake = undefined;
    const err = await caught(p);
    expect(err).toMatchObject({ code: "closed" });
    expect(err.message).toBe(`sysbox-mgr at ${sock} closed the connection before answering "status"`);
    expect((await caught(c.request("status", {}))).message).toBe(`connection to sysbox-mgr at ${sock} is closed`);
  });

  test("close() fails pending requests", async () => {
    fakeServer(() => undefined);
    const c = await client();
    const p = c.request("status", {});
    c.close();
    expect(await caught(p)).toMatchObject({ code: "closed" });
  });

  test("a response body that fails its schema is a protocol error naming the field", async () => {
    fakeServer((id) => ({ id, ok: true, body: { ...body(1), pid: "one" } }));
    const err = await caught((await client()).request("status", {}));
    expect(err).toMatchObject({ code: "protocol" });
    expect(err.message).toContain("invalid status response: body.pid: ");
  });

  test("a bad envelope from the daemon is a protocol error", async () => {
    fakeServer((id) => ({ id, ok: "yes" }));
    expect(await caught((await client()).request("status", {}))).toMatchObject({ code: "protocol" });
  });

  test("a connection-level error (id 0) fails every pending request", async () => {
    fakeServer(() => ({ id: 0, ok: false, error: { code: "malformed-frame", message: "bad" } }));
    const c = await client();
    const err = await caught(c.request("status", {}));
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: "malformed-frame" });
  });

  test("a short-lived process that forgets close() still exits", async () => {
    server = await serve(sock, statusHandlers);
    const script = `
      import { connect } from ${JSON.stringify(join(import.meta.dir, "client.ts"))};
      const c = await connect(${JSON.stringify(sock)});
      const r = await c.request("status", {});
      console.log(r.daemon);
    `;
    const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    const killer = setTimeout(() => child.kill(), 5000);
    const code = await child.exited;
    clearTimeout(killer);
    expect(await new Response(child.stdout).text()).toBe("sysbox-mgr\n");
    expect(code).toBe(0);
  });
});

describe("waitForSocket", () => {
  test("waits while nothing listens, resolves once a server does", async () => {
    let settled = false;
    const waiting = waitForSocket(sock, { timeoutMs: 2000 }).finally(() => {
      settled = true;
    });
    await Bun.sleep(50);
    expect(settled).toBe(false);
    server = await serve(sock, statusHandlers);
    await expect(waiting).resolves.toBeUndefined();
    expect((await (await client()).request("status", {})).daemon).toBe("sysbox-mgr");
  });

  test("times out naming the socket and the last error", async () => {
    const err = await caught(waitForSocket(sock, { timeoutMs: 60 }));
    expect(err.message).toBe(`nothing accepted connections on ${sock} within 60 ms (last error: ENOENT)`);
  });
});
