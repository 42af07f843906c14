/**
 * --systemd-cgroup against the real kernel with a fake systemd on a Unix
 * socket: the scope is asked for with the init pid, then the cgroupfs code
 * makes the directories systemd would, writes the limits, delegates, and
 * moves the pid; destroy stops the unit and removes the cgroup.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from "node:fs";
import { startFakeBus, type FakeBus } from "../dbus/fakebus.ts";
import { Variant } from "../dbus/mod.ts";
import { detectLayout } from "../cgroups/mod.ts";
import { setupContainerCgroup, SYSCONT_CHILD_V1 } from "./cgroup.ts";
import type { Logger } from "../log/mod.ts";
import type { Spec } from "./spec.ts";

const isRoot = process.getuid?.() === 0;
let mode: string | undefined;
try {
  mode = detectLayout().mode;
} catch {
  mode = undefined;
}
const log: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const SLICE = "sysboxtest.slice";

describe.skipIf(!isRoot || (mode !== "v1" && mode !== "hybrid"))("systemd driver on cgroup v1 or hybrid with a fake systemd [requires root, cgroup v1 or hybrid]", () => {
  let bus: FakeBus | undefined;
  let child: ReturnType<typeof Bun.spawn> | undefined;

  afterEach(async () => {
    child?.kill(9);
    await child?.exited;
    await bus?.stop();
    // The scopes are gone by now; drop the test slice from every hierarchy.
    for (const h of readdirSync("/sys/fs/cgroup")) {
      const dir = `/sys/fs/cgroup/${h}/${SLICE}`;
      for (let i = 0; i < 50 && existsSync(dir); i++) {
        try {
          rmdirSync(dir);
        } catch {
          await Bun.sleep(20);
        }
      }
    }
  });

  test("create places init in the scope's delegated child with the limits; destroy stops the unit", async () => {
    bus = await startFakeBus({ mode: "direct" });
    const id = `t${process.pid}`;
    const spec = {
      ociVersion: "1.0.2",
      linux: { cgroupsPath: `${SLICE}:sysboxtest:${id}`, resources: { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } } },
    } as Spec;
    const ccg = setupContainerCgroup(id, spec, {
      systemd: true, log, delegateTo: { uid: 100000, gid: 100000 },
      systemdConnect: { addresses: [{ path: bus.path, bus: false }], timeoutMs: 5000 },
    });
    const scopePath = `/${SLICE}/sysboxtest-${id}.scope`;
    expect(ccg.cg.path).toBe(scopePath);
    expect(ccg.procsPath).toBe(`${scopePath}/${SYSCONT_CHILD_V1}`);
    expect(existsSync(ccg.cg.paths.memory!)).toBe(false); // nothing until there is a pid

    child = Bun.spawn(["sleep", "60"]);
    ccg.add(child.pid);
    const own = readFileSync(`/proc/${child.pid}/cgroup`, "utf8");
    expect(own).toMatch(new RegExp(`:memory:${scopePath}/${SYSCONT_CHILD_V1}\\n`));
    expect(own).toMatch(new RegExp(`:pids:${scopePath}/${SYSCONT_CHILD_V1}\\n`));
    expect(readFileSync(`${ccg.cg.paths.memory}/memory.limit_in_bytes`, "utf8").trim()).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(`${ccg.cg.paths.pids}/pids.max`, "utf8").trim()).toBe("50");

    child.kill(9);
    await child.exited;
    ccg.destroy();
    for (let i = 0; i < 100 && existsSync(ccg.cg.paths.memory!); i++) await Bun.sleep(20);
    expect(existsSync(ccg.cg.paths.memory!)).toBe(false);

    const [setup, teardown] = await bus.log();
    expect(setup!.messages.map((m) => m.member)).toEqual(["Get", "StartTransientUnit"]);
    const props = Object.fromEntries((setup!.messages[1]!.body![2] as Array<[string, Variant]>).map(([k, v]) => [k, v]));
    expect(props.PIDs).toEqual(new Variant("au", [child.pid]));
    expect(props.Slice).toEqual(new Variant("s", SLICE));
    expect(props.Description).toEqual(new Variant("s", `libcontainer container ${id}`));
    expect(props.MemoryLimit).toEqual(new Variant("t", 64n * 1024n * 1024n));
    expect(props.TasksMax).toEqual(new Variant("t", 50n));
    expect(teardown!.messages.map((m) => [m.member, m.body?.[0]])).toEqual([
      ["Get", "org.freedesktop.systemd1.Manager"],
      ["StopUnit", `sysboxtest-${id}.scope`],
    ]);
  }, 30_000);

  test("a v1 freezer dir left frozen is refused before the init joins it, as runc does", async () => {
    bus = await startFakeBus({ mode: "direct" });
    const id = `f${process.pid}`;
    const scopePath = `/${SLICE}/sysboxtest-${id}.scope`;
    const freezer = `/sys/fs/cgroup/freezer${scopePath}`;
    mkdirSync(freezer, { recursive: true });
    writeFileSync(`${freezer}/freezer.state`, "FROZEN");
    const spec = { ociVersion: "1.0.2", linux: { cgroupsPath: `${SLICE}:sysboxtest:${id}` } } as Spec;
    const ccg = setupContainerCgroup(id, spec, {
      systemd: true, log, systemdConnect: { addresses: [{ path: bus.path, bus: false }], timeoutMs: 5000 },
    });
    child = Bun.spawn(["sleep", "60"]);
    try {
      expect(() => ccg.add(child!.pid)).toThrow(`container's cgroup unexpectedly frozen (${scopePath})`);
      expect(readFileSync(`/proc/${child.pid}/cgroup`, "utf8")).not.toContain(`:freezer:${scopePath}`);
    } finally {
      writeFileSync(`${freezer}/freezer.state`, "THAWED");
      child.kill(9);
      await child.exited;
      await ccg.destroy();
    }
  }, 30_000);
});
