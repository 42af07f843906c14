/**
 * start and exec against the recording Sys, with a real state dir in a temp
 * root and a real child process standing in for the container's init.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodePayload, encodeFrame, HEADER_SIZE } from "../ipc/mod.ts";
import { CLONE } from "../sys/flags.ts";
import { SysError } from "../sys/errno.ts";
import { failAtIndex, Recorder, recordingSys, syncReplies } from "./_recsys.ts";
import { startContainer, type StartDeps } from "./start.ts";
import { execInContainer, type ExecDeps, type ExecOptions } from "./exec.ts";
import { resolveSettings, SYSBOX_SETTING_DEFAULTS, type ContainerSettings } from "../syscont/mod.ts";
import { writePidFile } from "./fds.ts";
import { EXEC_FIFO, loadState, makeContainerDir, processStartTime, saveState, type ContainerState } from "./state.ts";
import type { Logger } from "../log/mod.ts";

const warnings: string[] = [];
const log = { debug: () => {}, info: () => {}, warn: (m: string) => warnings.push(m), error: () => {} } as unknown as Logger;

let root = "";
let init: Bun.Subprocess | undefined;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "rt-start-exec-"));
  warnings.length = 0;
});

afterEach(() => {
  init?.kill(9);
  init = undefined;
  rmSync(root, { recursive: true, force: true });
});

async function container(id: string, opts: { fifo: boolean; userns?: boolean; namespaces?: string[]; hooks?: object; fs?: boolean; settings?: ContainerSettings }): Promise<ContainerState> {
  const dir = makeContainerDir(root, id);
  init = Bun.spawn(["sleep", "30"], { stdio: ["ignore", "ignore", "ignore"] });
  let start = "";
  for (let i = 0; i < 100 && !(start = processStartTime(init.pid) ?? ""); i++) await Bun.sleep(5);
  const configPath = join(dir, "config.json");
  writeFileSync(configPath, JSON.stringify({
    ociVersion: "1.1.0", hooks: opts.hooks ?? {},
    process: { cwd: "/work", user: { uid: 0, gid: 0 }, args: ["sh"], env: ["PATH=/bin", "A=1"] },
  }));
  if (opts.fifo) writeFileSync(join(dir, EXEC_FIFO), "");
  const st: ContainerState = {
    id, pid: init.pid, pidStartTime: start, bundle: "/bundle", rootfs: "/bundle/rootfs", created: "2026-01-01T00:00:00Z", owner: "",
    annotations: {}, cgroupPath: "", cgroupPaths: {}, namespaces: opts.namespaces ?? ["user", "pid", "uts", "ipc", "net", "cgroup", "mnt"],
    userns: opts.userns ?? true, configPath,
    ...(opts.fs ? { fs: true } : {}), ...(opts.settings ? { settings: opts.settings } : {}),
  };
  saveState(root, st);
  return st;
}

describe("start", () => {
  test("opens the fifo non-blocking, reads init's byte, removes the fifo, marks started, runs poststart", async () => {
    const st = await container("a", { fifo: true, hooks: { poststart: [{ path: "/bin/true" }] } });
    const rec = new Recorder();
    const { sys } = recordingSys({ read: (_fd, buf) => { buf[0] = 48; return 1; } }, rec);
    const deps: StartDeps = { sys, runHooks: rec.wrap("runHooks", () => {}), initAlive: () => true };
    await startContainer(root, "a", log, deps);
    expect(rec.lines().map((l) => l.replaceAll(root, "ROOT"))).toEqual([
      "open ROOT/a/exec.fifo O_NONBLOCK|O_CLOEXEC => 100",
      expect.stringMatching(/^read 100 /),
      "close 100",
      "rm ROOT/a/exec.fifo",
      expect.stringMatching(/^runHooks poststart /),
    ]);
    expect(rec.calls.at(-1)!.args[2]).toEqual({ ociVersion: "1.1.0", id: "a", pid: st.pid, status: "running", bundle: "/bundle", annotations: {} });
    expect(loadState(root, "a").started).toBe(true);
  });

  test("an init that died before writing its byte fails start, and the fifo fd is closed", async () => {
    await container("a", { fifo: true });
    const rec = new Recorder();
    const { sys } = recordingSys({ read: () => { throw new SysError({ syscall: "read", errno: 11 }); } }, rec);
    const deps: StartDeps = { sys, runHooks: rec.wrap("runHooks", () => {}), initAlive: () => false };
    await expect(startContainer(root, "a", log, deps)).rejects.toThrow("container init exited before start");
    expect(rec.lines().map((l) => l.split(" ")[0])).toEqual(["open", "read", "close"]);
    expect(loadState(root, "a").started).toBeUndefined();
  });

  test("a running container cannot be started again", async () => {
    await container("a", { fifo: false });
    const rec = new Recorder();
    const { sys } = recordingSys({}, rec);
    await expect(startContainer(root, "a", log, { sys, runHooks: () => {}, initAlive: () => true })).rejects.toThrow("already been started");
    expect(rec.calls).toEqual([]);
  });
});

const SYNC_FD = 60;

function execFakes(rec: Recorder, replies: Uint8Array[]): ExecDeps {
  const { sys, nextFd } = recordingSys({ read: syncReplies(SYNC_FD, replies) }, rec);
  return {
    sys,
    spawnInNamespaces: rec.wrap("spawnInNamespaces", (o) => { o.onReady?.(7000); return { pid: 7001, syncFd: SYNC_FD }; }),
    awaitExec: rec.wrap("awaitExec", () => {}),
    connectConsole: rec.wrap("connectConsole", () => nextFd()),
    connectInterceptor: rec.wrap("connectInterceptor", async () => nextFd()),
    self: () => ({ path: "/usr/bin/sysbox-runc", argv: ["sysbox-runc"] }),
    writePidFile: rec.wrap("writePidFile", () => {}),
    boundingSet: () => (1n << 41n) - 1n,
  };
}

function execOpts(over: Partial<ExecOptions> = {}): ExecOptions {
  return { root, id: "a", args: ["ls", "-l"], detach: false, tty: false, env: ["B=2"], preserveFds: 0, log, pidFile: "/run/exec.pid", ...over };
}

describe("exec", () => {
  test("joins the init's namespaces user first, mount ns in the init stage, waits for the process and returns its exit code", async () => {
    const st = await container("a", { fifo: false });
    const rec = new Recorder();
    const deps = execFakes(rec, [encodeFrame({ t: "warn", msg: "caps" }), encodeFrame({ t: "ready", pid: 5 })]);
    const code = await execInContainer(execOpts(), deps);
    expect(code).toBe(0);
    const P = `/proc/${st.pid}/ns`;
    expect(rec.lines().filter((l) => !l.startsWith("read ")).map((l) => l.replace(/^(spawnInNamespaces|writeAll) .*/, "$1"))).toEqual([
      `open ${P}/user O_CLOEXEC => 100`, `open ${P}/pid O_CLOEXEC => 101`, `open ${P}/uts O_CLOEXEC => 102`,
      `open ${P}/ipc O_CLOEXEC => 103`, `open ${P}/net O_CLOEXEC => 104`, `open ${P}/cgroup O_CLOEXEC => 105`,
      // Inherited by the init stage, which enters it itself.
      `open ${P}/mnt O_RDONLY => 106`,
      "open /usr/bin/sysbox-runc O_CLOEXEC => 107",
      "prctl 36 1",
      "spawnInNamespaces",
      "awaitExec 60",
      "writeAll",
      "writePidFile /run/exec.pid 7001",
      "close 60", "close 107", "close 106", "close 105", "close 104", "close 103", "close 102", "close 101", "close 100",
      "waitpid 7001 0",
    ]);
    const spawn = rec.calls.find((c) => c.fn === "spawnInNamespaces")!.args[0] as { join: Array<{ fd: number; type: number }>; setIds: boolean; flags: number };
    expect(spawn.flags).toBe(0);
    expect(spawn.setIds).toBe(true);
    expect(spawn.join.map((j) => j.type)).toEqual([CLONE.NEWUSER, CLONE.NEWPID, CLONE.NEWUTS, CLONE.NEWIPC, CLONE.NEWNET, CLONE.NEWCGROUP]);
    expect(warnings).toEqual(["caps"]);
  });

  test("the exec message carries the process (the container's env plus --env) and the mount ns fd", async () => {
    await container("a", { fifo: false, userns: false, namespaces: ["pid", "mnt"] });
    const rec = new Recorder();
    await execInContainer(execOpts({ detach: true }), execFakes(rec, [encodeFrame({ t: "ready", pid: 5 })]));
    const w = rec.calls.find((c) => c.fn === "writeAll")!;
    const msg = decodePayload((w.args[1] as Uint8Array).subarray(HEADER_SIZE)) as Record<string, unknown>;
    expect(msg).toMatchObject({ t: "exec", id: "a", mntFd: 101, interceptFd: -1, consoleFd: -1, preserveFds: 0 });
    expect(msg.process).toMatchObject({ args: ["ls", "-l"], cwd: "/work", env: ["PATH=/bin", "A=1", "B=2"], user: { uid: 0, gid: 0 }, terminal: false });
    // --detach: no subreaper, no wait.
    expect(rec.calls.some((c) => c.fn === "prctl" || c.fn === "waitpid")).toBe(false);
  });

  test("settings: SYSBOX_HONOR_CAPS per process, per-container variables dropped, the container's trap groups", async () => {
    const settings = resolveSettings({ ignoreSysfsChown: true }, SYSBOX_SETTING_DEFAULTS);
    await container("a", { fifo: false, fs: true, settings });
    const sent = async (env: string[]) => {
      const rec = new Recorder();
      await execInContainer(execOpts({ detach: true, env }), execFakes(rec, [encodeFrame({ t: "ready", pid: 5 })]));
      const w = rec.calls.find((c) => c.fn === "writeAll")!;
      return decodePayload((w.args[1] as Uint8Array).subarray(HEADER_SIZE)) as { traps?: string[]; process: { env: string[]; capabilities?: { effective?: string[] } } };
    };
    const plain = await sent([]);
    expect(plain.traps).toEqual(["chown"]);
    expect(plain.process.capabilities?.effective).toContain("CAP_SYS_ADMIN");
    const honored = await sent(["SYSBOX_HONOR_CAPS=TRUE", "SYSBOX_IGNORE_SYSFS_CHOWN=FALSE"]);
    expect(honored.traps).toEqual(["chown"]);
    expect(honored.process.env).toEqual(["PATH=/bin", "A=1", "SYSBOX_HONOR_CAPS=TRUE"]);
    // The container's process has no capabilities of its own here: honored, it gets none.
    expect(honored.process.capabilities?.effective ?? []).not.toContain("CAP_SYS_ADMIN");
    await expect(execInContainer(execOpts({ detach: true, env: ["SYSBOX_NO_SUCH_THING=1"] }), execFakes(new Recorder(), []))).rejects.toThrow("SYSBOX_NO_SUCH_THING");
  });

  test("a failed exec is reported with the init's words, every fd closed, no pid file", async () => {
    await container("a", { fifo: false });
    const rec = new Recorder();
    const deps = execFakes(rec, [encodeFrame({ t: "ready", pid: 5 }), encodeFrame({ t: "error", msg: 'exec: "ls": executable file not found in $PATH' })]);
    await expect(execInContainer(execOpts(), deps)).rejects.toThrow("executable file not found");
    const opened = rec.calls.filter((c) => c.fn === "open").map((c) => c.result).concat([SYNC_FD]);
    const closed = rec.calls.filter((c) => c.fn === "close").map((c) => c.args[0]);
    expect([...closed].sort()).toEqual([...opened].sort());
    expect(rec.calls.some((c) => c.fn === "writePidFile")).toBe(false);
  });

  test("a pid file in a missing directory fails as a SysError naming open, the path and ENOENT, not in Node's words", async () => {
    await container("a", { fifo: false });
    const deps = { ...execFakes(new Recorder(), [encodeFrame({ t: "ready", pid: 5 })]), writePidFile };
    const err = await execInContainer(execOpts({ detach: true, pidFile: join(root, "no-such-dir", "x") }), deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SysError);
    expect((err as SysError).code).toBe("ENOENT");
    expect((err as SysError).message).toBe(`open \`${join(root, "no-such-dir", "x.tmp")}\`: ENOENT`);
  });

  test("a --process path that is a directory fails naming read, the path and EISDIR", async () => {
    await container("a", { fifo: false });
    await expect(execInContainer(execOpts({ processFile: root }), execFakes(new Recorder(), []))).rejects.toThrow(`read \`${root}\`: EISDIR`);
  });

  test("a stopped container refuses exec before opening anything", async () => {
    await container("a", { fifo: false });
    init!.kill(9);
    await init!.exited;
    const rec = new Recorder();
    await expect(execInContainer(execOpts(), execFakes(rec, []))).rejects.toThrow("cannot exec in a stopped container");
    expect(rec.calls).toEqual([]);
  });
});

