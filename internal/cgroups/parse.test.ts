import { describe, expect, test } from "bun:test";
import { BLKIO_FAMILIES } from "./files.ts";
import { byDevice, parseBlkio, parseCpuList, parseIoStat, parseKeyed, parseLimit, parseUint, UINT64_MAX } from "./parse.ts";
import { blkioFromIoStat } from "./stats.ts";

/** Recorded from a v1 kernel with blk-throttle active on vda: bytes, Read/Write/Sync/Async/Discard/Total. */
const THROTTLE_BYTES = [
  "254:0 Read 1048576", "254:0 Write 4194304", "254:0 Sync 4194304", "254:0 Async 1048576", "254:0 Discard 512", "254:0 Total 5243392",
  "Total 5243392", "",
].join("\n");

describe("numbers", () => {
  test("counters: max is UINT64_MAX, anything unparsable 0", () => {
    expect(parseUint("42\n")).toBe(42);
    expect(parseUint("max\n")).toBe(UINT64_MAX);
    expect(parseUint(undefined)).toBe(0);
    expect(parseUint("-1")).toBe(0);
    expect(parseUint("lots")).toBe(0);
  });

  test("limits: max, v1's page-counter maximum and garbage are no limit", () => {
    expect(parseLimit("536870912\n")).toBe(536870912);
    expect(parseLimit("max\n")).toBeUndefined();
    expect(parseLimit("9223372036854771712\n")).toBeUndefined();
    expect(parseLimit("-1")).toBeUndefined();
    expect(parseLimit(undefined)).toBeUndefined();
  });

  test("key value lines (cpu.stat, memory.stat, cgroup.events)", () => {
    expect(parseKeyed("usage_usec 2500\nuser_usec 2000\n\nfrozen 1\nlonely\n")).toEqual({ usage_usec: 2500, user_usec: 2000, frozen: 1 });
    expect(parseKeyed(undefined)).toEqual({});
  });
});

describe("per-device counters", () => {
  test("blkio files: one entry per line, Total dropped", () => {
    const e = parseBlkio(THROTTLE_BYTES);
    expect(e).toHaveLength(6);
    expect(e[1]).toEqual({ major: 254, minor: 0, op: "Write", value: 4194304 });
    const m = byDevice(e);
    expect([...m.keys()]).toEqual(["254:0"]);
    expect(m.get("254:0")!.get("Write")).toBe(4194304);
    expect(parseBlkio("Total 0\n")).toEqual([]);
    expect(byDevice(parseBlkio("Total 0\n")).size).toBe(0);
    expect(byDevice(parseBlkio(undefined)).size).toBe(0);
    expect(parseBlkio("8:0 5\n")).toEqual([{ major: 8, minor: 0, op: "", value: 5 }]);
  });

  test("io.stat: one entry per key, in order; what the runtime reports of it", () => {
    const e = parseIoStat("garbage\n8:0 cost.usage=1 rios=2\n");
    expect(e).toEqual([
      { major: 8, minor: 0, op: "cost.usage", value: 1 },
      { major: 8, minor: 0, op: "rios", value: 2 },
    ]);
    expect(blkioFromIoStat(e)).toEqual({
      ioServiceBytesRecursive: [],
      ioServicedRecursive: [{ major: 8, minor: 0, op: "Read", value: 2 }],
    });
    expect(byDevice(parseIoStat("254:0 rbytes=2097152 wios=128\n7:0 rbytes=0\n")).get("254:0")).toEqual(new Map([["rbytes", 2097152], ["wios", 128]]));
  });

  test("blkio families in runc's order of preference", () => {
    expect(BLKIO_FAMILIES.map((f) => f.serviced)).toEqual([
      "blkio.io_serviced_recursive", "blkio.bfq.io_serviced_recursive", "blkio.throttle.io_serviced_recursive",
    ]);
  });
});

describe("cpu lists", () => {
  test("lenient for kernel files", () => {
    expect(parseCpuList("0-3,5,7-8\n")).toEqual([0, 1, 2, 3, 5, 7, 8]);
    expect(parseCpuList("")).toEqual([]);
    expect(parseCpuList("1,x,3")).toEqual([1, 3]);
  });

  test("strict for lists a user wrote", () => {
    expect(parseCpuList("0 - 2, 16 ,", { strict: true })).toEqual([0, 1, 2, 16]);
    for (const bad of ["3-1", "a", "1-b", "-1", "70000"]) expect(() => parseCpuList(bad, { strict: true })).toThrow(RangeError);
  });
});
