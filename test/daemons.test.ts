/**
 * End to end: sysbox-mgr and sysbox-fs as real processes in an isolated run
 * dir; talks to them over their sockets with the real client.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ENDPOINTS, connectDaemon, encodeFrame, waitForSocket, type DaemonKind } from "../internal/ipc/mod.ts";
import { rawExchange } from "../internal/ipc/testing.ts";
import { VERSION } from "../internal/version/mod.ts";

const ROOT = join(import.meta.dir, "..");

type Proc = ReturnType<typeof spawnDaemon>;

function spawnDaemon(kind: DaemonKind, args: string[]) {
  return Bun.spawn([process.execPath, join(ROOT, "cmd", ENDPOINTS[kind].name, "main.ts"), ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** Waits for exit, killing the process if it takes longer than `ms`. */
async function exitOf(p: Proc, ms = 10_000): Promise<number> {
  const killer = setTimeout(() => p.kill("SIGKILL"), ms);
  const code = await p.exited;
  clearTimeout(killer);
  return code;
}

describe.each(["mgr", "fs"] as const)("%s daemon", (kind) => {
  const { name, socket, pidFile } = ENDPOINTS[kind];
  let dir: string;
  let runDir: string;
  let sock: string;
  let pidPath: string;
  const procs: Proc[] = [];

  beforeEach(() => {
    // Not /tmp: sysbox-mgr refuses a data root on tmpfs.
    dir = mkdtempSync(join(existsSync("/var/tmp") ? "/var/tmp" : tmpdir(), `e2e-${kind}-`));
    runDir = join(dir, "run");
    sock = join(runDir, socket);
    pidPath = join(runDir, pidFile);
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) {
      p.kill("SIGKILL");
      await p.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** sysbox-mgr's host files and data root, in the test's dir rather than the real ones. */
  function hostArgs(): string[] {
    if (kind !== "mgr") return [];
    const etc = join(dir, "host", "etc");
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, "passwd"), "sysbox:x:999:999::/nonexistent:/bin/false\n");
    return ["--host-root", join(dir, "host"), "--data-root", join(dir, "data")];
  }

  async function start(extra: string[] = []): Promise<Proc> {
    const p = spawnDaemon(kind, ["--run-dir", runDir, ...hostArgs(), ...extra]);
    procs.push(p);
    await waitForSocket(sock, { timeoutMs: 10_000 });
    return p;
  }

  test("single instance, survives a garbage client, stops cleanly on SIGTERM", async () => {
    const logFile = join(dir, "daemon.log");
    const daemon = await start(["--log", logFile, "--log-format", "json", "--log-level", "debug"]);
    expect(readFileSync(pidPath, "utf8")).toBe(`${daemon.pid}\n`);

    // A second instance refuses to start and leaves the first one's files alone.
    const second = spawnDaemon(kind, ["--run-dir", runDir]);
    procs.push(second);
    expect(await exitOf(second)).not.toBe(0);
    expect(await new Response(second.stderr).text()).toContain(
      `${name} is already running (pid ${daemon.pid}, pid file ${pidPath})`,
    );
    expect(existsSync(sock)).toBe(true);

    // A client connected before the garbage arrives...
    using bystander = await connectDaemon(kind, { runDir });
    const before = await bystander.request("status", {});
    expect(before).toMatchObject({ daemon: name, version: VERSION, pid: daemon.pid });

    // ...garbage on another connection gets an error reply and a close...
    const garbage = await rawExchange(sock, new Uint8Array([0, 0, 0, 3, 0xff, 0xfe, 0xfd]));
    expect(garbage.closedByPeer).toBe(true);
    expect(garbage.replies).toMatchObject([{ id: 0, ok: false, error: { code: "malformed-frame" } }]);
    const text = await rawExchange(sock, new TextEncoder().encode("hello, daemon\n"));
    expect(text.replies).toMatchObject([{ id: 0, ok: false, error: { code: "oversize-frame" } }]);

    // ...a well-formed request on a new connection is served, and so is the bystander.
    using fresh = await connectDaemon(kind, { runDir });
    expect((await fresh.request("status", {})).pid).toBe(daemon.pid);
    const after = await bystander.request("status", {});
    expect(after.uptimeSeconds).toBeGreaterThanOrEqual(before.uptimeSeconds);

    // Unknown types and bad bodies are per-request errors.
    const unknown = await rawExchange(sock, encodeFrame({ id: 1, type: "frobnicate", body: {} }), { waitMs: 300 });
    expect(unknown.replies).toMatchObject([{ id: 1, ok: false, error: { code: "unknown-message" } }]);
    expect(unknown.closedByPeer).toBe(false);

    daemon.kill("SIGTERM");
    expect(await exitOf(daemon)).toBe(0);
    expect(existsSync(sock)).toBe(false);
    expect(existsSync(pidPath)).toBe(false);

    const lines = readFileSync(logFile, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
    for (const l of lines) expect(Object.keys(l)).toEqual(["level", "msg", "time"]);
    const msgs = lines.map((l) => l.msg as string);
    expect(msgs.some((m) => m.startsWith(`${name} ready`))).toBe(true);
    expect(lines.find((l) => l.msg.includes("closing connection"))?.level).toBe("warning");
    expect(msgs).toContain(`${name}: received SIGTERM, shutting down`);
  });

  test("starts over the pid file and socket of a SIGKILLed instance", async () => {
    const first = await start();
    first.kill("SIGKILL");
    await first.exited;
    expect(existsSync(sock)).toBe(true);
    expect(existsSync(pidPath)).toBe(true);

    const second = await start();
    using c = await connectDaemon(kind, { runDir });
    expect((await c.request("status", {})).pid).toBe(second.pid);
    second.kill("SIGINT");
    expect(await exitOf(second)).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });

  test("an unknown flag exits 2 with a clear message", async () => {
    const p = spawnDaemon(kind, ["--run-dir", runDir, "--frobnicate"]);
    procs.push(p);
    expect(await exitOf(p)).toBe(2);
    expect(await new Response(p.stderr).text()).toBe(`${name}: unknown flag --frobnicate\nRun '${name} --help' for usage.\n`);
    expect(existsSync(runDir)).toBe(false);
  });

  test("--version and --help", async () => {
    const v = spawnDaemon(kind, ["--version"]);
    procs.push(v);
    expect(await exitOf(v)).toBe(0);
    expect(await new Response(v.stdout).text()).toMatch(new RegExp(`^${name} version ${VERSION}\\ncommit: .+\\nspec: 1\\.1\\.0\\n$`));
    const h = spawnDaemon(kind, ["--help"]);
    procs.push(h);
    expect(await exitOf(h)).toBe(0);
    const help = await new Response(h.stdout).text();
    for (const flag of ["--log FILE", "--log-level", "--log-format", "--run-dir", "--version", "--help"]) expect(help).toContain(flag);
  });
});
