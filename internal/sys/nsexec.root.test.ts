import { describe, expect, test } from "bun:test";
import { writeFileSync, existsSync } from "node:fs";
import { awaitExec, spawnInNamespaces } from "./nsexec.ts";
import { CLONE } from "./flags.ts";
import { check, libc } from "./libc.ts";
import { cstr } from "./cstr.ts";
import { isSysError } from "./errno.ts";

const isRoot = process.getuid?.() === 0;
const ALL = CLONE.NEWUSER | CLONE.NEWNS | CLONE.NEWPID | CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWNET | CLONE.NEWCGROUP;

function openExe(path: string): number {
  return check({ syscall: "open", path }, () => libc.symbols.open(cstr(path), 0o2000000, 0));
}

/** Runs `script` under /bin/sh in new namespaces; returns what it printed. */
async function runInNamespaces(script: string, flags: number): Promise<string> {
  const out = `/tmp/nsexec-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = openExe("/bin/sh");
  const s = spawnInNamespaces({
    flags, execFd: fd, argv: ["sh", "-c", `{ ${script}; } > ${out} 2>&1`], env: ["PATH=/usr/bin:/bin"], setIds: (flags & CLONE.NEWUSER) !== 0,
    onReady: (pid) => {
      if (flags & CLONE.NEWUSER) {
        writeFileSync(`/proc/${pid}/uid_map`, "0 100000 65536");
        writeFileSync(`/proc/${pid}/gid_map`, "0 100000 65536");
      }
    },
  });
  libc.symbols.close(fd);
  libc.symbols.close(s.syncFd);
  // The final process is not our child; wait for it to go away.
  for (let i = 0; i < 500 && existsSync(`/proc/${s.pid}`); i++) await Bun.sleep(10);
  const text = await Bun.file(out).text();
  await Bun.file(out).delete();
  return text;
}

describe.skipIf(!isRoot)("namespace stage [requires root]", () => {
  test("starts a process in all seven new namespaces, mapped 0 -> 100000", async () => {
    const text = await runInNamespaces("echo pid=$$; cat /proc/self/uid_map; id -u; readlink /proc/self/ns/user", ALL);
    expect(text).toContain("pid=1\n");
    expect(text).toMatch(/^\s+0\s+100000\s+65536$/m);
    expect(text).toContain("\n0\n");
    const hostUserns = (await Bun.$`readlink /proc/self/ns/user`.text()).trim();
    expect(text).not.toContain(hostUserns);
  });

  test("an onReady that throws ends the stage and the error comes back, without a hang", () => {
    const fd = openExe("/bin/true");
    const t0 = Date.now();
    expect(() => spawnInNamespaces({
      flags: CLONE.NEWUSER | CLONE.NEWUTS, execFd: fd, argv: ["true"], env: [], setIds: true,
      onReady: () => { throw new Error("cgroup.procs: EOPNOTSUPP"); },
    })).toThrow("cgroup.procs: EOPNOTSUPP");
    libc.symbols.close(fd);
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 10_000);

  test("joins an existing namespace by fd", async () => {
    const fd = openExe("/proc/self/ns/uts");
    const s = spawnInNamespaces({ flags: 0, join: [{ fd, type: CLONE.NEWUTS }], execFd: openExe("/bin/true"), argv: ["true"], env: [], setIds: false });
    libc.symbols.close(s.syncFd);
    expect(s.pid).toBeGreaterThan(1);
  });

  test("a failed exec is reported by awaitExec with the step and errno, every time", () => {
    // Stage 2 is held until stage 1 has reported its pid: spawn never sees the exec error.
    for (let i = 0; i < 30; i++) {
      const s = spawnInNamespaces({ flags: CLONE.NEWUTS, execFd: 999, argv: ["x"], env: [], setIds: false });
      let err: unknown;
      try { awaitExec(s.syncFd); } catch (e) { err = e; }
      libc.symbols.close(s.syncFd);
      expect(isSysError(err, "EBADF")).toBe(true);
      expect(String(err)).toContain("execveat");
    }
  });

  test("a bad namespace fd to join fails with setns and EBADF or EINVAL", () => {
    expect(() => spawnInNamespaces({ flags: 0, join: [{ fd: 0, type: CLONE.NEWNET }], execFd: 0, argv: [], env: [], setIds: false }))
      .toThrow(/setns #1/);
  });
});
