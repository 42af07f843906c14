import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { close } from "./fs.ts";
import { RLIM_INFINITY, SIG, execve, kill, pidfdOpen, pidfdSendSignal, prlimit, waitpid, WAIT } from "./proc.ts";

const isRoot = process.getuid?.() === 0;
const child = join(import.meta.dir, "testdata", "proc-child.ts");

async function run(mode: string, ...args: string[]): Promise<string> {
  const p = Bun.spawn([process.execPath, child, mode, ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`proc-child ${mode} exited ${code}: ${err}`);
  return out;
}

describe.skipIf(!isRoot)("process syscalls [requires root]", () => {
  test("a thread of a multi-threaded process joins another mount namespace, and its exec stays there", async () => {
    const other = Bun.spawn(["unshare", "-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs tmpfs /mnt && touch /mnt/marker && echo up && exec sleep 30"], { stdout: "pipe" });
    try {
      const reader = other.stdout.getReader();
      await reader.read();
      reader.releaseLock();
      const kids = (await Bun.file(`/proc/${other.pid}/task/${other.pid}/children`).text()).trim();
      const target = kids || String(other.pid);
      expect(await run("mountns", target)).toBe("joined\n");
    } finally {
      other.kill();
    }
  });

  test("prlimit sets and reads back a child's RLIMIT_NOFILE", async () => {
    const p = Bun.spawn(["sleep", "30"]);
    try {
      const before = prlimit(p.pid, "RLIMIT_NOFILE");
      const old = prlimit(p.pid, "RLIMIT_NOFILE", { soft: 123n, hard: 456n });
      expect(old).toEqual(before);
      expect(prlimit(p.pid, "RLIMIT_NOFILE")).toEqual({ soft: 123n, hard: 456n });
      prlimit(p.pid, "RLIMIT_CORE", { soft: RLIM_INFINITY, hard: RLIM_INFINITY });
      expect(prlimit(p.pid, "RLIMIT_CORE")).toEqual({ soft: RLIM_INFINITY, hard: RLIM_INFINITY });
      expect(() => prlimit(p.pid, "RLIMIT_NOFILE", { soft: 10n, hard: 5n })).toThrow(
        `prlimit64 \`pid ${p.pid}\` (RLIMIT_NOFILE): EINVAL`,
      );
    } finally {
      p.kill();
      await p.exited;
    }
  });

  test("pidfd_send_signal and kill reach the child", async () => {
    const a = Bun.spawn(["sleep", "30"]);
    const fd = pidfdOpen(a.pid);
    pidfdSendSignal(fd, SIG.SIGTERM);
    close(fd);
    await a.exited;
    expect(a.signalCode).toBe("SIGTERM");

    const b = Bun.spawn(["sleep", "30"]);
    kill(b.pid, SIG.SIGKILL);
    await b.exited;
    expect(b.signalCode).toBe("SIGKILL");
    expect(() => kill(b.pid, 0)).toThrow(`kill \`pid ${b.pid}\` (0): ESRCH`);
  });

  test("waitpid with WNOHANG on a pid that is not our child is ECHILD", () => {
    expect(() => waitpid(1, WAIT.WNOHANG)).toThrow("waitpid `pid 1` (WNOHANG): ECHILD");
  });

  test("thread identity, no_new_privs and the name survive into execve", async () => {
    const [first, ...rest] = (await run("identity")).trim().split("\n");
    expect(JSON.parse(first!)).toEqual({ comm: "sysbox-probe" });
    const status = rest.join("\n");
    expect(status).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    expect(status).toMatch(/^Gid:\s+1001\s+1001\s+1001\s+1001$/m);
    expect(status).toMatch(/^Groups:\s+5 6\s*$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^FOO=bar$/m);
  });

  test("execveat runs the program open at an fd", async () => {
    expect(await run("execveat")).toBe("via-execveat\n");
  });

  test("a failed execve throws naming the path", () => {
    expect(() => execve("/nonexistent/prog", ["prog"], [])).toThrow("execve `/nonexistent/prog`: ENOENT");
  });
});
