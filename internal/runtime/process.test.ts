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
  const env = prepareProcess(proc, { sys, spec: {} as Spec, warn: (m) => warnings.push(m), intercept: rec.wrap("intercept", () => {}) });
  return { rec, env, warnings };
}

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
