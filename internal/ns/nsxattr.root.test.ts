import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { close, open, O_FLAGS } from "../sys/fs.ts";
import { isSysError } from "../sys/errno.ts";
import { POLL, encodePollfds, poll } from "../sys/seccomp_notify.ts";
import { finishXattr, startXattr, type XattrOptions } from "./nsxattr.ts";

const isRoot = process.getuid?.() === 0;
const RANGE = { first: 300000, size: 65536 };

/** Runs the stage and waits for its result: the call's value, or the SysError's code and step. */
function run(opts: XattrOptions): number | string {
  const r = startXattr(opts);
  poll(encodePollfds([{ fd: r.resultFd, events: POLL.IN }]), 5000);
  try {
    return finishXattr(r);
  } catch (e) {
    if (isSysError(e)) return `${e.syscall}: ${e.code}`;
    throw e;
  }
}

describe.skipIf(!isRoot)("trusted.* xattrs as host root, on a container's file [requires root]", () => {
  let root = "";
  let rootFd = -1;
  const at = (path: string, follow = true) => ({ rootFd, path, follow });

  beforeAll(() => {
    // The container's root: its files owned by its range, one host-owned (a volume's file shows as nobody inside).
    root = mkdtempSync("/var/tmp/nsxattr-test-");
    mkdirSync(join(root, "etc"));
    writeFileSync(join(root, "f"), "x");
    writeFileSync(join(root, "etc", "passwd"), "inside");
    writeFileSync(join(root, "host-owned"), "x");
    for (const p of ["", "f", "etc", "etc/passwd"]) chownSync(join(root, p), RANGE.first, RANGE.first);
    symlinkSync("/etc/passwd", join(root, "link"));
    symlinkSync("../../../../../../etc/shadow", join(root, "up"));
    rootFd = open(root, O_FLAGS.PATH | O_FLAGS.CLOEXEC);
  });

  afterAll(() => {
    if (rootFd >= 0) close(rootFd);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test("set, read back the length, remove; a second remove finds nothing", () => {
    const name = "trusted.sysbox-test";
    expect(run({ op: "set", name, target: at("/f"), value: new TextEncoder().encode("y"), owners: [RANGE] })).toBe(0);
    expect(run({ op: "get", name, target: at("/f"), size: 0, owners: [RANGE] })).toBe(1);
    expect(run({ op: "remove", name, target: at("f"), owners: [RANGE] })).toBe(0);
    expect(run({ op: "remove", name, target: at("/f"), owners: [RANGE] })).toBe("xattr: ENODATA");
  });

  test("a file owned outside the caller's ids is refused with EPERM", () => {
    expect(run({ op: "set", name: "trusted.x", target: at("/host-owned"), value: new Uint8Array([1]), owners: [RANGE] })).toBe("owner check: EPERM");
  });

  test("symlinks and .. stay inside the caller's root: /etc/passwd is the container's", () => {
    expect(run({ op: "set", name: "trusted.x", target: at("/link"), value: new Uint8Array([1]), owners: [RANGE] })).toBe(0);
    expect(run({ op: "get", name: "trusted.x", target: at("/etc/passwd"), size: 0, owners: [RANGE] })).toBe(1);
    expect(run({ op: "set", name: "trusted.x", target: at("/up"), value: new Uint8Array([1]), owners: [RANGE] })).toBe("openat2 (xattr target): ENOENT");
  });

  test("the l* form acts on the symlink itself, whose owner here is host root", () => {
    expect(run({ op: "set", name: "trusted.x", target: at("/link", false), value: new Uint8Array([1]), owners: [RANGE] })).toBe("owner check: EPERM");
  });

  test("an fd target: the file the fd holds", () => {
    const fd = open(join(root, "f"), O_FLAGS.PATH | O_FLAGS.CLOEXEC);
    try {
      expect(run({ op: "set", name: "trusted.y", target: { fd }, value: new Uint8Array([1, 2]), owners: [RANGE] })).toBe(0);
      expect(run({ op: "get", name: "trusted.y", target: { fd }, size: 0, owners: [RANGE] })).toBe(2);
    } finally {
      close(fd);
    }
  });
});
