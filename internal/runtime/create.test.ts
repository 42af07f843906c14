/**
 * create's parent side against fakes: the pure plan for a Docker config.json,
 * the sequence runCreate makes (fds, namespace stage, hooks, the create
 * message), and its undo when a failure is injected at each step.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../oci/mod.ts";
import { resolveSettings, SYSBOX_SETTING_DEFAULTS } from "../syscont/mod.ts";
import { decodePayload, encodeFrame, HEADER_SIZE } from "../ipc/mod.ts";
import { CLONE } from "../sys/flags.ts";
import type { Cgroup } from "../cgroups/mod.ts";
import { failAtIndex, Recorder, recordingSys, syncReplies, type Call } from "./_recsys.ts";
import { planCreate, runCreate, type CreateDeps, type PlanOptions, type Undo } from "./create.ts";
import type { ContainerCgroup } from "./cgroup.ts";
import type { Spec } from "./spec.ts";
import type { Logger } from "../log/mod.ts";

const SPEC = parseConfig(readFileSync(join(import.meta.dir, "../oci/testdata/docker-config.json"), "utf8"));
const ID = "5b0b6f1a2c8e47d3a9f0e1d2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f70";
const DIR = `/run/sysbox-runc/${ID}`;
const SYNC_FD = 50;
const INIT_PID = 4243;

const PLAN_OPTS: PlanOptions = {
  id: ID, bundle: "/bundle", rootfs: "/bundle/rootfs", dir: DIR, noPivot: false, preserveFds: 0, systemdCgroup: false, fs: true,
  consoleSocket: "/run/console.sock", pidFile: "/run/init.pid",
};

/** A system container's spec: its own user namespace, mapped to 165536. */
const SYSCONT: Spec = {
  ...SPEC,
  process: { ...SPEC.process!, terminal: true, oomScoreAdj: 0 },
  linux: {
    ...SPEC.linux,
    namespaces: [...(SPEC.linux?.namespaces ?? []), { type: "user" }, { type: "cgroup" }],
    uidMappings: [{ containerID: 0, hostID: 165536, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: 165536, size: 65536 }],
  },
};

const SYSCONT_FLAGS = CLONE.NEWNS | CLONE.NEWNET | CLONE.NEWUTS | CLONE.NEWPID | CLONE.NEWIPC | CLONE.NEWUSER | CLONE.NEWCGROUP;

const log: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} } as unknown as Logger;

describe("planCreate (pure)", () => {
  test("Docker's config.json: new namespaces, no user namespace, no id maps", () => {
    const p = planCreate(SPEC, { ...PLAN_OPTS, consoleSocket: undefined, pidFile: undefined, fs: false });
    expect(p.ns.flags).toBe(CLONE.NEWNS | CLONE.NEWNET | CLONE.NEWUTS | CLONE.NEWPID | CLONE.NEWIPC);
    expect(p.userns).toBe(false);
    expect(p.idMaps).toBeNull();
    expect(p.hostRoot).toEqual({ uid: 0, gid: 0 });
    expect(p.fds).toEqual({ consoleSocket: null, consoleFd: -1, devNull: false, interceptor: false });
    expect(p.fifoPath).toBe(`${DIR}/exec.fifo`);
    expect(p.configPath).toBe(`${DIR}/config.json`);
    expect(p.message).toEqual({ t: "create", id: ID, bundle: "/bundle", noPivot: false, userns: false, cgroupDelegated: true, cgroupns: false, preserveFds: 0 });
    expect(p.pidFile).toBeNull();
  });

  test("a system container: user namespace, id maps as /proc text, its root owns the fifo and cgroup", () => {
    const p = planCreate(SYSCONT, PLAN_OPTS);
    expect(p.ns.flags & CLONE.NEWUSER).toBe(CLONE.NEWUSER);
    expect(p.userns).toBe(true);
    expect(p.idMaps).toEqual({ uid: "0 165536 65536\n", gid: "0 165536 65536\n" });
    expect(p.hostRoot).toEqual({ uid: 165536, gid: 165536 });
    expect(p.cgroup.delegateTo).toEqual({ uid: 165536, gid: 165536 });
    expect(p.range).toEqual({ uid: 165536, gid: 165536, size: 65536 });
    expect(p.message.cgroupns).toBe(true);
    expect(p.fds).toEqual({ consoleSocket: "/run/console.sock", consoleFd: -1, devNull: true, interceptor: true });
  });

  test("the container's settings: kept for exec, their syscall groups in the create message only with sysbox-fs", () => {
    const settings = { ...resolveSettings({ ignoreSysfsChown: true, allowTrustedXattr: true, skipUidShift: ["/data"] }, SYSBOX_SETTING_DEFAULTS) };
    const p = planCreate(SYSCONT, { ...PLAN_OPTS, settings });
    expect(p.settings).toEqual(settings);
    expect(p.message.traps).toEqual(["chown", "xattr"]);
    expect(planCreate(SYSCONT, { ...PLAN_OPTS, fs: false, settings }).message.traps).toBeUndefined();
    expect(planCreate(SYSCONT, PLAN_OPTS).message.traps).toBeUndefined();
    expect(planCreate(SYSCONT, PLAN_OPTS).settings).toEqual(resolveSettings({}, SYSBOX_SETTING_DEFAULTS));
  });

  test("a joined user namespace is still a user namespace, without maps to write", () => {
    const spec = { ...SPEC, linux: { ...SPEC.linux, namespaces: [{ type: "user" as const, path: "/proc/9/ns/user" }, { type: "mount" as const }] } };
    const p = planCreate(spec, PLAN_OPTS);
    expect(p.userns).toBe(true);
    expect(p.idMaps).toBeNull();
    expect(p.ns.join).toEqual([{ path: "/proc/9/ns/user", flag: CLONE.NEWUSER, type: "user" }]);
  });
});

