import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { close, read, writeAll } from "./fs.ts";
import { clearOnlcr, getWinsize, openPty, setRawMode, setTermios, setWinsize, type Pty } from "./pty.ts";

const isRoot = process.getuid?.() === 0;
const child = join(import.meta.dir, "testdata", "pty-child.ts");
const enc = new TextEncoder();

/** Reads until `n` bytes arrived; only call when they are on their way, reads block. */
function readN(fd: number, n: number): string {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) got += read(fd, buf.subarray(got));
  return new TextDecoder().decode(buf);
}

async function runChild(args: string[]): Promise<Record<string, unknown>> {
  const p = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`pty-child exited ${code}: ${err}`);
  return JSON.parse(out);
}

describe.skipIf(!isRoot)("ptys [requires root]", () => {
  let pty: Pty | undefined;
  let dir = "";
  afterEach(() => {
    if (pty) for (const fd of [pty.master, pty.slave]) close(fd);
    pty = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  });

  test("bytes flow both ways through the line discipline", () => {
    pty = openPty();
    expect(pty.slavePath).toMatch(/^\/dev\/pts\/\d+$/);
    writeAll(pty.master, enc.encode("hello\n"));
    expect(readN(pty.slave, 6)).toBe("hello\n");
    expect(readN(pty.master, 7)).toBe("hello\r\n"); // echo, with ONLCR
    writeAll(pty.slave, enc.encode("out\n"));
    expect(readN(pty.master, 5)).toBe("out\r\n");
    clearOnlcr(pty.slave);
    writeAll(pty.slave, enc.encode("out\n"));
    expect(readN(pty.master, 4)).toBe("out\n");
  });

  test("raw mode passes bytes through without a newline and without echo", () => {
    pty = openPty();
    const old = setRawMode(pty.slave);
    writeAll(pty.master, enc.encode("ab\rc"));
    expect(readN(pty.slave, 4)).toBe("ab\rc");
    setTermios(pty.slave, old);
    writeAll(pty.master, enc.encode("x\n"));
    expect(readN(pty.slave, 2)).toBe("x\n");
    expect(readN(pty.master, 3)).toBe("x\r\n");
  });

  test("window size set on the master reads back on the slave", () => {
    pty = openPty();
    setWinsize(pty.master, 40, 132);
    expect(getWinsize(pty.slave)).toEqual({ rows: 40, cols: 132 });
  });

  test("openPtyIn opens a pair inside a private devpts instance", async () => {
    dir = mkdtempSync(join(tmpdir(), "sys-devpts-"));
    const r = await runChild(["unshare", "-m", "--propagation", "private", process.execPath, child, "devpts", dir]);
    expect(r).toMatchObject({ slavePath: join(dir, "0"), got: "line\n", isChar: true, cloexec: true });
  });

  test("setControllingTty makes the slave this session's tty", async () => {
    const r = await runChild([process.execPath, child, "ctty"]);
    expect(r.sid).toBe(r.pid);
    expect(r.ttyNr).toBe(r.rdev);
  });
});
