/**
 * The libseccomp bindings against the host's library. Nothing is loaded into
 * this process; one test loads a filter in a child process and checks it.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SysError } from "./errno.ts";
import {
  encodeArgCmps,
  libseccomp,
  NR_SCMP_ERROR,
  SCMP_ACT,
  SCMP_ARCH,
  SCMP_CMP,
  SCMP_FLTATR,
} from "./seccomp.ts";

test("encodeArgCmps packs struct scmp_arg_cmp (24 bytes, host order)", () => {
  const buf = encodeArgCmps([
    { arg: 1, op: SCMP_CMP.MASKED_EQ, datumA: 0x7e02_0000n, datumB: 0n },
    { arg: 5, op: SCMP_CMP.NE, datumA: -1n, datumB: 0x1_0000_0000n },
  ]);
  expect(buf.length).toBe(48);
  const v = new DataView(buf.buffer);
  expect([v.getUint32(0, true), v.getUint32(4, true), v.getBigUint64(8, true), v.getBigUint64(16, true)]).toEqual([
    1, 7, 0x7e02_0000n, 0n,
  ]);
  expect([v.getUint32(24, true), v.getUint32(28, true), v.getBigUint64(32, true), v.getBigUint64(40, true)]).toEqual([
    5, 1, 0xffff_ffff_ffff_ffffn, 0x1_0000_0000n,
  ]);
});

describe.skipIf(!libseccomp.available())("libseccomp bindings [requires libseccomp.so.2]", () => {
  test("version and API level", () => {
    const v = libseccomp.version();
    expect(v.major).toBe(2);
    expect(v.minor).toBeGreaterThanOrEqual(4);
    expect(libseccomp.apiLevel()).toBeGreaterThanOrEqual(1);
  });

  test("the arch table matches the library's tokens", () => {
    for (const [oci, { name, token }] of Object.entries(SCMP_ARCH)) {
      const resolved = libseccomp.archResolveName(name);
      // Older libraries lack the newest arches (loongarch64, m68k, sh).
      if (resolved !== 0) expect({ oci, token: resolved }).toEqual({ oci, token });
    }
    expect(libseccomp.archResolveName("x86_64")).toBe(SCMP_ARCH.SCMP_ARCH_X86_64.token);
    expect(libseccomp.archResolveName("no-such-arch")).toBe(0);
  });

  test("syscall names resolve natively, to pseudo numbers, or not at all", () => {
    const native = libseccomp.archNative();
    const nr = libseccomp.syscallResolveName("getpid");
    expect(nr).toBeGreaterThanOrEqual(0);
    expect(libseccomp.syscallResolveNameArch(native, "getpid")).toBe(nr);
    expect(libseccomp.syscallResolveName("no_such_syscall")).toBe(NR_SCMP_ERROR);
    if (native === SCMP_ARCH.SCMP_ARCH_X86_64.token) {
      expect(libseccomp.syscallResolveName("mkdir")).toBe(83);
      // chown32 exists only on 32-bit x86: a negative pseudo syscall number here.
      expect(libseccomp.syscallResolveName("chown32")).toBeLessThan(NR_SCMP_ERROR);
      expect(libseccomp.syscallResolveNameArch(SCMP_ARCH.SCMP_ARCH_X86.token, "getpid")).toBe(20);
    }
  });

  test("a filter built and loaded in a child process fails the calls its rule matches, and only those", async () => {
    // The child builds the filter, loads it for its own thread, then creates
    // two files: mode 0701 matches the openat rule (EPERM), 0600 does not.
    const dir = mkdtempSync(join(tmpdir(), "seccomp-"));
    const script = `
      import { libseccomp, SCMP_ACT, SCMP_ARCH, SCMP_CMP, SCMP_FLTATR } from ${JSON.stringify(join(import.meta.dir, "seccomp.ts"))};
      import { AT_FDCWD, close, O_FLAGS, openat } from ${JSON.stringify(join(import.meta.dir, "fs.ts"))};
      const ctx = libseccomp.init(SCMP_ACT.ALLOW);
      libseccomp.archAdd(ctx, SCMP_ARCH.SCMP_ARCH_X86.token, "SCMP_ARCH_X86");
      libseccomp.attrSet(ctx, SCMP_FLTATR.CTL_NNP, 1);
      const openatNr = libseccomp.syscallResolveName("openat");
      libseccomp.ruleAdd(ctx, SCMP_ACT.ERRNO(1), openatNr, [{ arg: 3, op: SCMP_CMP.EQ, datumA: 0o701n, datumB: 0n }], "openat");
      libseccomp.ruleAdd(ctx, SCMP_ACT.KILL_PROCESS, libseccomp.syscallResolveName("kexec_load"), [], "kexec_load");
      libseccomp.load(ctx);
      libseccomp.release(ctx);
      const create = (name, mode) => {
        try {
          close(openat(AT_FDCWD, process.env.DIR + "/" + name, O_FLAGS.WRONLY | O_FLAGS.CREAT | O_FLAGS.CLOEXEC, mode));
          return "created";
        } catch (e) {
          return e.code ?? String(e);
        }
      };
      console.log(JSON.stringify({ matched: create("a", 0o701), other: create("b", 0o600) }));
    `;
    try {
      const child = Bun.spawn([process.execPath, "-e", script], { env: { ...process.env, DIR: dir }, stdout: "pipe", stderr: "pipe" });
      const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      expect(err).toBe("");
      expect(code).toBe(0);
      expect(JSON.parse(out)).toEqual({ matched: "EPERM", other: "created" });
      expect([existsSync(join(dir, "a")), existsSync(join(dir, "b"))]).toEqual([false, true]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("negative results become SysErrors named after the call", () => {
    const ctx = libseccomp.init(SCMP_ACT.ERRNO(1));
    const errorOf = (fn: () => void): SysError => {
      try {
        fn();
      } catch (e) {
        if (e instanceof SysError) return e;
        throw e;
      }
      throw new Error("expected a SysError");
    };
    try {
      const clone = libseccomp.syscallResolveName("clone");
      const bad = errorOf(() =>
        libseccomp.ruleAdd(ctx, SCMP_ACT.ALLOW, clone, [{ arg: 6, op: SCMP_CMP.EQ, datumA: 0n, datumB: 0n }], "clone"),
      );
      expect(bad.message).toBe("seccomp_rule_add(clone): EINVAL");
      expect(bad.code).toBe("EINVAL");
      // A rule with the default action is refused.
      expect(errorOf(() => libseccomp.ruleAdd(ctx, SCMP_ACT.ERRNO(1), clone, [], "clone")).code).toBe("EACCES");
      expect(errorOf(() => libseccomp.archAdd(ctx, libseccomp.archNative(), "native")).message).toBe(
        "seccomp_arch_add(native): EEXIST",
      );
      expect(errorOf(() => libseccomp.attrSet(ctx, 99, 1)).message).toBe("seccomp_attr_set(99): EINVAL");
    } finally {
      libseccomp.release(ctx);
    }
  });

  test("an invalid default action", () => {
    expect(() => libseccomp.init(0x1234_5678)).toThrow("seccomp_init: EINVAL");
  });
});
