/** Translation and loading against a recording fake of libseccomp: no root, no kernel. */
import { describe, expect, test } from "bun:test";
import { ConfigError, parseConfig, validate, LinuxSeccompSchema, type LinuxSeccomp } from "../oci/mod.ts";
import { SysError } from "../sys/errno.ts";
import { SCMP_ACT, SCMP_ARCH, SCMP_CMP, SCMP_FLTATR, type Libseccomp, type ScmpArgCmp, type ScmpFilter } from "../sys/seccomp.ts";
import { actionValue, loadOciSeccomp, loadSeccomp, OPERATORS, translateSeccomp, type SeccompPlan } from "./mod.ts";

const dockerDefault = validate(
  LinuxSeccompSchema,
  await Bun.file(new URL("testdata/docker-default.json", import.meta.url)).json(),
  { source: "docker-default.json" },
);
const dockerExcerpt = parseConfig(
  await Bun.file(new URL("../oci/testdata/docker-config.json", import.meta.url)).text(),
).linux!.seccomp!;

const EPERM = 1;
const ENOSYS = 38;
const X86_64 = SCMP_ARCH.SCMP_ARCH_X86_64.token;

type Call =
  | ["init", number]
  | ["archAdd", number]
  | ["attrSet", number, number]
  | ["ruleAdd", string, number, number, ScmpArgCmp[]]
  | ["load"]
  | ["notifyFd"]
  | ["release"];

interface FakeOptions {
  /** Names the fake library does not know. */
  unknown?: string[];
  /** Attributes whose attrSet fails with EINVAL (as on an old libseccomp). */
  refuseAttrs?: number[];
  failLoad?: boolean;
}

/** A recording stand-in for the libseccomp layer, native arch x86_64. */
function fakeLibseccomp(opts: FakeOptions = {}) {
  const calls: Call[] = [];
  const numbers: Record<string, number> = { mkdir: 83, mkdirat: 258, personality: 135, clone: 56, clone3: 435 };
  let next = 1000;
  const ctx = 0x1234 as ScmpFilter;
  const fail = (syscall: string, errno: number): never => {
    throw new SysError({ syscall, errno });
  };
  const sys: Libseccomp = {
    available: () => true,
    version: () => ({ major: 2, minor: 5, micro: 4 }),
    apiLevel: () => 6,
    init(action) {
      calls.push(["init", action]);
      return ctx;
    },
    release: () => void calls.push(["release"]),
    archAdd(_ctx, arch, label) {
      if (arch === X86_64) fail(`seccomp_arch_add(${label})`, 17);
      calls.push(["archAdd", arch]);
    },
    archNative: () => X86_64,
    archResolveName: (name) => Object.values(SCMP_ARCH).find((a) => a.name === name)?.token ?? 0,
    syscallResolveName(name) {
      if (opts.unknown?.includes(name)) return -1;
      return (numbers[name] ??= next++);
    },
    syscallResolveNameArch: (_arch, name) => sys.syscallResolveName(name),
    ruleAdd(_ctx, action, nr, args, name = "") {
      calls.push(["ruleAdd", name, action, nr, [...args]]);
    },
    attrSet(_ctx, attr, value) {
      if (opts.refuseAttrs?.includes(attr)) fail(`seccomp_attr_set(${attr})`, 22);
      calls.push(["attrSet", attr, value]);
    },
    load() {
      if (opts.failLoad) fail("seccomp_load", 13);
      calls.push(["load"]);
    },
    notifyFd() {
      calls.push(["notifyFd"]);
      return 7;
    },
  };
  return { sys, calls };
}