/** Fakes for every dependency, all recording into one log. */
function fakes(rec: Recorder, replies: Uint8Array[] = [encodeFrame({ t: "warn", msg: "w" }), encodeFrame({ t: "ready", pid: 1 })]) {
  const { sys, nextFd } = recordingSys({ read: syncReplies(SYNC_FD, replies) }, rec);
  const cg: ContainerCgroup = {
    cg: { path: "/docker/x", paths: {}, layout: {} } as unknown as Cgroup, procsPath: "/docker/x/init.scope", paths: { unified: "/sys/fs/cgroup/docker/x" },
    v1Mounts: null, v2Path: "/sys/fs/cgroup/docker/x",
    add: rec.wrap("cgroup.add", () => {}), destroy: rec.wrap("cgroup.destroy", () => {}),
  };
  const deps: CreateDeps = {
    sys,
    spawnInNamespaces: rec.wrap("spawnInNamespaces", (o) => { o.onReady?.(INIT_PID - 1); return { pid: INIT_PID, syncFd: SYNC_FD }; }),
    awaitExec: rec.wrap("awaitExec", () => {}),
    runHooks: rec.wrap("runHooks", () => {}),
    setupCgroup: rec.wrap("setupCgroup", () => cg),
    stageMounts: rec.wrap("stageMounts", (_pid, spec, rootfs) => ({ rootfs: `${rootfs}-idmapped`, mounts: spec.mounts ?? [], detach: rec.wrap("staged.detach", () => {}) })),
    removeStaged: rec.wrap("removeStaged", () => {}),
    connectConsole: rec.wrap("connectConsole", () => nextFd()),
    connectInterceptor: rec.wrap("connectInterceptor", async () => nextFd()),
    self: () => ({ path: "/usr/bin/sysbox-runc", argv: ["sysbox-runc"] }),
    startTime: () => "12345",
    saveState: rec.wrap("saveState", () => {}),
    writePidFile: rec.wrap("writePidFile", () => {}),
    kill: rec.wrap("kill", () => true),
  };
  return { deps };
}

async function create(spec: Spec, rec: Recorder, undo: Undo = [], withFs = true) {
  const { deps } = fakes(rec);
  const fsRegister = rec.wrap("fsRegister", async () => [{ source: "/var/lib/sysboxfs/x/proc/uptime", destination: "/proc/uptime" }]);
  return runCreate(planCreate(spec, { ...PLAN_OPTS, fs: withFs }), { root: "/run/sysbox-runc", log, stores: [], mgr: true, undo, ...(withFs ? { fsRegister } : {}) }, deps);
}

