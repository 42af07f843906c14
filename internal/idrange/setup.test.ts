import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RANGE_WANTED, SubidSetupError } from "./plan.ts";
import { ensureSysboxRanges, lockFile, type SubidPaths } from "./setup.ts";

let dir: string;
let paths: SubidPaths;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "subid-"));
  paths = { subuid: join(dir, "subuid"), subgid: join(dir, "subgid"), loginDefs: join(dir, "login.defs") };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("ensureSysboxRanges", () => {
  test("missing files: both are created with sysbox's range", () => {
    const r = ensureSysboxRanges(paths);
    expect(r.added).toEqual({ start: 131072, size: RANGE_WANTED });
    expect(readFileSync(paths.subuid, "utf8")).toBe(`sysbox:131072:${RANGE_WANTED}\n`);
    expect(readFileSync(paths.subgid, "utf8")).toBe(`sysbox:131072:${RANGE_WANTED}\n`);
    expect(statSync(paths.subuid).mode & 0o777).toBe(0o644);
    expect(existsSync(`${paths.subuid}.lock`)).toBe(false);
  });

  test("other entries and the file mode are kept; the old file is kept as file-", () => {
    writeFileSync(paths.subuid, "alice:100000:65536\n");
    chmodSync(paths.subuid, 0o600);
    writeFileSync(paths.subgid, "alice:100000:65536");
    writeFileSync(paths.loginDefs, "SUB_UID_MIN 200000\nSUB_GID_MIN 200000\n");
    const r = ensureSysboxRanges(paths, { wanted: 65536 * 10 });
    expect(r.ranges).toEqual([{ start: 262144, size: 655360 }]);
    expect(readFileSync(paths.subuid, "utf8")).toBe("alice:100000:65536\nsysbox:262144:655360\n");
    expect(readFileSync(paths.subgid, "utf8")).toBe("alice:100000:65536\nsysbox:262144:655360\n");
    expect(readFileSync(`${paths.subuid}-`, "utf8")).toBe("alice:100000:65536\n");
    expect(statSync(paths.subuid).mode & 0o777).toBe(0o600);
  });

  test("a second run finds the range and changes nothing", () => {
    ensureSysboxRanges(paths);
    const before = statSync(paths.subuid).mtimeMs;
    const r = ensureSysboxRanges(paths);
    expect(r.added).toBeUndefined();
    expect(r.ranges).toEqual([{ start: 131072, size: RANGE_WANTED }]);
    expect(statSync(paths.subuid).mtimeMs).toBe(before);
  });

  test("a range that cannot be used leaves the files alone", () => {
    writeFileSync(paths.subuid, "sysbox:165536:65536\n");
    writeFileSync(paths.subgid, "sysbox:231072:65536\n");
    expect(() => ensureSysboxRanges(paths)).toThrow(SubidSetupError);
    expect(readFileSync(paths.subuid, "utf8")).toBe("sysbox:165536:65536\n");
  });

  test("waits for a live lock, then names its holder", () => {
    const child = Bun.spawn(["sleep", "5"]);
    try {
      writeFileSync(`${paths.subuid}.lock`, String(child.pid));
      expect(() => ensureSysboxRanges(paths, { lockTimeoutMs: 100 })).toThrow(
        `${paths.subuid} is locked by pid ${child.pid} (lock file ${paths.subuid}.lock)`,
      );
      expect(existsSync(paths.subgid)).toBe(false);
    } finally {
      child.kill();
    }
  });

  test("a stale lock is taken over", () => {
    writeFileSync(`${paths.subuid}.lock`, "999999999");
    writeFileSync(`${paths.subgid}.lock`, "garbage");
    ensureSysboxRanges(paths);
    expect(existsSync(`${paths.subuid}.lock`)).toBe(false);
    expect(existsSync(`${paths.subgid}.lock`)).toBe(false);
    expect(readFileSync(paths.subgid, "utf8")).toStartWith("sysbox:");
  });
});

test("lockFile writes the pid and removes the lock on dispose", () => {
  {
    using _ = lockFile(paths.subuid, 100);
    expect(readFileSync(`${paths.subuid}.lock`, "utf8")).toBe(String(process.pid));
  }
  expect(existsSync(`${paths.subuid}.lock`)).toBe(false);
});