function section(s: Partial<LinuxSeccomp> & Pick<LinuxSeccomp, "defaultAction">): LinuxSeccomp {
  return validate(LinuxSeccompSchema, s, { source: "test", prefix: ["linux", "seccomp"] });
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

const rulesFor = (plan: SeccompPlan, name: string) => plan.rules.filter((r) => r.syscall === name);

describe("translateSeccomp on Docker 20.10's default profile", () => {
  const plan = translateSeccomp(dockerDefault);
  const names = dockerDefault.syscalls!.flatMap((s) => s.names);

  test("default action is ERRNO(EPERM), as runc reads an ERRNO without errnoRet", () => {
    expect(plan.defaultAction).toBe(0x0005_0001);
  });

  test("adds x86_64, x86 and x32", () => {
    expect(plan.architectures).toEqual([
      { oci: "SCMP_ARCH_X86_64", token: 0xc000_003e },
      { oci: "SCMP_ARCH_X86", token: 0x4000_0003 },
      { oci: "SCMP_ARCH_X32", token: 0x4000_003e },
    ]);
  });

  test("one rule per name, plus one per personality value", () => {
    expect(plan.rules).toHaveLength(names.length);
    expect(names).toHaveLength(358);
    expect(plan.rules.filter((r) => r.action === SCMP_ACT.ALLOW)).toHaveLength(357);
  });

  test("clone3 returns ENOSYS so glibc falls back to clone", () => {
    expect(rulesFor(plan, "clone3")).toEqual([{ syscall: "clone3", action: SCMP_ACT.ERRNO(ENOSYS), args: [] }]);
  });

  test("clone is allowed only without namespace flags", () => {
    expect(rulesFor(plan, "clone")).toEqual([
      {
        syscall: "clone",
        action: SCMP_ACT.ALLOW,
        args: [{ index: 0, op: SCMP_CMP.MASKED_EQ, datumA: 2114060288n, datumB: 0n }],
      },
    ]);
  });

  test("personality is allowed for five exact values", () => {
    const rules = rulesFor(plan, "personality");
    expect(rules.map((r) => r.args)).toEqual(
      [0n, 8n, 0x20000n, 0x20008n, 0xffff_ffffn].map((v) => [{ index: 0, op: SCMP_CMP.EQ, datumA: v, datumB: 0n }]),
    );
  });

  test("nothing that needs a capability Docker does not grant by default", () => {
    for (const name of ["mount", "unshare", "setns", "kexec_load", "open_by_handle_at", "bpf", "reboot", "init_module"]) {
      expect(rulesFor(plan, name)).toEqual([]);
    }
    expect(rulesFor(plan, "chroot")).toHaveLength(1);
  });

  test("attributes: SSB off where supported, tree layout, NNP left to the runtime, raw errnos", () => {
    expect(plan.attrs).toEqual([
      { attr: SCMP_FLTATR.CTL_SSB, name: "SCMP_FLTATR_CTL_SSB", value: 1, optional: true },
      { attr: SCMP_FLTATR.CTL_OPTIMIZE, name: "SCMP_FLTATR_CTL_OPTIMIZE", value: 2, optional: true },
      { attr: SCMP_FLTATR.CTL_NNP, name: "SCMP_FLTATR_CTL_NNP", value: 0, optional: false },
      { attr: SCMP_FLTATR.API_SYSRAWRC, name: "SCMP_FLTATR_API_SYSRAWRC", value: 1, optional: true },
    ]);
    expect(plan.usesNotify).toBe(false);
  });

  test("the excerpt in config.json translates the same way, rule for rule", () => {
    const excerpt = translateSeccomp(dockerExcerpt);
    expect(excerpt.defaultAction).toBe(plan.defaultAction);
    expect(excerpt.architectures).toEqual(plan.architectures);
    for (const rule of excerpt.rules) expect(plan.rules).toContainEqual(rule);
    expect(rulesFor(excerpt, "mkdir")).toEqual([{ syscall: "mkdir", action: SCMP_ACT.ALLOW, args: [] }]);
  });
});

describe("loadSeccomp drives libseccomp like runc", () => {
  test("Docker's profile: init, archs, attrs, rules, load, release", () => {
    const { sys, calls } = fakeLibseccomp({ unknown: ["ugetrlimit", "waitpid"] });
    const result = loadSeccomp(translateSeccomp(dockerDefault), { sys });
    expect(result).toEqual({ notifyFd: null, skipped: ["ugetrlimit", "waitpid"], unsupported: [] });

    expect(calls[0]).toEqual(["init", 0x0005_0001]);
    // The native arch is already in the filter; its EEXIST is not an error.
    expect(calls.slice(1, 3)).toEqual([
      ["archAdd", SCMP_ARCH.SCMP_ARCH_X86.token],
      ["archAdd", SCMP_ARCH.SCMP_ARCH_X32.token],
    ]);
    expect(calls.slice(3, 7)).toEqual([
      ["attrSet", SCMP_FLTATR.CTL_SSB, 1],
      ["attrSet", SCMP_FLTATR.CTL_OPTIMIZE, 2],
      ["attrSet", SCMP_FLTATR.CTL_NNP, 0],
      ["attrSet", SCMP_FLTATR.API_SYSRAWRC, 1],
    ]);
    const rules = calls.filter((c) => c[0] === "ruleAdd");
    expect(rules).toHaveLength(358 - 2);
    expect(rules).toContainEqual(["ruleAdd", "mkdir", SCMP_ACT.ALLOW, 83, []]);
    expect(rules).toContainEqual(["ruleAdd", "clone3", SCMP_ACT.ERRNO(ENOSYS), 435, []]);
    expect(rules).toContainEqual([
      "ruleAdd", "clone", SCMP_ACT.ALLOW, 56, [{ arg: 0, op: SCMP_CMP.MASKED_EQ, datumA: 2114060288n, datumB: 0n }],
    ]);
    expect(calls.slice(-2)).toEqual([["load"], ["release"]]);
  });

  test("optional attributes an old library refuses are reported, not fatal", () => {
    const { sys } = fakeLibseccomp({ refuseAttrs: [SCMP_FLTATR.CTL_SSB, SCMP_FLTATR.API_SYSRAWRC] });
    const result = loadSeccomp(translateSeccomp(dockerExcerpt), { sys });
    expect(result.unsupported).toEqual(["SCMP_FLTATR_CTL_SSB", "SCMP_FLTATR_API_SYSRAWRC"]);
  });

  test("a required attribute the library refuses fails, and the context is still released", () => {
    const { sys, calls } = fakeLibseccomp({ refuseAttrs: [SCMP_FLTATR.CTL_LOG] });
    const plan = translateSeccomp(section({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG"] }));
    expect(() => loadSeccomp(plan, { sys })).toThrow(SysError);
    expect(calls.at(-1)).toEqual(["release"]);
  });

  test("a failed load throws the SysError and releases the context", () => {
    const { sys, calls } = fakeLibseccomp({ failLoad: true });
    let err: unknown;
    try {
      loadOciSeccomp(dockerExcerpt, { sys });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect((err as SysError).code).toBe("EACCES");
    expect(calls.at(-1)).toEqual(["release"]);
  });

  test("a profile with a NOTIFY rule hands back the notify fd", () => {
    const { sys, calls } = fakeLibseccomp();
    const result = loadOciSeccomp(
      section({
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: "/run/agent.sock",
        syscalls: [{ names: ["mount", "umount2"], action: "SCMP_ACT_NOTIFY" }],
      }),
      { sys },
    );
    expect(result.notifyFd).toBe(7);
    expect(calls.slice(-3)).toEqual([["load"], ["notifyFd"], ["release"]]);
  });
});

describe("translateSeccomp rules", () => {
  test("actions map to SCMP_ACT values; ERRNO and TRACE default to EPERM", () => {
    expect(actionValue("SCMP_ACT_KILL")).toBe(0);
    expect(actionValue("SCMP_ACT_KILL_THREAD")).toBe(0);
    expect(actionValue("SCMP_ACT_KILL_PROCESS")).toBe(0x8000_0000);
    expect(actionValue("SCMP_ACT_TRAP")).toBe(0x0003_0000);
    expect(actionValue("SCMP_ACT_ERRNO")).toBe(0x0005_0000 | EPERM);
    expect(actionValue("SCMP_ACT_ERRNO", 38)).toBe(0x0005_0026);
    expect(actionValue("SCMP_ACT_TRACE")).toBe(0x7ff0_0001);
    expect(actionValue("SCMP_ACT_TRACE", 5)).toBe(0x7ff0_0005);
    expect(actionValue("SCMP_ACT_ALLOW")).toBe(0x7fff_0000);
    expect(actionValue("SCMP_ACT_LOG")).toBe(0x7ffc_0000);
    expect(actionValue("SCMP_ACT_NOTIFY")).toBe(0x7fc0_0000);
    expect(() => actionValue("SCMP_ACT_ALLOW", 1)).toThrow(RangeError);
  });

  test("operators map to SCMP_CMP values", () => {
    expect(OPERATORS).toEqual({
      SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6,
      SCMP_CMP_MASKED_EQ: 7,
    });
  });

  test("defaultErrnoRet sets the default errno", () => {
    expect(translateSeccomp(section({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38 })).defaultAction).toBe(
      SCMP_ACT.ERRNO(38),
    );
  });

  test("rules whose action is the default action are dropped", () => {
    const plan = translateSeccomp(
      section({
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [
          { names: ["acct"], action: "SCMP_ACT_ERRNO" },
          { names: ["reboot"], action: "SCMP_ACT_ERRNO", errnoRet: EPERM },
          { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
          { names: ["read"], action: "SCMP_ACT_ALLOW" },
        ],
      }),
    );
    expect(plan.rules.map((r) => r.syscall)).toEqual(["clone3", "read"]);
  });

  test("conditions on distinct arguments stay in one rule (AND)", () => {
    const plan = translateSeccomp(
      section({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{
          names: ["socket"],
          action: "SCMP_ACT_ERRNO",
          args: [
            { index: 0, value: 16, op: "SCMP_CMP_EQ" },
            { index: 2, value: 9, op: "SCMP_CMP_EQ" },
          ],
        }],
      }),
    );
    expect(plan.rules).toEqual([{
      syscall: "socket",
      action: SCMP_ACT.ERRNO(EPERM),
      args: [
        { index: 0, op: SCMP_CMP.EQ, datumA: 16n, datumB: 0n },
        { index: 2, op: SCMP_CMP.EQ, datumA: 9n, datumB: 0n },
      ],
    }]);
  });

  test("conditions on the same argument become one rule each (OR), as in runc", () => {
    const plan = translateSeccomp(
      section({
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [{
          names: ["personality", "ioctl"],
          action: "SCMP_ACT_ALLOW",
          args: [
            { index: 0, value: 0, op: "SCMP_CMP_EQ" },
            { index: 0, value: 0xff, valueTwo: 8, op: "SCMP_CMP_MASKED_EQ" },
          ],
        }],
      }),
    );
    expect(plan.rules).toEqual(
      ["personality", "ioctl"].flatMap((syscall) => [
        { syscall, action: SCMP_ACT.ALLOW, args: [{ index: 0, op: SCMP_CMP.EQ, datumA: 0n, datumB: 0n }] },
        { syscall, action: SCMP_ACT.ALLOW, args: [{ index: 0, op: SCMP_CMP.MASKED_EQ, datumA: 0xffn, datumB: 8n }] },
      ]),
    );
  });

  test("64-bit values survive", () => {
    const plan = translateSeccomp(
      section({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["personality"], action: "SCMP_ACT_LOG", args: [{ index: 0, value: 2 ** 40, op: "SCMP_CMP_GE" }] }],
      }),
    );
    expect(plan.rules[0]?.args[0]?.datumA).toBe(1n << 40n);
  });
});

describe("translateSeccomp flags and attributes", () => {
  const attrNames = (s: Partial<LinuxSeccomp>) =>
    translateSeccomp(section({ defaultAction: "SCMP_ACT_ALLOW", ...s })).attrs.map((a) => `${a.name}=${a.value}${a.optional ? "?" : ""}`);

  test("no flags: SSB mitigation off where supported", () => {
    expect(attrNames({})).toEqual(["SCMP_FLTATR_CTL_SSB=1?", "SCMP_FLTATR_CTL_NNP=0", "SCMP_FLTATR_API_SYSRAWRC=1?"]);
  });

  test("an empty flag list keeps the mitigation", () => {
    expect(attrNames({ flags: [] })).toEqual(["SCMP_FLTATR_CTL_NNP=0", "SCMP_FLTATR_API_SYSRAWRC=1?"]);
  });

  test("each flag is a required attribute; TSYNC is ignored", () => {
    expect(
      attrNames({
        flags: [
          "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
          "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_LOG",
        ],
      }),
    ).toEqual([
      "SCMP_FLTATR_CTL_LOG=1", "SCMP_FLTATR_CTL_SSB=1", "SCMP_FLTATR_CTL_WAITKILL=1", "SCMP_FLTATR_CTL_NNP=0",
      "SCMP_FLTATR_API_SYSRAWRC=1?",
    ]);
  });

  test("listener path and metadata are carried", () => {
    const plan = translateSeccomp(section({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/l.sock", listenerMetadata: "m" }));
    expect(plan).toMatchObject({ listenerPath: "/run/l.sock", listenerMetadata: "m", usesNotify: false });
  });
});

describe("translateSeccomp errors name the field", () => {
  test("errnoRet on an action that takes none", () => {
    expect(
      configError(() =>
        translateSeccomp(section({
          defaultAction: "SCMP_ACT_ERRNO",
          syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }, { names: ["acct"], action: "SCMP_ACT_KILL", errnoRet: 1 }],
        })),
      ),
    ).toBe(
      "config.json: linux.seccomp.syscalls[1].errnoRet: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_KILL",
    );
    expect(configError(() => translateSeccomp(section({ defaultAction: "SCMP_ACT_ALLOW", defaultErrnoRet: 1 })))).toStartWith(
      "config.json: linux.seccomp.defaultErrnoRet: errnoRet is only valid",
    );
  });

  test("errnoRet wider than 16 bits", () => {
    expect(
      configError(() => translateSeccomp(section({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 70000 }), { source: "/b/config.json" })),
    ).toBe("/b/config.json: linux.seccomp.defaultErrnoRet: errnoRet must fit in 16 bits, got 70000");
  });

  test("NOTIFY as the default action or on write", () => {
    expect(configError(() => translateSeccomp(section({ defaultAction: "SCMP_ACT_NOTIFY" })))).toBe(
      "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
    );
    expect(
      configError(() =>
        translateSeccomp(section({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read", "write"], action: "SCMP_ACT_NOTIFY" }] })),
      ),
    ).toBe("config.json: linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for write");
  });

  test("empty syscall name", () => {
    expect(
      configError(() => translateSeccomp(section({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["kill", ""], action: "SCMP_ACT_ERRNO" }] }))),
    ).toBe("config.json: linux.seccomp.syscalls[0].names[1]: empty syscall name");
  });
});
