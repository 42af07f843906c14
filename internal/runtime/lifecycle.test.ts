/**
 * kill, delete and the container lock against fakes, with a real state dir
 * in a temp root and a real child process standing in for the init.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Cgroup } from "../cgroups/mod.ts";
import { Recorder } from "./_recsys.ts";
import { deleteContainer, killContainer, listContainers, NotRunningError, type LifecycleDeps } from "./lifecycle.ts";
import { deriveStatus, EXEC_FIFO, loadState, makeContainerDir, processStartTime, saveState, StateFileError, type ContainerState } from "./state.ts";
import { withContainerLock } from "./lock.ts";
import type { Logger } from "../log/mod.ts";

const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} } as unknown as Logger;
const CG = { path: "/docker/x", paths: {}, layout: { mode: "v2" } } as unknown as Cgroup;

let root = "";
let init: Bun.Subprocess | undefined;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "rt-lifecycle-"));
});

afterEach(() => {
  init?.kill(9);
  init = undefined;
  rmSync(root, { recursive: true, force: true });
});

/** A container whose "init" is a sleeping child of ours; created (fifo present) or running. */
async function container(id: string, status: "created" | "running" | "stopped"): Promise<ContainerState> {
  const dir = makeContainerDir(root, id);
  let pid = 0;
  let start = "";
  if (status !== "stopped") {
    init = Bun.spawn(["sleep", "30"], { stdio: ["ignore", "ignore", "ignore"] });
    pid = init.pid;
    for (let i = 0; i < 100 && !(start = processStartTime(pid) ?? ""); i++) await Bun.sleep(5);
  }
  const configPath = join(dir, "config.json");
  writeFileSync(configPath, JSON.stringify({ ociVersion: "1.1.0", hooks: { poststop: [{ path: "/bin/true" }] } }));
  if (status === "created") writeFileSync(join(dir, EXEC_FIFO), "");
  const st: ContainerState = {
    id, pid, pidStartTime: start || "gone", bundle: "/bundle", rootfs: "/bundle/rootfs", created: "2026-01-01T00:00:00Z", owner: "",
    annotations: { k: "v" }, cgroupPath: "", cgroupPaths: {}, namespaces: ["pid", "mnt"], userns: false, configPath,
  };
  saveState(root, st);
  return st;
}

function fakes(rec: Recorder): LifecycleDeps {
  return {
    kill: rec.wrap("kill", (pid: number, sig: number) => { process.kill(pid, sig); return true; }),
    killAll: rec.wrap("killAll", async (_cg: Cgroup, sig: number) => { if (init) process.kill(init.pid, sig); return {}; }),
    cgroupOf: () => CG,
    destroyCgroup: rec.wrap("destroyCgroup", async () => {}),
    thaw: rec.wrap("thaw", async () => {}),
    runHooks: rec.wrap("runHooks", () => {}),
    removeStaged: rec.wrap("removeStaged", () => {}),
  };
}

test("list is sorted by id, as runc's", async () => {
  for (const id of ["b", "a10", "c", "a2", "a"]) await container(id, "stopped");
  expect(listContainers(root).map((s) => s.id)).toEqual(["a", "a10", "a2", "b", "c"]);
});

test("status: a frozen cgroup is paused even before start (runc's order), else the fifo says created", async () => {
  const st = await container("a", "created");
  expect([deriveStatus(root, st, () => true), deriveStatus(root, st, () => false)]).toEqual(["paused", "created"]);
});

describe("kill", () => {
  test("--all signals the cgroup through killAll (frozen), never pid by pid", async () => {
    await container("a", "running");
    const rec = new Recorder();
    await killContainer(root, "a", 15, true, fakes(rec));
    expect(rec.calls.map((c) => [c.fn, c.args[0], c.args[1]])).toEqual([["killAll", CG, 15]]);
  });

  test("without --all signals the init", async () => {
    const st = await container("a", "running");
    const rec = new Recorder();
    await killContainer(root, "a", 15, false, fakes(rec));
    expect(rec.calls.map((c) => [c.fn, ...c.args])).toEqual([["kill", st.pid, 15]]);
  });

  test("a stopped container: NotRunningError, nothing signalled", async () => {
    await container("a", "stopped");
    const rec = new Recorder();
    await expect(killContainer(root, "a", 15, false, fakes(rec))).rejects.toThrow(NotRunningError);
    expect(rec.calls).toEqual([]);
  });
});

