/** The manager against the real kernel: a throwaway cgroup at the top of each v1 hierarchy. */
import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as posix from "node:path/posix";
import {
  addProcess, applyResources, cgroupDirs, createCgroup, delegateV1, destroyCgroup, detectLayout, eventsJson,
  eventsStats, freeze, killAll, listPids, state, stats, thaw, type Cgroup, type CgroupLayout,
} from "./mod.ts";
import { hostLayoutOrUndefined } from "./_testhost.ts";

const isRoot = process.getuid?.() === 0;
const layout: CgroupLayout | undefined = hostLayoutOrUndefined();
const isV1 = layout?.mode === "v1" || layout?.mode === "hybrid";

describe.skipIf(!isRoot || !isV1)("cgroup v1 [requires root, cgroup v1]", () => {
  let cg: Cgroup | undefined;
  let child: ReturnType<typeof Bun.spawn> | undefined;

  afterEach(async () => {
    // Thaw first: a frozen child would never die, and awaiting it would hang.
    if (cg !== undefined) await thaw(cg).catch(() => {});
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill(9);
    await child?.exited;
    child = undefined;
    if (cg !== undefined) {
      for (const pid of listPids(cg)) {
        try {
          process.kill(pid, 9);
        } catch {
          // gone already
        }
      }
      await destroyCgroup(cg).catch(() => {});
      for (const d of cgroupDirs(cg)) if (fs.existsSync(d)) fs.rmdirSync(d);
    }
    cg = undefined;
  });

  /** A shell that joins the cgroup first and then execs sleep, so its new pages and CPU time count there. */
  async function spawnInCgroup(c: Cgroup): Promise<number> {
    child = Bun.spawn(["sh", "-c", "read x; exec sleep 30"], { stdin: "pipe", stdout: "ignore", stderr: "ignore" });
    addProcess(c, child.pid);
    const stdin = child.stdin as import("bun").FileSink;
    stdin.write("go\n");
    await stdin.flush();
    // Wait for the exec, so usage is charged to the new cgroup.
    for (let i = 0; i < 200 && !fs.readFileSync(`/proc/${child.pid}/cmdline`, "utf8").startsWith("sleep"); i++) await Bun.sleep(5);
    return child.pid;
  }

  test("create, limit, join, freeze, stats, kill, destroy", async () => {
    const name = `/sysbox-test-${crypto.randomUUID().slice(0, 8)}`;
    cg = createCgroup(layout!, name);
    for (const d of cgroupDirs(cg)) expect(fs.statSync(d).isDirectory()).toBe(true);
    expect(cg.paths["memory"]).toBe(posix.join(layout!.v1["memory"]!.mountPoint, name));

    const r = applyResources(cg, {
      memory: { limit: 64 * 1024 * 1024 },
      pids: { limit: 20 },
      cpu: { quota: 50000, period: 100000 },
      devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }],
    });
    expect(r.warnings).toEqual([]);
    expect(fs.readFileSync(`${cg.paths["memory"]}/memory.limit_in_bytes`, "utf8").trim()).toBe("67108864");
    expect(fs.readFileSync(`${cg.paths["pids"]}/pids.max`, "utf8").trim()).toBe("20");
    expect(fs.readFileSync(`${cg.paths["cpu"]}/cpu.cfs_quota_us`, "utf8").trim()).toBe("50000");
    expect(fs.readFileSync(`${cg.paths["devices"]}/devices.list`, "utf8").trim()).toBe("c 1:3 rwm");
    const cpus = fs.readFileSync(`${cg.paths["cpuset"]}/cpuset.cpus`, "utf8").trim();
    expect(cpus).not.toBe(""); // inherited from the root, or joining would fail with ENOSPC

    const pid = await spawnInCgroup(cg);
    expect(listPids(cg)).toContain(pid);
    const own = fs.readFileSync(`/proc/${pid}/cgroup`, "utf8");
    expect(own).toContain(`:memory:${name}\n`);
    if (layout!.mode === "hybrid") expect(own).toContain(`0::${name}\n`);

    await freeze(cg);
    expect(state(cg)).toEqual({ exists: true, freezer: "frozen" });
    expect(fs.readFileSync(`${cg.paths["freezer"]}/freezer.state`, "utf8").trim()).toBe("FROZEN");
    // A frozen task sleeps uninterruptibly in the refrigerator: "D" (or "T" on some kernels).
    expect(fs.readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/^State:\s+[DT] /m);
    await thaw(cg);
    expect(state(cg).freezer).toBe("thawed");

    const s = stats(cg);
    expect(s.memory.usage.usage).toBeGreaterThan(0);
    expect(s.memory.usage.limit).toBe(67108864);
    expect(s.cpu.usage.total).toBeGreaterThan(0);
    expect(s.pids).toEqual({ current: 1, limit: 20 });
    const ev = JSON.parse(eventsJson(eventsStats("t", s)));
    expect(ev.data.memory.usage.limit).toBe(67108864);
    expect(ev.data.pids).toEqual({ current: 1, limit: 20 });

    const k = await killAll(cg, "SIGKILL");
    expect(k.pids).toEqual([pid]);
    expect(await child!.exited).not.toBe(0);
    expect(child!.signalCode).toBe("SIGKILL");
    for (let i = 0; i < 100 && listPids(cg).length > 0; i++) await Bun.sleep(10);
    expect(listPids(cg)).toEqual([]);

    await destroyCgroup(cg);
    for (const d of cgroupDirs(cg)) expect(fs.existsSync(d)).toBe(false);
    expect(state(cg).exists).toBe(false);
  });

  test("pids limit is enforced and delegation chowns the knobs", async () => {
    cg = createCgroup(layout!, `/sysbox-test-${crypto.randomUUID().slice(0, 8)}`);
    applyResources(cg, { pids: { limit: 2 } });
    // One shell plus at most one child: the third fork fails with EAGAIN.
    child = Bun.spawn(["sh", "-c", "read x; sleep 5 & sleep 5 & sleep 5 & wait; echo done"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    addProcess(cg, child.pid);
    const stdin = child.stdin as import("bun").FileSink;
    stdin.write("go\n");
    await stdin.flush();
    const refusals = () => Number(fs.readFileSync(`${cg!.paths["pids"]}/pids.events`, "utf8").split(/\s+/)[1]);
    for (let i = 0; i < 200 && refusals() === 0; i++) await Bun.sleep(5);
    expect(refusals()).toBeGreaterThan(0);
    expect(listPids(cg).length).toBeLessThanOrEqual(2);

    const done = delegateV1(cg, { uid: 100000, gid: 100000 });
    expect(done).toContain(`${cg.paths["memory"]}/cgroup.procs`);
    expect(fs.statSync(cg.paths["memory"]!).uid).toBe(100000);
    expect(fs.statSync(`${cg.paths["pids"]}/pids.max`).uid).toBe(100000);
    await killAll(cg, "SIGKILL");
  });
});
