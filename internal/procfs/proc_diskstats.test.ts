import { describe, expect, test } from "bun:test";
import { emulation, fakeHost, fakePassThrough, served } from "./_testing.ts";
import { blkioFamilyCounters, byDevice, parseIoStat } from "../cgroups/mod.ts";
import { countersFromIoStat, countersFromV1, diskstatsText } from "./proc_diskstats.ts";

// A 6.x kernel's lines (20 fields), a partition, and an old kernel's 14-field line.
const HOST = [
  "   7       0 loop0 11 0 80 2 0 0 0 0 0 4 2 0 0 0 0 0 0",
  " 254       0 vda 950070 42577 25070034 1549308 1225654 2358262 184263152 2456818 0 671000 4556589 1780664 23 150673512 448265 173769 102196",
  " 254       1 vda1 900000 40000 25000000 1500000 1200000 2300000 184000000 2400000 0 660000 4500000 1780000 20 150000000 448000 0 0",
  "   8       0 sda 5 6 7 8 9 10 11 12 0 13 14",
  "",
].join("\n");

/** Recorded from a v1 kernel with blk-throttle active on vda: bytes and ios, Read/Write/Sync/Async/Discard/Total. */
const THROTTLE_BYTES = [
  "254:0 Read 1048576", "254:0 Write 4194304", "254:0 Sync 4194304", "254:0 Async 1048576", "254:0 Discard 512", "254:0 Total 5243392",
  "Total 5243392", "",
].join("\n");
const THROTTLE_IOS = [
  "254:0 Read 16", "254:0 Write 32", "254:0 Sync 32", "254:0 Async 16", "254:0 Discard 1", "254:0 Total 49", "Total 49", "",
].join("\n");

/** CFQ-era files (older kernels): ios, merges, bytes and times in ns, on sda. */
const CFQ = {
  serviced: "8:0 Read 100\n8:0 Write 50\n8:0 Sync 150\n8:0 Async 0\n8:0 Total 150\nTotal 150\n",
  merged: "8:0 Read 3\n8:0 Write 4\n8:0 Total 7\nTotal 7\n",
  bytes: "8:0 Read 409600\n8:0 Write 204800\n8:0 Total 614400\nTotal 614400\n",
  waitTime: "8:0 Read 5000000\n8:0 Write 1000000\n8:0 Total 6000000\nTotal 6000000\n",
  serviceTime: "8:0 Read 20000000\n8:0 Write 7000000\n8:0 Total 27000000\nTotal 27000000\n",
};

const IO_STAT = "254:0 rbytes=2097152 wbytes=8388608 rios=64 wios=128 dbytes=4096 dios=2\n7:0 rbytes=0 wbytes=0 rios=0 wios=0 dbytes=0 dios=0\n";

const ioStat = (text: string) => byDevice(parseIoStat(text));

const fields = (text: string, dev: string) => text.split("\n").find((l) => l.split(/\s+/).filter(Boolean)[2] === dev)!.trim().split(/\s+/).slice(3).map(Number);

describe("cgroup I/O counters", () => {
  test("v2 io.stat: ios and bytes in sectors; no merges or times", () => {
    expect(countersFromIoStat(ioStat(IO_STAT)).get("254:0")).toEqual({
      reads: 64, readSectors: 4096, writes: 128, writeSectors: 16384, discards: 2, discardSectors: 8,
    });
  });

  test("v1: CFQ-era files give merges and times; throttle files ios and bytes; the first family listing a device wins", () => {
    const c = countersFromV1([
      blkioFamilyCounters(CFQ),
      blkioFamilyCounters({ serviced: "8:0 Read 999\n8:0 Total 999\nTotal 999\n" }),
      blkioFamilyCounters({ serviced: THROTTLE_IOS, bytes: THROTTLE_BYTES }),
    ]);
    expect(c.get("8:0")).toMatchObject({
      reads: 100, readsMerged: 3, readSectors: 800, readMs: 25, writes: 50, writesMerged: 4, writeSectors: 400, writeMs: 8, ioMs: 27, weightedMs: 33,
    });
    expect(c.get("254:0")).toMatchObject({ reads: 16, readSectors: 2048, writes: 32, writeSectors: 8192, discards: 1, discardSectors: 1, readMs: 0 });
  });

  test("merge into the host's lines: same devices, order and field count; untouched devices and partitions 0", () => {
    const out = diskstatsText(HOST, countersFromIoStat(ioStat(IO_STAT)));
    const lines = out.split("\n");
    expect(lines).toHaveLength(HOST.split("\n").length);
    expect(lines[1]).toBe(" 254       0 vda 64 0 4096 0 128 0 16384 0 0 0 0 2 0 8 0 0 0");
    expect(fields(out, "loop0")).toEqual(Array(17).fill(0));
    expect(fields(out, "vda1")).toEqual(Array(17).fill(0));
    expect(fields(out, "sda")).toEqual(Array(11).fill(0));
    expect(lines.at(-1)).toBe("");
  });
});

