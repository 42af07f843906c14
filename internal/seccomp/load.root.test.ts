/**
 * Loads real filters into the kernel. A filter can never be removed, so each
 * case runs testdata/child.ts in a fresh `bun` process, which probes a set
 * of syscalls before and after loading the profile it is given.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libseccomp } from "../sys/seccomp.ts";
import type { LoadResult } from "./mod.ts";

const isRoot = process.getuid?.() === 0;
const hasLib = libseccomp.available();
const child = join(import.meta.dir, "testdata", "child.ts");
const dockerDefault = join(import.meta.dir, "testdata", "docker-default.json");

type Probes = Record<string, string>;
interface ChildReport {
  before: Probes;
  after: Probes;
  load: LoadResult;
}

let work = "";
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "seccomp-test-"));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

let runs = 0;
async function probe(profile: string | object): Promise<ChildReport> {
  const dir = join(work, `run${runs++}`);
  mkdirSync(dir);
  let path = profile as string;
  if (typeof profile !== "string") {
    path = join(work, `profile${runs}.json`);
    writeFileSync(path, JSON.stringify(profile));
  }
  const p = Bun.spawn([process.execPath, child, path, dir], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`seccomp child exited ${code}: ${err}`);
  return JSON.parse(out) as ChildReport;
}

describe.skipIf(!isRoot || !hasLib)("loading seccomp filters [requires root]", () => {
  test("a default-allow profile blocks mkdir/mkdirat with EPERM and unshare with its errnoRet", async () => {
    const { before, after, load } = await probe({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" },
        { names: ["unshare"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
        { names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 33, args: [{ index: 0, value: 0x40000, op: "SCMP_CMP_EQ" }] },
        { names: ["no_such_syscall"], action: "SCMP_ACT_KILL" },
      ],
    });
    expect(before).toMatchObject({ fs_mkdir: "ok", mkdirat: "EFAULT", unshare: "ok", personality_set: "ok" });
    expect(load).toEqual({ notifyFd: null, skipped: ["no_such_syscall"], unsupported: [] });
    // node:fs mkdirSync, whichever of the two syscalls it uses.
    expect(after.fs_mkdir).toBe("EPERM");
    expect(after.mkdirat).toBe("EPERM");
    if (before.mkdir !== "not-native") expect(after.mkdir).toBe("EPERM");
    expect(after.unshare).toBe("EACCES");
    // An argument filter: only ADDR_NO_RANDOMIZE is refused, a query still works.
    expect(after.personality_set).toBe("EDOM");
    expect(after.personality_query).toBe("ok");
    // Everything else still works.
    expect(after.fs_write_read).toBe("ok");
    expect(after.getpid).toBe("ok");
    expect(after.mount).toBe(before.mount!);
  });

  test("Docker's default profile loads and blocks what it blocks under runc", async () => {
    const { before, after, load } = await probe(dockerDefault);
    expect(load.notifyFd).toBeNull();
    expect(load.unsupported).toEqual([]);
    // Not in the allow list (they need CAP_SYS_BOOT, CAP_DAC_READ_SEARCH, CAP_SYS_ADMIN).
    expect(after.kexec_load).toBe("EPERM");
    expect(after.open_by_handle_at).toBe("EPERM");
    expect(after.mount).toBe("EPERM");
    expect(after.unshare).toBe("EPERM");
    // ENOSYS so that glibc falls back to clone(2).
    expect(after.clone3).toBe("ENOSYS");
    // personality: the five allowed values only.
    expect(after.personality_query).toBe("ok");
    expect(after.personality_set).toBe("EPERM");
    // Ordinary work is untouched.
    expect(after.getpid).toBe("ok");
    expect(after.fs_write_read).toBe("ok");
    expect(after.fs_mkdir).toBe("ok");
    expect(after.mkdirat).toBe(before.mkdirat!);
    for (const name of ["kexec_load", "open_by_handle_at", "mount", "unshare", "personality_set"]) {
      expect(before[name]).not.toBe("EPERM");
    }
  });

  test("a NOTIFY rule yields a listener fd", async () => {
    const { load } = await probe({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["sethostname"], action: "SCMP_ACT_NOTIFY" }],
    });
    expect(load.notifyFd).toBeGreaterThanOrEqual(0);
  });
});
