/**
 * scripts/lib.sh's host_dockerd_pid: the host's dockerd is found through its
 * pid file, and a dockerd in another pid namespace (a system container's, as
 * in sysbox-demo) is never taken for it. Fake daemons are copies of `sleep`
 * named dockerd.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const LIB = join(import.meta.dir, "lib.sh");
const isRoot = process.getuid?.() === 0;
const canUnshare = isRoot && Bun.which("unshare") !== null;

let dir = "";
let fake = "";
const procs: Array<ReturnType<typeof Bun.spawn>> = [];
/** Fakes in other pid namespaces, killed by pid (their unshare parent may be gone first). */
const innerPids: number[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lib-sh-"));
  fake = join(dir, "dockerd");
  copyFileSync(Bun.which("sleep")!, fake);
});

afterEach(async () => {
  for (const pid of innerPids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  for (const p of procs.splice(0)) {
    p.kill("SIGKILL");
    await p.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** host_dockerd_pid with `pidfile`; its output, or "none" when it fails. */
function hostDockerdPid(pidfile: string): string {
  const r = Bun.spawnSync(["bash", "-c", `. "$1"; host_dockerd_pid "$2" || echo none`, "x", LIB, pidfile], { stdout: "pipe", stderr: "pipe" });
  return r.stdout.toString().trim();
}

/** The pid (in our namespace) of a process named `name` whose parent is `parent`, waiting for it. */
async function childNamed(parent: number, name: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const r = Bun.spawnSync(["pgrep", "-P", String(parent), "-x", name], { stdout: "pipe" });
    const pid = Number(r.stdout.toString().trim().split("\n")[0]);
    if (pid > 0) return pid;
    await Bun.sleep(10);
  }
  throw new Error(`no child ${name} of ${parent}`);
}

/** Our own dockerd stand-in, as if the host's. */
async function hostFake(): Promise<number> {
  const p = Bun.spawn([fake, "1000"], { stdio: ["ignore", "ignore", "ignore"] });
  procs.push(p);
  return p.pid;
}

/** A dockerd stand-in in a new pid namespace, as a system container's is. */
async function containerFake(): Promise<number> {
  // --kill-child: the fake goes with unshare, whatever ends this test.
  const p = Bun.spawn(["unshare", "--pid", "--fork", "--kill-child", fake, "1000"], { stdio: ["ignore", "ignore", "ignore"] });
  procs.push(p);
  const pid = await childNamed(p.pid, "dockerd");
  innerPids.push(pid);
  return pid;
}

describe("host_dockerd_pid", () => {
  test("the pid its pid file names, when that process is a dockerd", async () => {
    const pid = await hostFake();
    const pidfile = join(dir, "docker.pid");
    writeFileSync(pidfile, `${pid}\n`);
    expect(hostDockerdPid(pidfile)).toBe(String(pid));
    // A pid file naming something else (a reused pid) is not believed.
    writeFileSync(pidfile, `${process.pid}\n`);
    expect(hostDockerdPid(pidfile)).not.toBe(String(process.pid));
  });

  test.skipIf(!canUnshare)("a dockerd in another pid namespace is never taken, by pid file or by name [requires root, unshare]", async () => {
    const inner = await containerFake();
    expect(readFileSync(`/proc/${inner}/comm`, "utf8").trim()).toBe("dockerd");
    const pidfile = join(dir, "docker.pid");
    writeFileSync(pidfile, `${inner}\n`);
    expect(hostDockerdPid(pidfile)).not.toBe(String(inner));
    expect(hostDockerdPid(join(dir, "none.pid"))).not.toBe(String(inner));
    // With a host dockerd beside it and no pid file, the host's is the one found
    // (or a real one of this machine: either way, not the container's).
    await hostFake();
    expect(hostDockerdPid(join(dir, "none.pid"))).toMatch(/^\d+$/);
    expect(hostDockerdPid(join(dir, "none.pid"))).not.toBe(String(inner));
  });
});
