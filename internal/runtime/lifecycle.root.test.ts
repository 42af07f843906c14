/**
 * kill and delete of a paused container against the real kernel: a sleeping
 * child of ours in a throwaway cgroup, frozen, stands in for the init. A
 * SIGKILL sent to a frozen process waits until it is thawed (cgroup v1), so
 * both must thaw it, and delete must leave neither process nor cgroup.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addProcess, createCgroup, destroyCgroup, freeze, thaw, type Cgroup, type CgroupLayout } from "../cgroups/mod.ts";
import { deleteContainer, killContainer } from "./lifecycle.ts";
import { reopenCgroup } from "./cgroup.ts";
import { loadState, makeContainerDir, processStartTime, saveState } from "./state.ts";
import { statusOf } from "./status.ts";
import type { Logger } from "../log/mod.ts";
import { hostLayoutOrUndefined } from "../cgroups/_testhost.ts";

const isRoot = process.getuid?.() === 0;
const layout: CgroupLayout | undefined = hostLayoutOrUndefined();
const log: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const PATH = `/sysbox-rt-test-${process.pid}/paused`;

/** Whether the process ended within `ms`. */
async function endsWithin(p: Bun.Subprocess, ms: number): Promise<boolean> {
  return Promise.race([p.exited.then(() => true), Bun.sleep(ms).then(() => false)]);
}

describe.skipIf(!isRoot || layout === undefined)("a paused container [requires root and a cgroup file system]", () => {
  let root = "";
  let cg: Cgroup | undefined;
  let init: Bun.Subprocess | undefined;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), "rt-paused-"));
    cg = createCgroup(layout!, PATH);
    init = Bun.spawn(["sleep", "30"], { stdio: ["ignore", "ignore", "ignore"] });
    addProcess(cg, init.pid);
    let start = "";
    for (let i = 0; i < 100 && !(start = processStartTime(init.pid) ?? ""); i++) await Bun.sleep(5);
    makeContainerDir(root, "p");
    saveState(root, {
      id: "p", pid: init.pid, pidStartTime: start, bundle: "/bundle", rootfs: "/bundle/rootfs", created: "2026-01-01T00:00:00Z", owner: "",
      annotations: {}, cgroupPath: PATH, cgroupPaths: cg.paths, namespaces: [], userns: false, configPath: join(root, "p", "config.json"),
    });
    await freeze(cg);
  });

  afterEach(async () => {
    if (cg) await thaw(cg).catch(() => {});
    init?.kill(9);
    await init?.exited;
    await destroyCgroup(reopenCgroup(PATH)).catch(() => {});
    await destroyCgroup(reopenCgroup(PATH.slice(0, PATH.lastIndexOf("/")))).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  });

  test("kill KILL thaws it, so the init dies", async () => {
    expect(statusOf(root, loadState(root, "p"))).toBe("paused");
    await killContainer(root, "p", 9, false);
    expect(await endsWithin(init!, 2000)).toBe(true);
  });

  test("delete --force kills the init and removes the cgroup from every hierarchy", async () => {
    await deleteContainer(root, "p", true, log);
    expect(await endsWithin(init!, 2000)).toBe(true);
    expect(Object.values(reopenCgroup(PATH).paths).filter((d) => existsSync(d))).toEqual([]);
    expect(existsSync(join(root, "p"))).toBe(false);
  });
});
