import { describe, expect, test } from "bun:test";
import { ERRNO, SysError, type ErrnoCode } from "../sys/errno.ts";
import { Recorder, recordingSys } from "./_recsys.ts";
import { prepareProcess, type ProcessSpec } from "./process.ts";
import type { Spec } from "./spec.ts";

const PROC: ProcessSpec = {
  cwd: "/srv", args: ["app"], env: ["PATH=/bin"], noNewPrivileges: true,
  user: { uid: 1000, gid: 1000, additionalGids: [10, 20], umask: 0o27 },
  rlimits: [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 }],
  capabilities: { bounding: ["CAP_CHOWN"], effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"] },
};

function run(proc: ProcessSpec, chdirFails?: ErrnoCode) {
  const rec: Recorder = new Recorder();
  // The first chdir (as root) fails with `chdirFails`, as the kernel would.
  rec.fail = (c) => (chdirFails && c.fn === "chdir" && rec.calls.filter((x) => x.fn === "chdir").length === 1
    ? new SysError({ syscall: "chdir", path: proc.cwd, errno: ERRNO[chdirFails] }) : undefined);
  const { sys } = recordingSys({}, rec);
  const warnings: string[] = [];
  const { env } = prepareProcess(proc, { sys, spec: {} as Spec, warn: (m) => warnings.push(m), intercept: rec.wrap("intercept", () => {}) });
  return { rec, env, warnings };
}

/** prepareProcess with a seccomp profile, its build and load recorded in the same log. */
function runWithSeccomp(proc: ProcessSpec) {
  const rec: Recorder = new Recorder();
  const { sys } = recordingSys({}, rec);
  const spec = { linux: { seccomp: { defaultAction: "SCMP_ACT_ALLOW" } } } as Spec;
  const buildSeccomp = rec.wrap("seccomp.build", () => ({ load: rec.wrap("seccomp.load", () => ({ notifyFd: null, skipped: [], unsupported: [] })), release: rec.wrap("seccomp.release", () => {}) }));
  let prepared: ReturnType<typeof prepareProcess> | undefined;
  let error: unknown;
  try {
    prepared = prepareProcess(proc, { sys, spec, warn: () => {}, buildSeccomp });
  } catch (e) {
    error = e;
  }
  return { rec, prepared: prepared ?? { env: [], rlimits: [] }, error, names: rec.calls.map((c) => c.fn) };
}

const MEMORY_LIMITS = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 1024 }, { type: "RLIMIT_AS", soft: 1 << 30, hard: 1 << 30 }, { type: "RLIMIT_DATA", soft: 1 << 29, hard: 1 << 29 }];

describe("rlimits and seccomp", () => {
  test("the profile is built before any rlimit; without no_new_privs it is loaded then too", () => {
    const { names, prepared } = runWithSeccomp({ ...PROC, noNewPrivileges: false, rlimits: MEMORY_LIMITS });
    expect(names.slice(0, 3)).toEqual(["seccomp.build", "seccomp.load", "prlimit"]);
    expect(prepared.seccomp).toBeUndefined();
  });

  test("under no_new_privs the built profile is left for execProcess to load", () => {
    const { names, prepared } = runWithSeccomp({ ...PROC, rlimits: MEMORY_LIMITS });
    expect(names[0]).toBe("seccomp.build");
    expect(names).not.toContain("seccomp.load");
    expect(prepared.seccomp).toBeDefined();
  });

  test("RLIMIT_AS and RLIMIT_DATA are only read now and set right before execve (the init would starve)", () => {
    const { rec, prepared } = runWithSeccomp({ ...PROC, rlimits: MEMORY_LIMITS });
    // The fake's current limits are 0: the hard ones are raised now, while still privileged, the soft ones left.
    expect(rec.lines().filter((l) => l.startsWith("prlimit"))).toEqual([
      'prlimit 0 7 {"soft":1024,"hard":1024}',
      "prlimit 0 9", 'prlimit 0 9 {"soft":0,"hard":1073741824}',
      "prlimit 0 2", 'prlimit 0 2 {"soft":0,"hard":536870912}',
    ]);
    expect(prepared.rlimits).toEqual([
      { resource: 9, limit: { soft: 1n << 30n, hard: 1n << 30n } },
      { resource: 2, limit: { soft: 1n << 29n, hard: 1n << 29n } },
    ]);
  });

  test("a failure after the build frees the profile; a soft limit above the hard one fails create", () => {
    const { error, names } = runWithSeccomp({ ...PROC, rlimits: [{ type: "RLIMIT_AS", soft: 2, hard: 1 }] });
    expect((error as Error).message).toBe("process.rlimits: RLIMIT_AS: soft limit 2 is above the hard limit 1");
    expect(names).toEqual(["seccomp.build", "seccomp.release"]);
  });
});

describe("prepareProcess", () => {
  test("runc's order: interceptor, rlimits, no_new_privs, cwd as root, groups and ids with caps kept, capabilities, umask", () => {
    const { rec } = run(PROC);
    expect(rec.lines().map((l) => l.replace(/^applyCapabilities .*/, "applyCapabilities"))).toEqual([
      "intercept",
      'prlimit 0 7 {"soft":1024,"hard":4096}',
      "setNoNewPrivs",
      "chdir /srv",
      "setKeepCaps true",
      "setgroups [10,20]",
      "setresgid 1000 1000 1000",
      "setresuid 1000 1000 1000",
      "setKeepCaps false",
      "applyCapabilities",
      "umask 23", // 0o27
    ]);
  });

  test("a cwd only root may not enter is entered again as the user", () => {
    const { rec } = run(PROC, "EACCES");
    const chdirs = rec.calls.map((c, i) => [c.fn, i] as const).filter(([fn]) => fn === "chdir").map(([, i]) => i);
    const setuid = rec.calls.findIndex((c) => c.fn === "setresuid");
    expect(chdirs).toHaveLength(2);
    expect(chdirs[0]!).toBeLessThan(setuid);
    expect(chdirs[1]!).toBeGreaterThan(setuid);
  });

  test("a missing cwd fails with the spec's wording", () => {
    expect(() => run(PROC, "ENOENT")).toThrow('chdir to cwd ("/srv") set in config.json failed: ENOENT');
  });
});