describe("/proc/diskstats", () => {
  const v1 = (files: Record<string, string>) => {
    const cg = "/sys/fs/cgroup/blkio/docker/abc/syscont-cgroup-root";
    return fakeHost({
      "/proc/diskstats": HOST,
      "/proc/self/mountinfo": "30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs ro\n31 30 0:28 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n",
      "/proc/4000/cgroup": "1:blkio:/docker/abc/syscont-cgroup-root\n",
      ...Object.fromEntries(Object.entries(files).map(([k, v]) => [`${cg}/${k}`, v])),
    });
  };

  test("v1: the container's counters from its blkio cgroup", async () => {
    const h = v1({
      "blkio.throttle.io_serviced_recursive": THROTTLE_IOS,
      "blkio.throttle.io_service_bytes_recursive": THROTTLE_BYTES,
      "blkio.bfq.io_serviced_recursive": "Total 0\n",
    });
    const s = served(emulation(h, fakePassThrough({})).em);
    const text = await s.read("proc/diskstats");
    expect(fields(text, "vda").slice(0, 8)).toEqual([16, 0, 2048, 0, 32, 0, 8192, 0]);
    expect(fields(text, "loop0")).toEqual(Array(17).fill(0));
    expect((await s.attr("proc/diskstats")).mode).toBe(0o100444);
  });

  test("v1, a fresh container (files there, nothing counted yet): zeros everywhere", async () => {
    const h = v1({ "blkio.throttle.io_serviced_recursive": "Total 0\n", "blkio.throttle.io_service_bytes_recursive": "Total 0\n" });
    const text = await served(emulation(h, fakePassThrough({})).em).read("proc/diskstats");
    for (const dev of ["loop0", "vda", "vda1", "sda"]) expect(fields(text, dev).every((n) => n === 0)).toBe(true);
  });

  test("v2: io.stat of the container's cgroup (init.scope pruned)", async () => {
    const ctr = "/sys/fs/cgroup/system.slice/docker-abc.scope";
    const h = fakeHost({
      "/proc/diskstats": HOST,
      "/proc/self/mountinfo": "30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
      "/proc/4000/cgroup": "0::/system.slice/docker-abc.scope/init.scope\n",
      [`${ctr}/io.stat`]: IO_STAT,
      [`${ctr}/init.scope/io.stat`]: "254:0 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
    });
    const text = await served(emulation(h, fakePassThrough({})).em).read("proc/diskstats");
    expect(fields(text, "vda").slice(0, 7)).toEqual([64, 0, 4096, 0, 128, 0, 16384]);
  });

  test("no I/O accounting in the cgroup, or no cgroup: the host's file", async () => {
    const none = v1({});
    expect(await served(emulation(none, fakePassThrough({})).em).read("proc/diskstats")).toBe(HOST);
    const v2NoIo = fakeHost({
      "/proc/diskstats": HOST,
      "/proc/self/mountinfo": "30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
      "/proc/4000/cgroup": "0::/ctr\n",
      "/sys/fs/cgroup/ctr/cgroup.procs": "4000\n",
    });
    expect(await served(emulation(v2NoIo, fakePassThrough({})).em).read("proc/diskstats")).toBe(HOST);
    const noCgroup = fakeHost({ "/proc/diskstats": HOST, "/proc/self/mountinfo": "" });
    expect(await served(emulation(noCgroup, fakePassThrough({})).em).read("proc/diskstats")).toBe(HOST);
  });
});
