import { describe, expect, test } from "bun:test";
import { hostIdOf, planDeviceNodes, stageDevices, type DeviceSys } from "./devices.ts";

const MAP = [{ containerID: 0, hostID: 165536, size: 65536 }];

describe("hostIdOf", () => {
  test("maps through the range, and refuses ids outside it", () => {
    expect(hostIdOf(MAP, 0)).toBe(165536);
    expect(hostIdOf(MAP, 1000)).toBe(166536);
    expect(hostIdOf(MAP, 65536)).toBeUndefined();
    expect(hostIdOf(undefined, 7)).toBe(7);
  });
});

describe("planDeviceNodes", () => {
  test("type, mode, numbers and mapped owner from the spec; owner defaults to the container's root", () => {
    const n = planDeviceNodes([
      { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o600 },
      { path: "/dev/sdz", type: "b", major: 8, minor: 0, uid: 5, gid: 6 },
    ], { uid: MAP, gid: MAP });
    expect(n).toEqual([
      { name: "d0", mode: 0o020600, major: 10, minor: 229, uid: 165536, gid: 165536 },
      { name: "d1", mode: 0o060666, major: 8, minor: 0, uid: 165541, gid: 165542 },
    ]);
  });
  test("bad entries name the device", () => {
    expect(() => planDeviceNodes([{ path: "/dev/x", type: "q", major: 1, minor: 1 }], {})).toThrow(/\/dev\/x: unknown device type/);
    expect(() => planDeviceNodes([{ path: "/dev/x", type: "c" }], {})).toThrow(/\/dev\/x: major and minor/);
    expect(() => planDeviceNodes([{ path: "/dev/x", type: "c", major: 1, minor: 3, uid: 70000 }], { uid: MAP, gid: MAP })).toThrow(/uid 70000 is not mapped/);
  });
});

function fakeSys(failOn?: string) {
  const calls: string[] = [];
  const sys: DeviceSys = {
    mkdirAll: (p, m) => { calls.push(`mkdir ${p} ${m.toString(8)}`); },
    mountTmpfs: (p) => { calls.push(`tmpfs ${p}`); },
    mknod: (p, m, ma, mi) => {
      if (p === failOn) throw new Error("mknod: EPERM");
      calls.push(`mknod ${p} ${m.toString(8)} ${ma}:${mi}`);
    },
    chmod: (p, m) => { calls.push(`chmod ${p} ${m.toString(8)}`); },
    chown: (p, u, g) => { calls.push(`chown ${p} ${u}:${g}`); },
    detach: (p) => { calls.push(`detach ${p}`); },
  };
  return { sys, calls };
}

describe("stageDevices", () => {
  test("nothing to do without devices", () => {
    const { sys, calls } = fakeSys();
    expect(stageDevices([], { stage: "/s", id: "c1" }, sys)).toBeUndefined();
    expect(calls).toEqual([]);
  });
  test("makes each node on its own tmpfs and points the device at it", () => {
    const { sys, calls } = fakeSys();
    const s = stageDevices([{ path: "/dev/net/tun", type: "c", major: 10, minor: 200, fileMode: 0o666 }], { stage: "/s", id: "c1", uid: MAP, gid: MAP }, sys)!;
    expect(calls).toEqual(["mkdir /s/c1/dev 711", "tmpfs /s/c1/dev", "mknod /s/c1/dev/d0 20666 10:200", "chmod /s/c1/dev/d0 666", "chown /s/c1/dev/d0 165536:165536"]);
    expect(s.devices).toEqual([{ path: "/dev/net/tun", type: "c", major: 10, minor: 200, fileMode: 0o666, source: "/s/c1/dev/d0" }]);
    s.detach();
    expect(calls.at(-1)).toBe("detach /s/c1/dev");
  });
  test("a node that cannot be made fails naming its path, and the tmpfs goes", () => {
    const { sys, calls } = fakeSys("/s/c1/dev/d0");
    expect(() => stageDevices([{ path: "/dev/kvm", type: "c", major: 10, minor: 232 }], { stage: "/s", id: "c1" }, sys)).toThrow(/cannot make \/dev\/kvm: mknod: EPERM/);
    expect(calls.at(-1)).toBe("detach /s/c1/dev");
  });
});
