import { describe, expect, test } from "bun:test";
import { FuseError } from "../fuse/mod.ts";
import { ctx, emulation, fakeHost, fakePassThrough, INFO, served } from "./_testing.ts";
import { sysDmiId } from "./sys_dmi.ts";

const EACCES = 13;
const V = "sys/devices/virtual";

function host() {
  return fakeHost({
    // No DMI on this host, like many VMs and arm64 boards.
    "/sys/devices/virtual/net/docker0/address": { content: "02:42:ac:11:00:01\n", mode: 0o444 },
    "/sys/devices/virtual/net/lo/mtu": { content: "65536\n", mode: 0o644 },
    "/sys/devices/virtual/tty/console/active": { content: "ttyS0\n", mode: 0o444 },
    "/sys/devices/virtual/tty/console/subsystem": { content: "", symlink: true },
    "/sys/devices/virtual/misc/fuse/dev": { content: "10:229\n", mode: 0o444 },
  });
}

/** What a fresh sysfs shows inside each caller's network namespace. */
function sysfsViews() {
  return fakePassThrough({
    4000: {
      "/sys/devices/virtual/net/lo/mtu": "65536\n",
      "/sys/devices/virtual/net/eth0/address": "02:42:ac:11:00:02\n",
      "/sys/devices/virtual/net/eth0/mtu": "1500\n",
    },
    5000: { "/sys/devices/virtual/net/lo/mtu": "65536\n", "/sys/devices/virtual/net/veth9/mtu": "1500\n" },
  });
}

function servedWith(pt = sysfsViews(), h = host()) {
  const { em } = emulation(h, fakePassThrough({}));
  return { s: served({ ...em, sysfsPassThrough: pt }), pt, h };
}

describe("/sys/devices/virtual", () => {
  test("the host's entries, plus dmi/id with product_uuid on a host without DMI", async () => {
    const { s } = servedWith();
    expect(await s.list(V)).toEqual(["dmi", "misc", "net", "tty"]);
    expect(await s.list(`${V}/dmi`)).toEqual(["id"]);
    expect(await s.list(`${V}/dmi/id`)).toEqual(["product_uuid"]);
    expect(await s.read(`${V}/dmi/id/product_uuid`)).toBe("00000000-0000-0000-0000-0123456789ab\n");
  });

  test("other host entries: read-only mirrors with host owners, symlinks left out", async () => {
    const { s, h } = servedWith();
    expect(await s.read(`${V}/tty/console/active`)).toBe("ttyS0\n");
    expect(await s.list(`${V}/tty/console`)).toEqual(["active"]);
    expect(await s.attr(`${V}/misc/fuse/dev`)).toMatchObject({ uid: 0, mode: 0o100444, size: 4096 });
    await expect(s.write(`${V}/tty/console/active`, "x")).rejects.toBeInstanceOf(FuseError);
    expect(h.writes).toEqual([]);
  });

  test("net/ is the caller's network namespace, never the host's", async () => {
    const { s, pt } = servedWith();
    expect(await s.list(`${V}/net`)).toEqual(["eth0", "lo"]);
    expect(await s.list(`${V}/net`, 5000)).toEqual(["lo", "veth9"]);
    expect(await s.exists(`${V}/net/docker0`)).toBe(false);
    expect(await s.read(`${V}/net/eth0/address`)).toBe("02:42:ac:11:00:02\n");
    expect(pt.calls).toContain("read 4000 /sys/devices/virtual/net/eth0/address");
    expect(await s.attr(`${V}/net/eth0/mtu`)).toMatchObject({ uid: INFO.uidFirst, gid: INFO.gidFirst, size: 4096 });
    expect(await s.attr(`${V}/net`)).toMatchObject({ uid: 0 });
    // A caller that is gone is served in the init's namespaces.
    expect(await s.list(`${V}/net`, 6000)).toEqual(["eth0", "lo"]);
  });

  test("a path walk lists each net/ dir once; net/ is read-only", async () => {
    const { s, pt } = servedWith();
    await s.read(`${V}/net/eth0/mtu`);
    await s.read(`${V}/net/eth0/address`);
    expect(pt.calls.filter((c) => c.startsWith("list"))).toEqual([
      "list 4000 /sys/devices/virtual/net",
      "list 4000 /sys/devices/virtual/net/eth0",
    ]);
    expect(pt.calls.filter((c) => c.startsWith("stat"))).toEqual([]);
    await expect(s.write(`${V}/net/eth0/mtu`, "1400\n")).rejects.toMatchObject({ errno: EACCES });
    expect(pt.calls.filter((c) => c.startsWith("write"))).toEqual([]);
    expect((await s.attr(`${V}/net/eth0/mtu`)).mode).toBe(0o100444);
  });

  test("net/ symlinks are left out; errors of the caller's sysfs come back as they are", async () => {
    const base = sysfsViews();
    const pt = {
      ...base,
      async list(pid: number, dir: string) {
        const entries = await base.list(pid, dir);
        return dir.endsWith("/eth0") ? [...entries, { name: "subsystem", kind: "file" as const, mode: 0o777, symlink: true }] : entries;
      },
      async read(pid: number, path: string): Promise<string> {
        if (path.endsWith("/mtu")) throw new FuseError(EACCES);
        return base.read(pid, path);
      },
    };
    const { s } = servedWith(pt);
    expect(await s.list(`${V}/net/eth0`)).toEqual(["address", "mtu"]);
    expect(await s.exists(`${V}/net/eth0/subsystem`)).toBe(false);
    await expect(s.read(`${V}/net/eth0/mtu`)).rejects.toMatchObject({ errno: EACCES });
  });
});

