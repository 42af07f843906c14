import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserSetupError, ensureSysboxUser } from "./user.ts";

const root = process.getuid?.() === 0;
const hasUseradd = Bun.which("useradd") !== null;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "user-"));
  mkdirSync(join(dir, "etc"));
  writeFileSync(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("an existing user is left alone", () => {
  writeFileSync(join(dir, "etc/passwd"), "sysbox:x:999:999::/:/bin/false\n");
  expect(ensureSysboxUser({ root: dir, useradd: "/nonexistent/useradd" })).toBeUndefined();
});

test("useradd that cannot run: the error names the command to run", () => {
  expect(() => ensureSysboxUser({ root: dir, useradd: "/nonexistent/useradd" })).toThrow(UserSetupError);
  expect(() => ensureSysboxUser({ root: dir, useradd: "/nonexistent/useradd" })).toThrow(
    `create it with \`useradd --system --no-create-home --shell /bin/false --prefix ${dir} sysbox\``,
  );
});

test("useradd that fails: its message is passed on", () => {
  expect(() => ensureSysboxUser({ root: dir, useradd: "false" })).toThrow(/failed: exit code 1$/);
});

describe.skipIf(!root || !hasUseradd)("useradd [requires root and useradd]", () => {
  test("creates a system user without a home", () => {
    expect(ensureSysboxUser({ root: dir })).toBe(`useradd --system --no-create-home --shell /bin/false --prefix ${dir} sysbox`);
    const line = readFileSync(join(dir, "etc/passwd"), "utf8").split("\n").find((l) => l.startsWith("sysbox:"));
    expect(line).toMatch(/^sysbox:[^:]*:\d+:\d+:[^:]*:[^:]*:\/bin\/false$/);
    expect(ensureSysboxUser({ root: dir })).toBeUndefined();
  });
});
