import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, BuildError, buildCommand, gitCommit, parseArgs, TARGETS } from "./build.ts";

describe("parseArgs", () => {
  test("no arguments: all targets", () => {
    expect(parseArgs([])).toEqual([...TARGETS]);
  });

  test("--only, repeated or comma-separated, in canonical order", () => {
    expect(parseArgs(["--only", "sysbox-runc"])).toEqual(["sysbox-runc"]);
    expect(parseArgs(["--only", "sysbox-fs", "--only", "sysbox-runc"])).toEqual(["sysbox-runc", "sysbox-fs"]);
    expect(parseArgs(["--only=sysbox-fs,sysbox-mgr"])).toEqual(["sysbox-mgr", "sysbox-fs"]);
  });

  test("unknown targets and arguments are errors", () => {
    expect(() => parseArgs(["--only", "runc"])).toThrow(/unknown target "runc"/);
    expect(() => parseArgs(["--fast"])).toThrow(BuildError);
  });
});

test("buildCommand compiles the entry into build/ with the commit defined", () => {
  const argv = buildCommand("/r", "sysbox-mgr", "abc1234");
  expect(argv).toContain("--compile");
  expect(argv.slice(argv.indexOf("--define"), argv.indexOf("--define") + 2)).toEqual([
    "--define",
    `SYSBOX_COMMIT="abc1234"`,
  ]);
  expect(argv).toContain("/r/cmd/sysbox-mgr/main.ts");
  expect(argv.slice(-2)).toEqual(["--outfile", "/r/build/sysbox-mgr"]);
});

test("sysbox-fs also embeds the interceptor's worker thread", () => {
  const argv = buildCommand("/r", "sysbox-fs", "abc1234");
  expect(argv.slice(argv.indexOf("/r/cmd/sysbox-fs/main.ts"), -2)).toEqual(["/r/cmd/sysbox-fs/main.ts", "/r/internal/sysboxfs/seccomp/worker.ts"]);
});

describe("outside a git checkout", () => {
  let dir = "";
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  });

  test("gitCommit is unknown", () => {
    dir = mkdtempSync(join(tmpdir(), "build-test-"));
    expect(gitCommit(dir)).toBe("unknown");
  });

  test("a missing entry point fails clearly before building anything", async () => {
    dir = mkdtempSync(join(tmpdir(), "build-test-"));
    await expect(build(dir, ["sysbox-runc"])).rejects.toThrow("missing entry point(s): cmd/sysbox-runc/main.ts");
  });
});

test("gitCommit in this checkout is a short sha or unknown", () => {
  expect(gitCommit(join(import.meta.dir, ".."))).toMatch(/^([0-9a-f]{4,40}|unknown)$/);
});
