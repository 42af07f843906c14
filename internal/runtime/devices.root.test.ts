/**
 * The device tmpfs against the real kernel: nodes made with the spec's
 * numbers, mode and mapped owner, openable (the tmpfs is not nodev), and
 * gone from the host once detached.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { linuxDeviceSys, stageDevices } from "./devices.ts";

const isRoot = process.getuid?.() === 0;
const MAP = [{ containerID: 0, hostID: 100000, size: 65536 }];

describe.skipIf(!isRoot)("the device tmpfs [requires root]", () => {
  let stage = "";
  beforeEach(() => {
    stage = mkdtempSync(join(tmpdir(), "devices-stage-"));
  });
  afterEach(() => {
    linuxDeviceSys.detach(join(stage, "c1", "dev"));
    rmSync(stage, { recursive: true, force: true });
  });

  test("nodes with the spec's numbers, exact mode and mapped owner, usable, and only those", () => {
    const s = stageDevices([
      { path: "/dev/null", type: "c", major: 1, minor: 3, fileMode: 0o620 },
      { path: "/dev/zero", type: "c", major: 1, minor: 5, fileMode: 0o666, uid: 5, gid: 6 },
    ], { stage, id: "c1", uid: MAP, gid: MAP }, linuxDeviceSys)!;
    const [nul, zero] = s.devices.map((d) => d.source!);
    const st = statSync(nul!);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(statSync("/dev/null").rdev);
    expect(st.mode & 0o7777).toBe(0o620);
    expect([st.uid, st.gid]).toEqual([100000, 100000]);
    expect([statSync(zero!).uid, statSync(zero!).gid]).toEqual([100005, 100006]);
    const fd = openSync(nul!, "w");
    expect(writeSync(fd, "x")).toBe(1);
    closeSync(fd);
    const line = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === join(stage, "c1", "dev"));
    expect(line).toContain(" - tmpfs ");
    expect(line?.split(" ")[5]).not.toContain("nodev");
    s.detach();
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(join(stage, "c1", "dev"));
  });
});
