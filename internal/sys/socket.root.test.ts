import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { O_FLAGS, close, getCloexec, open, pipe2, read, writeAll } from "./fs.ts";
import { accept, recv, recvFds, send, sendFds, socketpair, unixConnect, unixListen } from "./socket.ts";

const isRoot = process.getuid?.() === 0;
const child = join(import.meta.dir, "testdata", "socket-child.ts");
const enc = new TextEncoder();
const dec = new TextDecoder();

function readAll(fd: number): string {
  const buf = new Uint8Array(256);
  return dec.decode(buf.subarray(0, read(fd, buf)));
}

describe.skipIf(!isRoot)("unix sockets [requires root]", () => {
  let dir = "";
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  });

  test("an fd passed with SCM_RIGHTS to another process reads the same file, and back", async () => {
    dir = mkdtempSync(join(tmpdir(), "sys-sock-"));
    writeFileSync(join(dir, "file"), "shared contents");
    const [mine, theirs] = socketpair();
    const file = open(join(dir, "file"), O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
    try {
      const p = Bun.spawn([process.execPath, child], { stdio: ["ignore", "pipe", "pipe", theirs] });
      close(theirs);
      sendFds(mine, [file], enc.encode("file"));
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      if (code !== 0) throw new Error(`socket-child exited ${code}: ${err}`);
      expect(JSON.parse(out)).toEqual({ tag: "file", fds: 1, content: "shared contents" });
      // The child has exited; its message is already queued, so this recv cannot block.
      const back = recvFds(mine, 2);
      expect(dec.decode(back.data)).toBe("pipe");
      expect(back.fds.length).toBe(1);
      expect(getCloexec(back.fds[0]!)).toBe(true);
      expect(readAll(back.fds[0]!)).toBe("hello from the child");
      close(back.fds[0]!);
    } finally {
      close(file);
      close(mine);
    }
  });

  test("fds beyond maxFds are reported as truncated", () => {
    const [a, b] = socketpair();
    const [r, w] = pipe2();
    try {
      sendFds(a, [r, w, r], enc.encode("x"));
      const got = recvFds(b, 1);
      expect(got.truncated).toBe(true);
      expect(got.fds.length).toBe(1);
      close(got.fds[0]!);
    } finally {
      for (const fd of [a, b, r, w]) close(fd);
    }
  });

  test("listen, connect, accept, send, recv on a path; EPIPE instead of SIGPIPE", () => {
    dir = mkdtempSync(join(tmpdir(), "sys-sock-"));
    const path = join(dir, "s.sock");
    const l = unixListen(path);
    const c = unixConnect(path);
    const s = accept(l);
    try {
      expect(send(c, enc.encode("ping"))).toBe(4);
      const buf = new Uint8Array(16);
      expect(dec.decode(buf.subarray(0, recv(s, buf)))).toBe("ping");
      writeAll(s, enc.encode("pong"));
      expect(dec.decode(buf.subarray(0, recv(c, buf)))).toBe("pong");
      close(s);
      expect(recv(c, buf)).toBe(0);
      expect(() => send(c, enc.encode("x"))).toThrow(`sendmsg \`fd ${c}\`: EPIPE`);
    } finally {
      close(c);
      close(l);
    }
    expect(() => unixConnect(join(dir, "missing.sock"))).toThrow(`connect \`${join(dir, "missing.sock")}\`: ENOENT`);
    expect(() => unixListen(path)).toThrow(`bind \`${path}\`: EADDRINUSE`);
  });
});
