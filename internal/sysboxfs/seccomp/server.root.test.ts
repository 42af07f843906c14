/**
 * The interceptor against the real kernel: an in-process server, and a probe
 * (testdata/child.ts) started as root of a new user and mount namespace
 * (mapped to 100000) that installs the notify filter, registers with the fd
 * the test connected for it, and tries mounts the policy allows and refuses.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { close, open, O_FLAGS } from "../../sys/fs.ts";
import { libseccomp } from "../../sys/seccomp.ts";
import { runProbe } from "./_probe.ts";
import { connectInterceptor, sendNotifyFd, InterceptorError } from "../../intercept/mod.ts";
import { startInterceptServer, type InterceptServer } from "./server.ts";

const isRoot = process.getuid?.() === 0;

interface Report {
  results: Record<string, string | { code: number; stderr: string } | undefined>;
}

let work = "";
let server: InterceptServer;
const logged: string[] = [];

beforeAll(async () => {
  if (!isRoot) return;
  work = mkdtempSync(join(tmpdir(), "intercept-test-"));
  const log = (level: string) => (msg: string) => logged.push(`${level} ${msg}`);
  server = await startInterceptServer({ runDir: join(work, "run"), logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") } });
});

afterAll(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function runProbeChecked(containerId: string): Promise<Report> {
  try {
    return (await runProbe({ mode: "check", work, runDir: join(work, "run"), containerId })) as Report;
  } catch (e) {
    throw new Error(`${(e as Error).message}; log:\n${logged.join("\n")}`);
  }
}

describe.skipIf(!isRoot || !libseccomp.available())("seccomp interception [requires root]", () => {
  let report: Report;

  test("a container's mounts are answered by policy", async () => {
    report = await runProbeChecked("ctr1");
    const r = report.results;
    expect(r.newTmpfs).toBe("ok");
    expect(r.remountRoRw).toBe("EPERM");
    expect(r.remountRoRwViaLink).toBe("EPERM");
    expect(r.remountRoRo).toBe("ok");
    expect(r.umountProc).toBe("EBUSY");
    expect(r.umountProcDetach).toBe("EBUSY");
    expect(r.umountTmpfs).toBe("ok");
    expect(r.roStillRo?.toString().split(",")).toContain("ro");
  });

  test("mknod: allow-listed nodes are bound, whiteouts go to the kernel, others fail with EPERM", () => {
    const r = report.results;
    expect(r.mknodNull).toBe("ok");
    expect(r.mknodNullRdev).toBe("true true");
    expect(r.mknodWhiteout).toBe("ok");
    expect(r.mknodDisk).toBe("EPERM");
    // The probe's root is the host's: its /dev/fuse, where there is one, is the real node to bind.
    expect(r.mknodFuse).toBe(existsSync("/dev/fuse") ? "ok" : "EPERM");
  });

  test("sysinfo is answered with the container's uptime", () => {
    const s = report.results.sysinfo as unknown as { uptime: number; totalram: number; memUnit: number };
    const hostUp = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    expect(s.memUnit).toBe(1);
    expect(s.totalram).toBeGreaterThan(0);
    expect(s.uptime).toBeLessThan(Math.min(120, hostUp - 1));
  });

  test("commands run by the container inherit the filter", () => {
    const r = report.results;
    expect(r.cmdMount).toEqual({ code: 0, stderr: "" });
    expect((r.cmdRemountRw as { code: number }).code).not.toBe(0);
    expect((r.cmdRemountRw as { stderr: string }).stderr).toMatch(/permission denied|not permitted/i);
    expect((r.cmdUmountProc as { code: number }).code).not.toBe(0);
    expect((r.cmdUmountProc as { stderr: string }).stderr).toMatch(/busy/i);
  });

  test("refusals are logged with the container, the path and the reason", () => {
    expect(logged.some((l) => /^info seccomp: init process \d+ of container ctr1 registered/.test(l))).toBe(true);
    expect(logged.some((l) => l.includes(`mount("${join(work, "ctr1", "ro")}")`) && l.includes("EPERM: read-write remount of the initially read-only mount"))).toBe(true);
    expect(logged.some((l) => l.includes("umount2(") && l.includes("EBUSY: the container's /proc"))).toBe(true);
  });

  test("the fd is closed and the container forgotten once its processes are gone", async () => {
    for (let i = 0; i < 200 && server.stats().fds > 0; i++) await Bun.sleep(10);
    const s = server.stats();
    expect([s.fds, s.containers]).toEqual([0, 0]);
    expect(s.denied).toBeGreaterThanOrEqual(6);
    expect(s.errors).toBe(0);
    expect(logged.some((l) => /container ctr1: notify fd \d+ of pid \d+ hung up; container gone/.test(l))).toBe(true);
  });

  test("containers are served side by side, one flooding trapped remounts", async () => {
    const flood = runProbe({ mode: "bench", work, runDir: join(work, "run"), containerId: "flood", n: 2000 });
    const [a, b] = await Promise.all([runProbeChecked("ctr2"), runProbeChecked("ctr3")]);
    await flood;
    for (const r of [a, b]) expect([r.results.remountRoRw, r.results.umountProc, r.results.newTmpfs]).toEqual(["EPERM", "EBUSY", "ok"]);
    for (let i = 0; i < 200 && server.stats().containers > 0; i++) await Bun.sleep(10);
    expect(server.stats()).toMatchObject({ containers: 0, fds: 0, errors: 0 });
  });

  test("a registration that is not from a container init is refused with the reason", () => {
    const devnull = open("/dev/null", O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
    const socks = [connectInterceptor(join(work, "run")), connectInterceptor(join(work, "run"))];
    try {
      expect(() => sendNotifyFd(socks[0]!, devnull, { containerId: "x", mounts: { root: 1, readonly: [] } })).toThrow(InterceptorError);
      expect(() => sendNotifyFd(socks[1]!, devnull, { containerId: "nope" })).toThrow(/not a seccomp listener/);
    } finally {
      for (const fd of [devnull, ...socks]) close(fd);
    }
  });

  test("a stop still answers connections it accepted (a restart between the runtime's connect and the init's send); new ones find no socket", async () => {
    const runDir = join(work, "run-drain");
    const other = await startInterceptServer({ runDir, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    const sock = connectInterceptor(runDir);
    const devnull = open("/dev/null", O_FLAGS.RDONLY | O_FLAGS.CLOEXEC);
    try {
      // close() unlinks the socket and stops the loop before its first await.
      const closing = other.close();
      expect(() => connectInterceptor(runDir, 0)).toThrow(/ENOENT/);
      // Answered (refused: not a listener), not cut off with EPIPE or EOF.
      expect(() => sendNotifyFd(sock, devnull, { containerId: "late" })).toThrow(/not a seccomp listener/);
      await closing;
    } finally {
      for (const fd of [devnull, sock]) close(fd);
    }
  });
});
