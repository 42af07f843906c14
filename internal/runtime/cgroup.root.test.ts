/**
 * The cgroupfs set-up of create against the real kernel, where it fails: a
 * bad device rule, or a cgroup frozen before the container exists. Either
 * way create must fail at once and leave no directory in any hierarchy.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { createCgroup, destroyCgroup, freeze, thaw, type Cgroup, type CgroupLayout } from "../cgroups/mod.ts";
import { reopenCgroup, setupContainerCgroup } from "./cgroup.ts";
import type { Logger } from "../log/mod.ts";
import type { Spec } from "./spec.ts";
import { hostLayoutOrUndefined } from "../cgroups/_testhost.ts";

const isRoot = process.getuid?.() === 0;
const layout: CgroupLayout | undefined = hostLayoutOrUndefined();
const log: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const PARENT = `/sysbox-rt-test-${process.pid}`;

/** Every hierarchy's directory of `path` that still exists. */
const left = (path: string) => Object.values(reopenCgroup(path).paths).filter((dir) => existsSync(dir));

/** The removal after a failed set-up settles in the background: give it a moment. */
async function settled(path: string): Promise<string[]> {
  for (let i = 0; i < 100 && left(path).length > 0; i++) await Bun.sleep(10);
  return left(path);
}

describe.skipIf(!isRoot || layout === undefined)("container cgroup set-up failures [requires root and a cgroup file system]", () => {
  let frozen: Cgroup | undefined;

  afterEach(async () => {
    if (frozen) await thaw(frozen).catch(() => {});
    frozen = undefined;
    for (const p of [`${PARENT}/bad-dev`, `${PARENT}/frozen`, PARENT]) await destroyCgroup(reopenCgroup(p)).catch(() => {});
  });

  test.skipIf(layout?.mode === "v2")("a device rule the kernel cannot take leaves no cgroup directory, delegated child included [requires the cgroup v1 devices controller]", async () => {
    const path = `${PARENT}/bad-dev`;
    const spec = { ociVersion: "1.0.2", linux: { cgroupsPath: path, resources: { devices: [{ allow: false, type: "c", major: 99999999999, minor: 1, access: "rw" }] } } } as Spec;
    expect(() => setupContainerCgroup("bad-dev", spec, { systemd: false, log, delegateTo: { uid: 0, gid: 0 } })).toThrow(/99999999999/);
    expect(await settled(path)).toEqual([]);
  });

  test("a cgroup frozen before create is refused at once, never joined, and removed", async () => {
    const path = `${PARENT}/frozen`;
    frozen = createCgroup(layout!, path);
    await freeze(frozen);
    const spec = { ociVersion: "1.0.2", linux: { cgroupsPath: path } } as Spec;
    expect(() => setupContainerCgroup("frozen", spec, { systemd: false, log, delegateTo: { uid: 0, gid: 0 } })).toThrow(
      `container's cgroup unexpectedly frozen (${path})`,
    );
    expect(await settled(path)).toEqual([]);
  });
});
