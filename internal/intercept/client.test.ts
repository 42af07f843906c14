import { describe, expect, test } from "bun:test";
import { SysError } from "../sys/errno.ts";
import { libseccomp, NR_SCMP_ERROR, SCMP_ACT, SCMP_ARCH, SCMP_FLTATR, type Libseccomp, type ScmpFilter } from "../sys/seccomp.ts";
import { InterceptorError, connectInterceptor, installNotifyFilter, interceptSocketPath } from "./client.ts";

/** A libseccomp that records calls; x86_64 numbers, umount unknown natively (a pseudo number). */
function fake(opts: { api?: number; native?: number } = {}) {
  const calls: string[] = [];
  const sys: Libseccomp = {
    ...libseccomp,
    apiLevel: () => opts.api ?? 6,
    archNative: () => opts.native ?? SCMP_ARCH.SCMP_ARCH_X86_64.token,
    init: (a) => { calls.push(`init ${a.toString(16)}`); return 1 as unknown as ScmpFilter; },
    release: () => { calls.push("release"); },
    attrSet: (_c, attr, v) => { calls.push(`attr ${attr}=${v.toString(16)}`); },
    archAdd: (_c, _a, label) => {
      if (label === "SCMP_ARCH_X32") throw new SysError({ syscall: "seccomp_arch_add", errno: 17 });
      calls.push(`arch ${label}`);
    },
    syscallResolveName: (n) => ({ mount: 165, umount2: 166, umount: -10070 } as Record<string, number>)[n] ?? NR_SCMP_ERROR,
    ruleAdd: (_c, action, nr, args, name) => { calls.push(`rule ${name} ${nr} ${action === SCMP_ACT.NOTIFY ? "NOTIFY" : action} ${args.length}`); },
    load: () => { calls.push("load"); },
    notifyFd: () => 42,
  };
  return { sys, calls };
}

describe("installNotifyFilter", () => {
  test("default allow, no no_new_privs, compat arches, notify on mount/umount2/umount", () => {
    const { sys, calls } = fake();
    expect(installNotifyFilter({ sys })).toBe(42);
    expect(calls).toEqual([
      `init ${SCMP_ACT.ALLOW.toString(16)}`,
      `attr ${SCMP_FLTATR.CTL_NNP}=0`,
      `attr ${SCMP_FLTATR.ACT_BADARCH}=${SCMP_ACT.ALLOW.toString(16)}`,
      "arch SCMP_ARCH_X86",
      "rule mount 165 NOTIFY 0",
      "rule umount2 166 NOTIFY 0",
      "rule umount -10070 NOTIFY 0",
      "load",
      "release",
    ]);
  });

  test("arm64 adds arm", () => {
    const { sys, calls } = fake({ native: SCMP_ARCH.SCMP_ARCH_AARCH64.token });
    installNotifyFilter({ sys });
    expect(calls).toContain("arch SCMP_ARCH_ARM");
    expect(calls.filter((c) => c.startsWith("arch"))).toEqual(["arch SCMP_ARCH_ARM"]);
  });

  test("an old libseccomp is a clear error, before anything is loaded", () => {
    const { sys, calls } = fake({ api: 3 });
    expect(() => installNotifyFilter({ sys })).toThrow(/seccomp notify unsupported: libseccomp API level 3/);
    expect(calls).toEqual([]);
  });
});

describe("connectInterceptor", () => {
  test("names the socket and suggests starting sysbox-fs", () => {
    const dir = `/nonexistent-${process.pid}`;
    expect(interceptSocketPath(dir)).toBe(`${dir}/sysfs-seccomp.sock`);
    // No restart grace: a daemon that is down, not restarting.
    expect(() => connectInterceptor(dir, 0)).toThrow(InterceptorError);
    expect(() => connectInterceptor(dir, 0)).toThrow(`cannot connect to sysbox-fs's seccomp socket ${dir}/sysfs-seccomp.sock: ENOENT (is sysbox-fs running?)`);
  });
});