describe("delete", () => {
  test("--force on a running container: killAll, SIGKILL the init, wait, destroy the cgroup, poststop, unstage, state gone", async () => {
    const st = await container("a", "running");
    const rec = new Recorder();
    await deleteContainer(root, "a", true, log, fakes(rec));
    expect(rec.calls.map((c) => c.fn)).toEqual(["killAll", "kill", "destroyCgroup", "runHooks", "removeStaged"]);
    expect(rec.calls[0]!.args[1]).toBe(9);
    expect(rec.calls[1]!.args).toEqual([st.pid, 9]);
    expect(rec.calls[3]!.args[2]).toEqual({ ociVersion: "1.1.0", id: "a", pid: 0, status: "stopped", bundle: "/bundle", annotations: { k: "v" } });
    expect(existsSync(join(root, "a"))).toBe(false);
  });

  test("without --force a running container is refused and left alone", async () => {
    await container("a", "running");
    const rec = new Recorder();
    await expect(deleteContainer(root, "a", false, log, fakes(rec))).rejects.toThrow("that is not stopped: running");
    expect(rec.calls).toEqual([]);
    expect(existsSync(join(root, "a", "state.json"))).toBe(true);
  });

  test("a stopped container is cleaned up without signals", async () => {
    await container("a", "stopped");
    const rec = new Recorder();
    await deleteContainer(root, "a", false, log, fakes(rec));
    expect(rec.calls.map((c) => c.fn)).toEqual(["destroyCgroup", "runHooks", "removeStaged"]);
  });

  test("--force on a missing container is quiet; without it, not found", async () => {
    const rec = new Recorder();
    await deleteContainer(root, "nope", true, log, fakes(rec));
    await expect(deleteContainer(root, "nope", false, log, fakes(rec))).rejects.toThrow('container "nope" does not exist');
    expect(rec.calls).toEqual([]);
  });
});

describe("the container lock", () => {
  test("two concurrent calls on one container run one after the other", async () => {
    await container("a", "stopped");
    const events: string[] = [];
    const hold = (name: string) => withContainerLock(root, "a", async () => {
      events.push(`${name} in`);
      await Bun.sleep(30);
      events.push(`${name} out`);
    });
    await Promise.all([hold("first"), hold("second")]);
    expect(events).toEqual(["first in", "first out", "second in", "second out"]);
  });

  test("kill waits for a delete holding the lock, then finds the container gone", async () => {
    await container("a", "running");
    const rec = new Recorder();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const held = withContainerLock(root, "a", async () => { await gate; rec.record("holder done", []); });
    await Bun.sleep(5);
    const kill = killContainer(root, "a", 15, true, fakes(rec));
    await Bun.sleep(30);
    expect(rec.calls).toEqual([]);
    release();
    await Promise.all([held, kill]);
    expect(rec.calls.map((c) => c.fn)).toEqual(["holder done", "killAll"]);
  });

  test("different containers do not wait for each other", async () => {
    await container("a", "stopped");
    makeContainerDir(root, "b");
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const a = withContainerLock(root, "a", async () => { await gate; events.push("a"); });
    await withContainerLock(root, "b", () => { events.push("b"); });
    release();
    await a;
    expect(events).toEqual(["b", "a"]);
  });
});

describe("state files", () => {
  test("saveState then loadState round-trips, unknown keys kept", async () => {
    const st = await container("a", "stopped");
    expect(loadState(root, "a")).toEqual(st);
    writeFileSync(join(root, "a", "state.json"), JSON.stringify({ ...st, future: 1 }));
    expect(loadState(root, "a")).toMatchObject({ ...st, future: 1 });
  });

  test("loadState names a field of the wrong type, and a file that is not JSON", async () => {
    const st = await container("a", "stopped");
    writeFileSync(join(root, "a", "state.json"), JSON.stringify({ ...st, pid: "12" }));
    expect(() => loadState(root, "a")).toThrow(StateFileError);
    expect(() => loadState(root, "a")).toThrow(/state.json: pid: /);
    writeFileSync(join(root, "a", "state.json"), "{");
    expect(() => loadState(root, "a")).toThrow(/not JSON/);
  });

  test("saveState leaves no temp file behind", async () => {
    await container("a", "stopped");
    expect(existsSync(join(root, "a", "state.json.tmp"))).toBe(false);
  });
});