/** The create message the fake init received (the frame written on the sync fd). */
function sentMessage(calls: Call[]): Record<string, unknown> {
  const w = calls.find((c) => c.fn === "writeAll" && c.args[0] === SYNC_FD)!;
  return decodePayload((w.args[1] as Uint8Array).subarray(HEADER_SIZE)) as Record<string, unknown>;
}

describe("runCreate with settings", () => {
  test("SYSBOX_SKIP_UID_SHIFT reaches the staging of ID-mapped mounts; the settings are saved with the state", async () => {
    const rec = new Recorder();
    const { deps } = fakes(rec);
    const settings = resolveSettings({ skipUidShift: ["/data"], honorCaps: true }, SYSBOX_SETTING_DEFAULTS);
    const st = await runCreate(planCreate(SYSCONT, { ...PLAN_OPTS, fs: false, settings }), { root: "/r", log, stores: [], mgr: false, undo: [] }, deps);
    const stage = rec.calls.find((c) => c.fn === "stageMounts")!;
    expect(stage.args[3]).toMatchObject({ skipUidShift: ["/data"] });
    expect(st.settings).toEqual(settings);
  });
});

describe("runCreate", () => {
  test("the sequence for a system container: files, cgroup, fds, stage, maps, hooks, sysbox-fs, message, close, state", async () => {
    const rec = new Recorder();
    const st = await create(SYSCONT, rec);
    // Each call as its name and first argument; the arguments that matter are checked below.
    const short = rec.calls.filter((c) => c.fn !== "writeAll" && c.fn !== "read")
      .map((c) => [c.fn, typeof c.args[0] === "string" ? c.args[0].replaceAll(DIR, "D") : c.args[0]].filter((x) => x !== undefined).join(" "));
    expect(short).toEqual([
      "writeFile D/config.json",
      "mkfifo D/exec.fifo", "chmod D/exec.fifo", "chown D/exec.fifo",
      `setupCgroup ${ID}`,
      "open D/exec.fifo", "connectConsole /run/console.sock", "open /usr/bin/sysbox-runc", "open /dev/null", "connectInterceptor",
      "spawnInNamespaces [object Object]",
      // onReady, while stage 1 waits in its new user namespace:
      "writeFile /proc/4242/uid_map", "writeFile /proc/4242/gid_map", "stageMounts 4242", "cgroup.add 4242", "writeFile /proc/4242/oom_score_adj",
      "awaitExec 50", "staged.detach",
      "runHooks prestart", "runHooks createRuntime",
      "fsRegister 4243",
      // (the create message, then warn and ready read back)
      "close 50", "close 104", "close 103", "close 102", "close 101", "close 100",
      "saveState /run/sysbox-runc", "writePidFile /run/init.pid",
    ]);
    const lines = rec.lines().map((l) => l.replaceAll(DIR, "D"));
    expect(lines).toContain("mkfifo D/exec.fifo 402");
    expect(lines).toContain("chmod D/exec.fifo 402");
    expect(lines).toContain("chown D/exec.fifo 165536 165536");
    expect(lines).toContain("open D/exec.fifo O_PATH => 100");
    expect(lines).toContain("open /usr/bin/sysbox-runc O_CLOEXEC => 102");
    expect(lines).toContain("open /dev/null O_RDWR|O_CLOEXEC => 103");
    expect(lines).toContain("writeFile /proc/4242/uid_map 0 165536 65536\n");
    expect(lines).toContain("writeFile /proc/4242/gid_map 0 165536 65536\n");
    expect(lines).toContain("writeFile /proc/4242/oom_score_adj 0");
    const spawn = rec.calls.find((c) => c.fn === "spawnInNamespaces")!.args[0] as Record<string, unknown>;
    expect(spawn).toMatchObject({ flags: SYSCONT_FLAGS, join: [], execFd: 102, argv: ["sysbox-runc", "init"], env: [], setIds: true, setsid: false, stdioFd: 103 });
    const cgOpts = rec.calls.find((c) => c.fn === "setupCgroup")!.args[2];
    expect(cgOpts).toMatchObject({ systemd: false, delegateTo: { uid: 165536, gid: 165536 } });
    expect(st).toMatchObject({ id: ID, pid: INIT_PID, pidStartTime: "12345", bundle: "/bundle", userns: true, fs: true, mgr: true, cgroupPath: "/docker/x", procsCgroupPath: "/docker/x/init.scope" });
  });

  test("the create message carries id, bundle, the inherited fds, sysbox-fs's binds and the staged rootfs", async () => {
    const rec = new Recorder();
    await create(SYSCONT, rec);
    expect(sentMessage(rec.calls)).toMatchObject({
      t: "create", id: ID, bundle: "/bundle", fifoFd: 100, consoleFd: 101, interceptFd: 104,
      fsBinds: [{ source: "/var/lib/sysboxfs/x/proc/uptime", destination: "/proc/uptime" }],
      rootfs: "/bundle/rootfs-idmapped", userns: true, cgroupns: true, cgroupDelegated: true, cgroupV1: null, cgroupV2Path: "/sys/fs/cgroup/docker/x",
    });
  });

  test("prestart and createRuntime hooks get the container's state with status creating", async () => {
    const rec = new Recorder();
    await create(SYSCONT, rec);
    const hooks = rec.calls.filter((c) => c.fn === "runHooks").map((c) => [c.args[0], c.args[2]]);
    const state = { ociVersion: SPEC.ociVersion, id: ID, pid: INIT_PID, status: "creating", bundle: "/bundle", annotations: {} };
    expect(hooks).toEqual([["prestart", state], ["createRuntime", state]]);
  });

  test("the init's error fails create with its wording", async () => {
    const rec = new Recorder();
    const { deps } = fakes(rec, [encodeFrame({ t: "error", msg: "mount /proc: EPERM" })]);
    await expect(runCreate(planCreate(SPEC, PLAN_OPTS), { root: "/r", log, stores: [], mgr: false, undo: [] }, deps)).rejects.toThrow("mount /proc: EPERM");
  });

  test("a failure injected at each step is undone: every fd closed once, the cgroup destroyed, the init killed, staging removed", async () => {
    const total = (await (async () => { const r = new Recorder(); await create(SYSCONT, r); return r.calls.length; })());
    expect(total).toBeGreaterThan(25);
    for (let i = 0; i < total; i++) {
      const rec = new Recorder(failAtIndex(i));
      const undo: Undo = [];
      let failed = false;
      try { await create(SYSCONT, rec, undo); } catch { failed = true; }
      const forward = rec.calls.slice(0, i + 1);
      rec.fail = undefined;
      for (const u of undo.reverse()) {
        try { await u(); } catch { /* createContainer logs and goes on */ }
      }
      const undone = rec.calls.slice(i + 1);
      const at = `failure at ${i} (${forward[i]!.fn})`;
      // Only the /dev/null-style best-effort steps may absorb a failure; here none does.
      expect({ at, failed }).toEqual({ at, failed: true });
      const fds = [...forward.filter((c) => (c.fn === "open" || c.fn.startsWith("connect")) && c.result !== undefined).map((c) => c.result as number | Promise<number>)];
      const opened = await Promise.all(fds);
      if (forward.some((c) => c.fn === "spawnInNamespaces" && c.result !== undefined)) opened.push(SYNC_FD);
      const closes = rec.calls.filter((c) => c.fn === "close").map((c) => c.args[0] as number);
      expect({ at, closes: [...closes].sort() }).toEqual({ at, closes: [...opened].sort() });
      const made = (fn: string) => forward.some((c) => c.fn === fn && c.result !== undefined);
      const did = (fn: string) => undone.some((c) => c.fn === fn);
      expect({ at, destroyed: did("cgroup.destroy") }).toEqual({ at, destroyed: made("setupCgroup") });
      expect({ at, killed: did("kill") }).toEqual({ at, killed: made("spawnInNamespaces") });
      // Staging is removed once the fds are open, whether or not it was made.
      expect({ at, unstaged: did("removeStaged") }).toEqual({ at, unstaged: undo.length >= 3 });
      expect(undone.every((c) => ["close", "cgroup.destroy", "kill", "removeStaged", "staged.detach"].includes(c.fn))).toBe(true);
    }
  });
});
