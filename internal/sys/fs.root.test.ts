import { afterEach, describe, expect, test } from "bun:test";
import { lstatSync, mkdtempSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AT_FDCWD, CLOSE_RANGE, O_FLAGS, S_IF, chmod, chown, close, closeRange, dup3, getCloexec, lchown, makedev,
  memfdCreate, mkfifo, mknod, open, openat, pipe2, read, readIfReady, setCloexec, symlink, write, writeAll,
} from "./fs.ts";
import { isSysError } from "./errno.ts";

const isRoot = process.getuid?.() === 0;
const enc = new TextEncoder();
const dec = new TextDecoder();

describe.skipIf(!isRoot)("fs syscalls [requires root]", () => {
  let dir = "";
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  });

  test("readIfReady: -1 while nothing waits on a non-blocking fd, then the bytes; EBADF still throws", () => {
    const [r, w] = pipe2(O_FLAGS.CLOEXEC | O_FLAGS.NONBLOCK);
    const buf = new Uint8Array(16);
    try {
      expect(readIfReady(r, buf)).toBe(-1);
      writeAll(w, enc.encode("ping"));
      expect(dec.decode(buf.subarray(0, readIfReady(r, buf)))).toBe("ping");
    } finally {
      close(r);
      close(w);
    }
    expect(() => readIfReady(r, buf)).toThrow(/EBADF/);
  });

  test("pipe2 carries bytes and is close-on-exec", () => {
    const [r, w] = pipe2();
    try {
      expect(getCloexec(r)).toBe(true);
      writeAll(w, enc.encode("ping"));
      const buf = new Uint8Array(16);
      expect(dec.decode(buf.subarray(0, read(r, buf)))).toBe("ping");
      setCloexec(r, false);
      expect(getCloexec(r)).toBe(false);
    } finally {
      close(r);
      close(w);
    }
  });

  test("dup3 and closeRange(CLOEXEC)", () => {
    const [r, w] = pipe2(0);
    const hi = dup3(w, 900);
    try {
      expect(hi).toBe(900);
      expect(getCloexec(900)).toBe(false);
      closeRange(900, 900, CLOSE_RANGE.CLOEXEC);
      expect(getCloexec(900)).toBe(true);
    } finally {
      close(900);
      close(r);
      close(w);
    }
    expect(() => close(900)).toThrow("close `fd 900`: EBADF");
  });

  test("memfd, openat through /proc/self/fd", () => {
    const fd = memfdCreate("sysbox-test");
    try {
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe("/memfd:sysbox-test (deleted)");
      expect(write(fd, enc.encode("abc"))).toBe(3);
      const again = openat(AT_FDCWD, `/proc/self/fd/${fd}`, O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
      const buf = new Uint8Array(8);
      expect(dec.decode(buf.subarray(0, read(again, buf)))).toBe("abc");
      close(again);
    } finally {
      close(fd);
    }
  });

  test("mknod, mkfifo, symlink, chown, chmod", () => {
    dir = mkdtempSync(join(tmpdir(), "sys-fs-"));
    mknod(join(dir, "null"), S_IF.CHR | 0o666, makedev(1, 3));
    const st = statSync(join(dir, "null"));
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0x103);
    mkfifo(join(dir, "fifo"), 0o600);
    expect(statSync(join(dir, "fifo")).isFIFO()).toBe(true);
    symlink("null", join(dir, "link"));
    lchown(join(dir, "link"), 1234, 1235);
    expect(lstatSync(join(dir, "link")).uid).toBe(1234);
    chown(join(dir, "null"), 42, 43);
    chmod(join(dir, "null"), 0o600);
    const after = statSync(join(dir, "null"));
    expect([after.uid, after.gid, after.mode & 0o777]).toEqual([42, 43, 0o600]);
  });

  test("open errors name the path, the code and the flags", () => {
    try {
      open("/nonexistent/sysbox", O_FLAGS.RDONLY | O_FLAGS.DIRECTORY);
      throw new Error("open succeeded");
    } catch (e) {
      expect(isSysError(e, "ENOENT")).toBe(true);
      expect((e as Error).message).toBe("open `/nonexistent/sysbox` (O_DIRECTORY): ENOENT");
    }
  });
});