describe("exec, a failure injected at each step", () => {
  test("fails exec and closes every fd it opened, exactly once", async () => {
    await container("a", { fifo: false });
    const replies = () => [encodeFrame({ t: "ready", pid: 5 })];
    const ok = new Recorder();
    await execInContainer(execOpts({ detach: true }), execFakes(ok, replies()));
    const total = ok.calls.length;
    expect(total).toBeGreaterThan(10);
    for (let i = 0; i < total; i++) {
      const rec = new Recorder(failAtIndex(i));
      const failed = await execInContainer(execOpts({ detach: true }), execFakes(rec, replies())).then(() => false, () => true);
      const at = `failure at ${i} (${rec.calls[i]!.fn})`;
      // A failed close still releases the fd (close(2)) and is not exec's failure; every other failure is.
      expect({ at, failed }).toEqual({ at, failed: rec.calls[i]!.fn !== "close" });
      const opened = rec.calls.slice(0, i).filter((c) => c.fn === "open" || c.fn === "connectConsole").map((c) => c.result);
      if (rec.calls.slice(0, i).some((c) => c.fn === "spawnInNamespaces")) opened.push(SYNC_FD);
      const closed = rec.calls.filter((c) => c.fn === "close").map((c) => c.args[0]);
      expect({ at, closed: [...closed].sort() }).toEqual({ at, closed: [...opened].sort() });
    }
  });
});
