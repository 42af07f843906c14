/** The --systemd-cgroup branch of the container cgroup setup where systemd cannot be reached. */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setupContainerCgroup } from "./cgroup.ts";
import type { Logger } from "../log/mod.ts";
import type { Spec } from "./spec.ts";

const log: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const spec = { ociVersion: "1.0.2", linux: { cgroupsPath: "system.slice:docker:4f1a" } } as Spec;
const FIX = `(start systemd, or configure Docker for the cgroupfs driver: "exec-opts": ["native.cgroupdriver=cgroupfs"])`;
const hostHasSystemd = existsSync("/run/systemd/private") || existsSync("/run/dbus/system_bus_socket");

describe("--systemd-cgroup without systemd", () => {
  test("create fails before anything is made, naming the socket, the errno and the fix", () => {
    const dir = mkdtempSync(join(tmpdir(), "sd-"));
    try {
      const addresses = [{ path: join(dir, "private"), bus: false }, { path: join(dir, "system_bus_socket"), bus: true }];
      expect(() => setupContainerCgroup("4f1a", spec, { systemd: true, log, systemdConnect: { addresses } })).toThrow(
        `systemd cgroup driver requested (--systemd-cgroup) but systemd is not running: connect ${addresses[0]!.path}: ENOENT ${FIX}`,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test.skipIf(hostHasSystemd)("on this host, by the default sockets [requires a host without systemd]", () => {
    expect(() => setupContainerCgroup("4f1a", spec, { systemd: true, log })).toThrow(
      `systemd cgroup driver requested (--systemd-cgroup) but systemd is not running: connect /run/systemd/private: ENOENT ${FIX}`,
    );
  });
});
