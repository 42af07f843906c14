import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, mkdirSync, symlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { secureJoin } from "./securejoin.ts";

const root = mkdtempSync(join(tmpdir(), "securejoin-"));
mkdirSync(join(root, "etc"));
mkdirSync(join(root, "usr/lib"), { recursive: true });
symlinkSync("/etc", join(root, "abs"));
symlinkSync("../../../../..", join(root, "up"));
symlinkSync("usr/lib", join(root, "lib"));
symlinkSync("loop2", join(root, "loop1"));
symlinkSync("loop1", join(root, "loop2"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test.each([
  ["/etc/hosts", "etc/hosts"],
  ["/abs/passwd", "etc/passwd"],
  ["/up/etc", "etc"],
  ["/../../etc", "etc"],
  ["/lib/x", "usr/lib/x"],
  ["/missing/a/b", "missing/a/b"],
  ["/", ""],
])("%s stays inside the rootfs as %s", (input, want) => {
  expect(secureJoin(root, input)).toBe(join(root, want));
});

test("symlink loops are an error", () => {
  expect(() => secureJoin(root, "/loop1/x")).toThrow(/too many levels/);
});