describe("/sys/devices/virtual/dmi/id on a host with DMI", () => {
  const dmiHost = () =>
    fakeHost({
      "/sys/devices/virtual/dmi/id/product_uuid": { content: "4C4C4544-0042-3510-8052-B4C04F333732\n", mode: 0o400 },
      "/sys/devices/virtual/dmi/id/sys_vendor": { content: "Dell Inc.\n", mode: 0o444 },
      "/sys/devices/virtual/dmi/id/product_serial": { content: "ABC123\n", mode: 0o400 },
      "/sys/devices/virtual/dmi/id/bios_version": { content: "2.1.0\n", mode: 0o644 },
      "/sys/devices/virtual/dmi/id/power/control": { content: "auto\n", mode: 0o644 },
      "/sys/devices/virtual/dmi/id/subsystem": { content: "", symlink: true },
    });

  test("listing gives the nodes a lookup gives: the host's content, owner and mode without write bits", async () => {
    const { em } = emulation(dmiHost(), fakePassThrough({}));
    const id = sysDmiId(em);
    if (id.kind !== "dir" || !id.list || !id.lookup) throw new Error("dmi/id is a dir with list and lookup");
    const listed = new Map(await id.list(ctx()));
    expect([...listed.keys()].sort()).toEqual(["bios_version", "product_serial", "product_uuid", "subsystem", "sys_vendor"]);
    for (const [name, spec] of listed) {
      const looked = await id.lookup(ctx(), name);
      if (spec.kind !== "file" || looked?.kind !== "file") throw new Error(`${name} is a file`);
      expect(await spec.read(ctx())).toBe(dmiHost().readFile(`/sys/devices/virtual/dmi/id/${name}`));
      expect(await spec.read(ctx())).toBe(await looked.read(ctx()));
      expect({ uid: spec.uid, gid: spec.gid, mode: spec.mode, size: spec.size }).toEqual({ uid: looked.uid, gid: looked.gid, mode: looked.mode, size: looked.size });
    }
    expect(listed.get("bios_version")).toMatchObject({ mode: 0o444, uid: 0, size: 4096 });
  });

  test("served: the emulated product_uuid wins over the host's; the rest is the host's", async () => {
    const s = served(emulation(dmiHost(), fakePassThrough({})).em);
    expect(await s.list(`${V}/dmi/id`)).toEqual(["bios_version", "product_serial", "product_uuid", "subsystem", "sys_vendor"]);
    expect(await s.read(`${V}/dmi/id/product_uuid`)).toBe("4c4c4544-0042-3510-8052-0123456789ab\n");
    expect(await s.read(`${V}/dmi/id/sys_vendor`)).toBe("Dell Inc.\n");
    expect((await s.attr(`${V}/dmi/id/product_serial`)).mode).toBe(0o100400);
  });
});
