import { describe, expect, test } from "bun:test";
import { DEFAULT_LIMITS } from "./logindefs.ts";
import { BLOCK_SIZE, RANGE_WANTED, SubidSetupError, planSysboxRanges, type PlanInput } from "./plan.ts";

const limits = DEFAULT_LIMITS;
const plan = (subuid: string, subgid: string, extra: Partial<PlanInput> = {}) => planSysboxRanges({ subuid, subgid, limits, ...extra });

describe("planSysboxRanges: adding a range", () => {
  test.each([
    // [name, subuid, subgid, expected start]
    ["empty files", "", "", 131072],
    ["other users' entries", "alice:100000:65536\n", "alice:100000:65536\n", 196608],
    ["uid and gid files differ: free in both", "alice:100000:65536\n", "bob:196608:65536\n", 262144],
    ["overlapping entries of others", "a:100000:200000\nb:250000:100000\n", "", 393216],
    ["a small hole first is skipped", "a:100000:65536\nb:300000:1000000000\n", "", 1000341504],
  ] as const)("%s", (_, subuid, subgid, start) => {
    const p = plan(subuid, subgid);
    const line = `sysbox:${start}:${RANGE_WANTED}\n`;
    expect(p.ranges).toEqual([{ start, size: RANGE_WANTED }]);
    expect(p.added).toEqual({ start, size: RANGE_WANTED });
    expect(p.subuid).toBe(subuid + line);
    expect(p.subgid).toBe(subgid + line);
    expect(p.warnings).toEqual([]);
  });

  test("Debian's login.defs limits: the range fits below SUB_UID_MAX", () => {
    const p = plan("", "", { limits: { uidMin: 100000, uidMax: 600100000, gidMin: 100000, gidMax: 600100000 } });
    expect(p.added).toEqual({ start: 131072, size: RANGE_WANTED });
  });

  test("the larger of the two minimums and the smaller of the maximums apply", () => {
    const p = plan("", "", { limits: { uidMin: 100000, uidMax: 4294967295, gidMin: 300000, gidMax: 500000 }, wanted: 65536 });
    expect(p.added).toEqual({ start: 327680, size: 65536 });
  });

  test("without a hole of the wanted size, the largest hole is taken, with a warning", () => {
    const p = plan("", "", { limits: { uidMin: 100000, uidMax: 100000 + 10 * BLOCK_SIZE, gidMin: 0, gidMax: 4294967295 } });
    // 131072 .. 755360 inclusive: 9 whole blocks.
    expect(p.added).toEqual({ start: 131072, size: 9 * BLOCK_SIZE });
    expect(p.warnings[0]).toContain("room for 9 containers");
  });

  test("ranges stay below 2^32-1 even when SUB_UID_MAX allows more", () => {
    // Left free: [4294770688, 4294967295), one id short of three blocks.
    const p = plan("a:65536:4294705152\n", "");
    expect(p.added).toEqual({ start: 4294770688, size: 2 * BLOCK_SIZE });
    expect(p.subuid).toBe("a:65536:4294705152\nsysbox:4294770688:131072\n");
  });

  test("full: a clear error", () => {
    expect(() => plan("a:0:4294967295\n", "")).toThrow(SubidSetupError);
    expect(() => plan("a:0:4294967295\n", "")).toThrow(/no room for sysbox's ids: no free range of 65536 ids between 100000 and 4294967294/);
  });

  test("malformed lines are warned about and left in place", () => {
    const p = plan("garbage\n", "");
    expect(p.warnings).toEqual(['/etc/subuid:1: ignoring malformed line "garbage"']);
    expect(p.subuid).toStartWith("garbage\nsysbox:131072:");
  });
});

describe("planSysboxRanges: existing entries", () => {
  test("matching entries are used and nothing is written", () => {
    const p = plan("alice:100000:65536\nsysbox:165536:65536\n", "sysbox:165536:65536\n");
    expect(p).toEqual({ ranges: [{ start: 165536, size: 65536 }], warnings: [] });
  });

  test("several matching entries, and one only in subuid is ignored with a warning", () => {
    const p = plan("sysbox:1000000:131072\nsysbox:2000000:65536\nsysbox:3000000:65536\n", "sysbox:2000000:65536\nsysbox:1000000:131072\n");
    expect(p.ranges).toEqual([{ start: 1000000, size: 131072 }, { start: 2000000, size: 65536 }]);
    expect(p.warnings).toEqual(["ignoring sysbox's range 3000000-3065535: it is not in both /etc/subuid and /etc/subgid"]);
    expect(p.subuid).toBeUndefined();
  });

  test("entries in one file only are copied to the other", () => {
    const p = plan("sysbox:165536:65536\n", "alice:100000:65536\n");
    expect(p.ranges).toEqual([{ start: 165536, size: 65536 }]);
    expect(p.subgid).toBe("alice:100000:65536\nsysbox:165536:65536\n");
    expect(p.subuid).toBeUndefined();
    const q = plan("", "sysbox:165536:65536");
    expect(q.subuid).toBe("sysbox:165536:65536\n");
  });

  test("copying is refused when the ids belong to someone else in the other file", () => {
    expect(() => plan("sysbox:165536:65536\n", "alice:100000:100000\n")).toThrow(
      /sysbox has ids 165536-231071 in \/etc\/subuid but none in \/etc\/subgid, where they overlap alice's 100000-199999 \(line 1\)/,
    );
  });

  test.each([
    ["uid and gid ranges differ", "sysbox:165536:65536\n", "sysbox:231072:65536\n", /differ, but a container's uid and gid ranges must match/],
    ["too small for one container", "sysbox:165536:1000\n", "sysbox:165536:1000\n", /smaller than one container's 65536 ids/],
    ["includes host root", "sysbox:0:65536\n", "sysbox:0:65536\n", /includes id 0 \(host root\)/],
    ["passes the id limit", "sysbox:4294901760:65536\n", "sysbox:4294901760:65536\n", /passes the highest valid id 4294967294/],
  ] as const)("refused: %s", (_, subuid, subgid, message) => {
    expect(() => plan(subuid, subgid)).toThrow(message);
  });
});
