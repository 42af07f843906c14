import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FuseError } from "../fuse/mod.ts";
import { ERRNO, errnoNumber } from "../sys/errno.ts";
import { errnoOfAsync } from "./_testing.ts";
import { errnoFromMessage, helperEnv, nsenterPassThrough } from "./passthrough.ts";

const GERMAN = { LANG: "de_DE.UTF-8", LC_ALL: "de_DE.UTF-8", LC_MESSAGES: "de_DE.UTF-8", LANGUAGE: "de" };

test("helpers get the daemon's environment in the C locale", () => {
  const env = helperEnv({ PATH: "/bin", HOME: "/root", ...GERMAN, LC_NUMERIC: "de_DE.UTF-8" });
  expect(env).toEqual({ PATH: "/bin", HOME: "/root", LC_ALL: "C" });
});

describe("errors of helpers when the daemon runs under LANG=de_DE.UTF-8", () => {
  let dir: string;
  /** The daemon's environment: German, with stand-ins for cat and find first in PATH. */
  let env: Record<string, string | undefined>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "passthrough-"));
    // Stand-ins that translate their messages as the real tools do when the
    // locale is installed (this host may have only C).
    for (const tool of ["cat", "find"]) {
      const script = [
        "#!/bin/sh",
        `if [ "$LC_ALL" = C ]; then msg="No such file or directory"; else msg="Datei oder Verzeichnis nicht gefunden"; fi`,
        `for a; do last="$a"; done`,
        `echo "${tool}: $last: $msg" >&2`,
        "exit 1",
        "",
      ].join("\n");
      writeFileSync(join(dir, tool), script);
      chmodSync(join(dir, tool), 0o755);
    }
    env = { ...process.env, ...GERMAN, PATH: `${dir}:${process.env["PATH"]}` };
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test("the stand-in speaks German to the daemon's own environment", async () => {
    const p = Bun.spawn(["cat", "--", "/nonexistent"], { stderr: "pipe", env });
    expect(await new Response(p.stderr).text()).toContain("Datei oder Verzeichnis nicht gefunden");
  });

  test("yet a missing file is ENOENT, and stat of one is absent", async () => {
    const pt = nsenterPassThrough({ env });
    expect(await errnoOfAsync(pt.read(process.pid, "/nonexistent"))).toBe(ERRNO.ENOENT);
    expect(await pt.stat(process.pid, "/nonexistent")).toBeUndefined();
  });

  test("with the real tools too", async () => {
    const pt = nsenterPassThrough({ env: { ...process.env, ...GERMAN } });
    const err = await pt.read(process.pid, "/nonexistent/x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FuseError);
    expect((err as FuseError).errno).toBe(ERRNO.ENOENT);
  });
});

test.each([
  ["cat: /proc/sys/net/ipv4/x: No such file or directory\n", "ENOENT"],
  ["sh: 1: cannot create /proc/sys/net/core/somaxconn: Permission denied\n", "EACCES"],
  ["cat: write error: Invalid argument\n", "EINVAL"],
  ["nsenter: reassociate to namespace 'ns/user' failed: Operation not permitted\n", "EPERM"],
  ["find: '/sys/devices/virtual/net/Permission denied': No such file or directory\n", "ENOENT"],
  ["cat: /x: Datei oder Verzeichnis nicht gefunden\n", undefined],
])("the C-locale message %p is %p", (stderr, code) => {
  expect(errnoFromMessage(stderr)).toBe(code === undefined ? undefined : errnoNumber(code));
});
